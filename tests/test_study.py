"""Study mode: passages spread through the material, quiz replies parsed strictly, sections merged sensibly."""

from __future__ import annotations

from assistant.study import (
    grade,
    parse_quiz,
    pick_passages,
    quiz,
    sections,
    stated_in,
    suggested_questions,
    summarize,
)
from ingest import Chunk
from tests.conftest import ScriptedChatModel


def chunk(i: int, heading: str | None = None, page: int | None = None, words: int = 40, source: str = "a.md") -> Chunk:
    text = " ".join(f"w{i}x{j}" for j in range(words))
    return Chunk(f"c{i}", "d", source, text, page, heading, 0, len(text))


def test_passages_are_spread_and_substantial() -> None:
    chunks = [chunk(i, page=i) for i in range(20)] + [chunk(99, page=5, words=3)]
    picked = pick_passages(chunks, 4)
    assert len(picked) == 4 and all(len(c.text.split()) >= 25 for c in picked)
    pages = [c.page for c in picked]
    assert pages == sorted(pages) and pages[0] < 5 and pages[-1] >= 15


def test_quiz_replies_are_parsed_or_skipped() -> None:
    assert parse_quiz("Question: What do mitochondria make?\nAnswer: ATP") == ("What do mitochondria make?", "ATP")
    assert parse_quiz("1. **Question:** Where is DNA stored?\n**Answer:** the nucleus") == (
        "Where is DNA stored?",
        "the nucleus",
    )
    assert parse_quiz("Sure! Here is a question about cells.") is None
    model = ScriptedChatModel(["Question: What comes after w1x0?\nAnswer: w1x1", "no idea"])
    items = list(quiz(model, [chunk(1), chunk(2)], 2))
    assert [i.question for i in items] == ["What comes after w1x0?"] and items[0].source.id == "c1"
    assert "<passage>" in model.prompts[0][-1]["content"]


def test_sections_follow_headings_and_merge_down_to_the_limit() -> None:
    chunks = [chunk(i, heading=f"H{i // 2}") for i in range(12)]  # 6 headings, 2 chunks each
    found = sections(chunks, max_sections=8)
    assert [s.title for s in found] == [f"H{i}" for i in range(6)]
    merged = sections(chunks, max_sections=3)
    assert len(merged) == 3 and sum(len(s.chunks) for s in merged) == 12
    paged = sections([chunk(i, page=i // 3 + 1) for i in range(9)], max_sections=8)
    assert [s.title for s in paged] == ["Page 1", "Page 2", "Page 3"]
    assert paged[0].citation() == "a.md, p. 1"


def test_a_long_section_is_cut_to_fit_the_window() -> None:
    model = ScriptedChatModel(["A summary."], context_size=1024)
    section = sections([chunk(i, heading="Long", words=200) for i in range(10)])[0]
    assert summarize(model, section) == "A summary."
    prompt = model.prompts[0][-1]["content"]
    assert model.count_tokens(prompt) < 1024
    assert "w0x0" in prompt and "w6x0" in prompt, "passages from all through the section, not just its start"


def test_answers_the_passage_does_not_state_are_dropped() -> None:
    passage = "Every employee is entitled to 27 vacation days per calendar year. Up to five days carry over."
    assert stated_in("27 days", passage) and stated_in("five days", passage)
    assert not stated_in("30 days", passage) and not stated_in("unlimited paid leave", passage)
    model = ScriptedChatModel([
        "Question: How many vacation days do employees get?\nAnswer: 30 days",  # not what the passage says
        "Question: What is this passage about?\nAnswer: vacation days",  # about the text, not its subject
    ])  # fmt: skip
    long = Chunk("c1", "d", "h.md", passage * 3, None, None, 0, 10)
    assert list(quiz(model, [long, long], 2)) == []


def test_a_students_answer_is_graded_by_its_numbers_and_words() -> None:
    assert grade("27", "27 days") and grade("twenty, I think 27", "27 days") and not grade("25", "27 days")
    assert grade("the mitochondria", "Mitochondria") and not grade("the nucleus", "mitochondria")


def test_sections_follow_a_pdfs_numbered_headings_and_skip_back_matter() -> None:
    pages = ["1. Welcome\nWe build software.", "More about us and our work.", "2. Vacation\nEmployees get 27 days.",
             "References\nSmith 2020."]  # fmt: skip
    chunks = [Chunk(f"c{i}", "d", "h.pdf", t, i + 1, None, 0, len(t)) for i, t in enumerate(pages)]
    assert [s.title for s in sections(chunks)] == ["1. Welcome", "2. Vacation", "References"]
    assert sections(chunks)[0].citation() == "h.pdf, pp. 1–2", "a page without a title continues its section"
    assert all(c.id != "c3" for c in pick_passages(chunks, 4, min_words=1)), "no quiz on the references"
    assert suggested_questions(chunks, "Handbook", 2) == [
        "What does “Handbook” say about Welcome?", "What does “Handbook” say about Vacation?"
    ]  # fmt: skip
