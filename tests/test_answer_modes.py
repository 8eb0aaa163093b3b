"""Answer modes: quotes that are verbatim spans by construction, checked calculations, routing, citations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assistant.calculate import CalculationError, calculate, evaluate, parse_formula
from assistant.citations import check_citations
from assistant.eval_answers import numeric_match
from assistant.quote import SpanConstraint, Vocabulary, _collapse, decode
from assistant.route import route
from ingest import Settings

from .conftest import QuotingChatModel

SOURCES = [
    "Employees get 27 vacation\n  days per year.\nUnused days expire in March.",
    "The office is in Paris.  Revenue grew 7 % to $65 million.",
]


def quote(target: str, texts: list[str] = SOURCES):  # type: ignore[no-untyped-def]
    return QuotingChatModel([target]).quote([], texts, max_tokens=40)


def test_a_quote_is_the_sources_own_words_with_its_span() -> None:
    found = quote("27 vacation days")
    assert (found.text, found.source, found.refused) == ("27 vacation\n  days", 1, False)
    assert SOURCES[0][found.start : found.end] == found.text  # the span highlights exactly the quoted words
    found = quote("Paris")
    assert (found.text, found.source) == ("Paris", 2)


def test_a_quote_that_is_not_in_any_source_cannot_be_written() -> None:
    found = quote("30 vacation days")  # the model wants words no source has: it gets a span or nothing
    assert found.refused or found.text in " ".join(_collapse(t)[0].decode() for t in SOURCES)


def test_the_refusal_competes_at_the_first_token_and_its_probability_is_kept() -> None:
    found = quote("NOT FOUND")
    assert found.refuse_probability > 0.5
    # the best span is still decoded, so a calibrated threshold decides; the mode refuses above it
    answered = quote("Paris")
    assert answered.refuse_probability < 0.1


def test_a_quote_ends_on_a_word_boundary() -> None:
    found = quote("27 vaca")  # the model would stop mid-word: it may not
    assert found.refused or not found.text.endswith("vaca")


def test_a_quote_that_only_repeats_the_question_gives_way_to_the_next_best_start() -> None:
    pieces = [bytes([b]) for b in range(256)] + [b"Paris", b" 7", b""]
    vocabulary = Vocabulary(pieces, [len(pieces) - 1])
    paris, seven, stop = 256, 257, 258
    said: list[int] = []

    def feed(tokens: list[int]) -> np.ndarray:  # prefers "Paris", then "7", then stops after either
        if not tokens:
            said.clear()
        said.extend(tokens)
        logits = np.zeros(len(pieces), dtype=np.float32)
        if said:
            logits[stop] = 11.0
        else:
            logits[paris], logits[seven] = 9.0, 8.0
        return logits

    plain = decode(SpanConstraint(SOURCES, vocabulary, max_tokens=8), feed)
    assert (plain.text, plain.source) == ("Paris", 2)
    asked = decode(SpanConstraint(SOURCES, vocabulary, max_tokens=8, question="Which office is in Paris?"), feed)
    assert (asked.text, asked.source) == ("7", 2)  # "Paris" answers nothing the question did not say
    assert asked.refuse_probability == plain.refuse_probability  # the decline is decided on the first choice
    found = QuotingChatModel(["Paris"]).quote([], SOURCES, max_tokens=40, question="Where is the office?")
    assert found.text == "Paris"  # a quote with a word the question lacks stands


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=263, max_size=263), st.integers(1, 12))
def test_whatever_the_model_prefers_the_answer_is_a_verbatim_span(weights: list[float], limit: int) -> None:
    pieces = [bytes([b]) for b in range(256)] + [b" the", b" days", b"NOT", b" FOUND", b"Paris", b" 7", b""]
    vocabulary = Vocabulary(pieces, [len(pieces) - 1])
    constraint = SpanConstraint(SOURCES, vocabulary, max_tokens=limit)
    noise = np.array(weights, dtype=np.float32)
    found = decode(constraint, lambda tokens: noise + np.float32(len(tokens)))
    if not found.refused:
        assert found.source is not None
        assert SOURCES[found.source - 1][found.start : found.end] == found.text
        assert found.text.strip() == found.text and found.text


@pytest.mark.parametrize(
    ("question", "mode"),
    [
        ("What is the percentage change in revenue from 2018 to 2019?", "compute"),
        ("What was the average of the 2019 and 2018 values?", "compute"),
        ("How much more did it earn in 2019 than in 2018?", "compute"),
        ("Why does the policy limit carry-over?", "explain"),
        ("Summarize the section on travel.", "explain"),
        ("How many vacation days do employees get?", "quote"),
        ("Who approves remote work?", "quote"),
        ("How does remote work get approved?", "explain"),
        ('What does it mean when currencies are left to "float"?', "quote"),
        ("What is the mean of the 2019 and 2018 values?", "compute"),
    ],
)
def test_routing(question: str, mode: str) -> None:
    assert route(question) == mode


def test_the_evaluator_runs_arithmetic_and_nothing_else() -> None:
    assert evaluate("(44.1 - 56.7) / 56.7 * 100") == pytest.approx(-22.2222, rel=1e-4)
    assert evaluate("-(3 + 4) * 2") == -14
    for hostile in ('__import__("os").system("x")', "open('f')", "x + 1", "2 ** 99999", "(1).real", "[1][0]",
                    "lambda: 1", "1 if 2 else 3", "'a' * 3", "1 / 0"):  # fmt: skip
        with pytest.raises(CalculationError):
            evaluate(hostile)


def test_a_calculation_cites_every_figure_and_carries_its_scale() -> None:
    texts = ["Revenue (in millions): 2019 1,496.5; 2018 1,202.9", "Other costs were 44.1 in 2019."]
    done = calculate("(1,496.5 - 1,202.9) / 1,202.9 * 100", texts, "What is the percentage change in revenue?")
    assert done.unit == "%" and round(done.result, 2) == 24.41
    first = done.text().splitlines()[0]
    assert first == "24.41 % [1]"
    assert "1,496.5 [1] (in millions)" in done.text() and "1,202.9 [1]" in done.text()
    change = calculate("1496.5 - 1202.9", texts, "What is the change in revenue?")
    assert change.text().startswith("293.6 in millions [1]")
    with pytest.raises(CalculationError, match="not stated"):
        calculate("1496.5 - 999", texts, "What is the change?")  # a figure no source states


def test_formulas_are_found_in_what_the_model_wrote() -> None:
    assert parse_formula("```python\n(5,829 - 5,000) / 5,000 * 100\n```") == "(5829 - 5000) / 5000 * 100"
    assert parse_formula("answer = 44.1 - 56.7") == "44.1 - 56.7"
    assert parse_formula("The change is 44.1 - 56.7 = -12.6") == "44.1 - 56.7"
    assert parse_formula("NOT FOUND") is None


def test_a_citation_stays_only_where_its_source_states_the_sentence() -> None:
    texts = ["Revenue grew 7% to $65 million in 2023.", "Employees get 27 vacation days per year."]
    assert check_citations("Revenue grew 7% in 2023 [2].", texts) == "Revenue grew 7% in 2023. [1]"
    assert check_citations("Revenue grew 7% in 2023 [1].", texts) == "Revenue grew 7% in 2023 [1]."  # as written
    assert check_citations("Employees get 30 vacation days [2].", texts) == "Employees get 30 vacation days."
    kept = "Employees get 27 vacation days [2]. Revenue grew 7% [1]."
    assert check_citations(kept, texts) == kept


def test_figures_are_scored_with_tolerance_and_scale() -> None:
    assert numeric_match("-22.22 % [1]", "-22.22", "percent")
    assert numeric_match("It fell by 17.3", "-17.33")
    assert numeric_match("1.2 million", "1,200", "thousand")
    assert not numeric_match("12.6", "-22.22", "percent")


# The chat, end to end with the quoting fake model -------------------------------------------------


def make_assistant(settings, embedder, model):  # type: ignore[no-untyped-def]
    from assistant import Assistant
    from ingest import collect_sources, ingest, open_index

    from .conftest import HANDBOOK

    ingest(collect_sources([HANDBOOK]), settings, embedder)
    return Assistant(settings, embedder, open_index(settings, embedder), model)


def test_a_fact_is_answered_with_a_quote_and_its_source(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    model = QuotingChatModel(["27 vacation days"])
    reply = make_assistant(settings, embedder, model).ask("How many vacation days per calendar year do we get?")
    text = reply.consume()
    assert reply.mode == "quote" and text.startswith("27 vacation days [")
    number = reply.detail.quote.source
    assert "27 vacation days" in reply.sources[number - 1].chunk.text and reply.cited[0][0] == number
    assert "NOT FOUND" in model.prompts[0][0]["content"]  # the quote prompt, with its refusal mark


def test_an_unanswerable_fact_is_declined(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    from assistant import NOT_FOUND

    reply = make_assistant(settings, embedder, QuotingChatModel(["NOT FOUND"])).ask("Who founded Northwind?")
    assert reply.consume() == NOT_FOUND and reply.refused and reply.detail.quote.refuse_probability > 0.5


def test_arithmetic_is_computed_from_cited_figures(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    model = QuotingChatModel(replies=["(180 - 140) / 140 * 100"])
    question = "What is the percentage difference between the hotel limits in capital cities and elsewhere?"
    reply = make_assistant(settings, embedder, model).ask(question)
    text = reply.consume()
    assert reply.mode == "compute" and text.startswith("28.57 % [")
    assert "Calculation: (180 - 140) / 140 * 100 = 28.57" in text and "180 [" in text and "140 [" in text


def test_a_calculation_that_does_not_check_out_gives_way_to_a_quote(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    model = QuotingChatModel(["180 euros per night"], replies=["(180 - 999) / 999 * 100"])  # 999: in no source
    reply = make_assistant(settings, embedder, model).ask("What is the difference between hotel limits?")
    assert reply.consume().startswith("180 euros per night [") and reply.mode == "quote"


def test_explanations_are_free_text_with_checked_citations(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    model = QuotingChatModel(replies=["Passwords must be at least 14 characters long [2]. The sky is green [1]."])
    reply = make_assistant(settings, embedder, model).ask("Why must passwords be long and unique?")
    text = reply.consume()
    assert reply.mode == "free" and "The sky is green." in text and "green [1]" not in text
    cited = [n for n, _ in reply.cited]
    assert all("14 characters" in reply.sources[n - 1].chunk.text for n in cited)


def test_a_model_that_cannot_quote_answers_in_free_text(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    from .conftest import ScriptedChatModel

    reply = make_assistant(settings, embedder, ScriptedChatModel(["27 vacation days [1]"])).ask(
        "How many vacation days per calendar year do we get?"
    )
    assert reply.consume().startswith("27 vacation days") and reply.mode == "free"


def test_the_source_card_highlights_exactly_the_quoted_span(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    from assistant.app.evidence_view import highlighted
    from assistant.ui import mark_quote, source_record

    reply = make_assistant(settings, embedder, QuotingChatModel(["27 vacation days"])).ask(
        "How many vacation days per calendar year do we get?"
    )
    reply.consume()
    records = [source_record(n, h) for n, h in enumerate(reply.sources, 1)]
    mark_quote(reply, records)
    record = records[reply.detail.quote.source - 1]
    start, end = record["quote"]
    assert record["text"][start:end] == "27 vacation days"
    shown = highlighted(record["text"], "How many vacation days", span=record["quote"])
    assert shown.count(":orange-background[") == 1 and ":orange-background[27 vacation days]" in shown


def test_a_calculation_over_figures_about_something_else_is_declined() -> None:
    from assistant import NOT_FOUND
    from assistant.modes import computed
    from assistant.prompt import Prompt
    from assistant.subject import coverage

    assert coverage("What is the percentage change in the population of Mars colonies?",
                    ["Revenue was 1,578,173 and 1,073,229 (in thousands)."]) == 0.0  # fmt: skip
    assert coverage("What is the percentage change in Other from 2018?", ["| Other | 44.1 | 56.7 |"]) == 1.0
    settings = Settings()
    texts = ["Hotel nights are reimbursed up to 180 euros per night in capital cities and 140 euros elsewhere."]
    prompt = Prompt([{"role": "user", "content": "?"}], [], 0, texts)
    model = QuotingChatModel(replies=["(180 - 140) / 140 * 100", "(180 - 140) / 140 * 100"])
    off = computed(model, prompt, settings, "What is the percentage change in the number of Martian colonists?")
    assert off.declined and off.text == NOT_FOUND and "something else" in off.note
    on = computed(
        model, prompt, settings, "By what percentage do hotel night limits in capital cities exceed the others?"
    )
    assert not on.declined and on.text.startswith("28.57 % [1]")


def test_a_quote_from_a_source_about_something_else_is_declined() -> None:
    """A quote is checked against what the question is about: asked about a mountain the collection does not
    mention, a height quoted from an article on a city is declined; asked about the city, it is the answer."""
    from assistant import NOT_FOUND
    from assistant.modes import Answer, quoted
    from assistant.prompt import Prompt

    texts = ["Warsaw lies on the Vistula. The Palace of Culture and Science rises 237 metres over the city centre."]
    prompt = Prompt([{"role": "user", "content": "?"}], [], 0, texts)

    def ask(question: str, settings: Settings | None = None) -> Answer:
        answer = quoted(QuotingChatModel(quotes=["237 metres"]), prompt, settings or Settings(), question)
        assert answer is not None
        return answer

    off = ask("How tall is Mount Aconcagua in metres?")
    assert off.declined and off.text == NOT_FOUND and "something else" in off.note
    on = ask("How tall is the Palace of Culture and Science in Warsaw?")
    assert not on.declined and on.text == "237 metres [1]"
    # Not judged: a question in another language than English; and a check turned off.
    assert ask("¿Qué altura tiene el Aconcagua?").text == "237 metres [1]"
    assert not ask("How tall is Mount Aconcagua?", Settings(subject_min_coverage=0.0)).declined


def test_subject_weights_rare_words_over_common_ones() -> None:
    from assistant.subject import coverage, language, subject

    weights = subject("What is the boiling point of tungsten?")
    assert weights["tungsten"] > weights["point"] and "what" not in weights
    assert language("¿Cuál es la capital de Mongolia?") == "es" and language("员工假期有多少天？") is None
    assert language("Wie viele Einwohner hat Berlin?") == "de"
    assert coverage("What is the boiling point of tungsten?", ["Tungsten boils at 5,555 °C."]) > 0.8
    assert coverage("What is the boiling point of tungsten?", ["Water boils at 100 °C at sea level."]) < 0.4
    assert coverage("Wo liegt der Aconcagua?", ["Warsaw lies on the Vistula."]) == 1.0  # not English: not judged
    # A long question (more than four specific words) paraphrases: not judged, whatever the source says.
    analyst = "Are there any notable changes in Apple's liquidity position or cash flows across these quarters?"
    assert coverage(analyst, ["Warsaw lies on the Vistula."]) == 1.0
    assert coverage("How tall is Mount Aconcagua?", ["Warsaw lies on the Vistula."]) == 0.0
