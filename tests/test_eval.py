"""Evaluation: scoring rules, and the command end to end (ours and the LangChain tutorial) on the sample docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.eval import main
from assistant.scoring import Question, containment, exact_match, is_hit, numbers, rank_of_first_hit, token_f1
from ingest import AssistantError, Settings, collect_sources
from tests.conftest import SAMPLE_DOCS
from tests.test_end_to_end import KNOWN_ANSWERS


def question(**fields) -> Question:  # type: ignore[no-untyped-def]
    base = {"id": "q", "question": "?", "answers": ["x"], "docs": ["a.pdf"], "pages": None, "passage": None}
    return Question(**(base | fields))


def test_squad_scores_ignore_citations_case_articles_and_punctuation() -> None:
    golds = ["rise and fall according to market demand"]
    assert exact_match("Rise and fall, according to market demand. [1]", golds) == 1.0
    assert token_f1("They rise and fall with demand [2]", golds) == pytest.approx(
        2 * (4 / 6) * (4 / 7) / (4 / 6 + 4 / 7)
    )
    assert token_f1("The documents don't cover this question.", golds) == 0.0


def test_figures_match_with_numeric_tolerance() -> None:
    assert numbers("$1,577 million and (12.5)% in 2023") == [1577.0, 12.5, 2023.0]
    assert containment("Net sales were 1577.00 million.", ["$1,577"]) == 1.0
    assert containment("Net sales were $1,577 and then $2,000.", ["$1,577 then $1,999.99"]) == 1.0
    assert containment("Net sales were $1,600.", ["$1,577"]) == 0.0
    assert containment("It is the Step-Back method.", ["Step-Back"]) == 1.0


def test_hits_at_the_level_of_the_gold_label() -> None:
    paragraph = "The US abandoned the Gold Exchange Standard whereby the value of the dollar had been pegged to gold."
    squad = question(passage=paragraph, answers=["1971"])
    assert is_hit(squad, "x.md", None, "... abandoned the Gold Exchange Standard whereby the value of the dollar ...")
    assert is_hit(squad, "x.md", None, "It happened in 1971.")
    assert not is_hit(squad, "x.md", None, "The dollar was pegged.")
    paper = question(docs=["p.pdf"], pages=[7, 9])
    assert is_hit(paper, "p.pdf", 9, "") and not is_hit(paper, "p.pdf", 8, "") and not is_hit(paper, "q.pdf", 7, "")
    filing = question(docs=["2023 Q1 AAPL.pdf", "2023 Q2 AAPL.pdf"])
    assert rank_of_first_hit(filing, [("2023 Q1 MSFT.pdf", 1, ""), ("2023 Q2 AAPL.pdf", 4, "")]) == 2


@pytest.mark.real_models
def test_eval_command_compares_with_the_tutorial_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    dataset = tmp_path / "handbook-qa"
    dataset.mkdir()
    rows = [
        {"id": str(n), "question": q, "answers": ["-"], "docs": [src], "pages": [page] if page else None}
        for n, (q, src, page) in enumerate(KNOWN_ANSWERS)
    ]
    rows.append({"id": "off", "question": "What is the boiling point of tungsten?", "answers": [], "docs": []})
    (dataset / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = tmp_path / "results"
    code = main(
        [str(dataset), "--docs", str(SAMPLE_DOCS), "--no-generate", "--index-dir", str(tmp_path / "index"),
         "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    summary = json.loads((out / "handbook-qa.json").read_text())["summary"]
    assert summary["questions"] == 13 and summary["unanswerable"] == 1
    assert summary["ours_recall@5"] >= 0.9
    assert summary["baseline_recall@5"] is not None
    assert summary["gate_unanswerable_declined"] == 1.0
    table = capsys.readouterr().out
    assert "| retrieval recall@5 |" in table and "LangChain tutorial" in table
    assert (out / "handbook-qa.md").read_text() == table.rstrip("\n") + "\n"


def test_readme_table_is_regenerated_from_the_results(tmp_path: Path) -> None:
    from assistant.eval import update_readme

    results = tmp_path / "results"
    (results / "answers").mkdir(parents=True)
    summary = {"dataset": "demo", "questions": 10, "level": ["page"], "ours_recall@5": 0.9, "ours_mrr": 0.8,
               "baseline_recall@5": 0.7, "baseline_mrr": 0.6, "unanswerable": 0}  # fmt: skip
    (results / "demo.json").write_text(json.dumps({"summary": summary}))
    answers = {"answerable": 4, "unanswerable": 4, "answer_f1": 0.7, "answer_em": 0.5, "answer_containment": None,
               "unanswerable_declined": 0.75, "answerable_declined": 0.0}  # fmt: skip
    (results / "answers" / "demo.json").write_text(json.dumps({"summary": answers}))
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- eval-results:start -->\nstale row\n<!-- eval-results:end -->\noutro\n")
    update_readme(readme, results)
    text = readme.read_text()
    assert "stale row" not in text and text.startswith("intro") and text.endswith("outro\n")
    assert (
        "| demo | 10 | page | 0.900 | 0.700 | 0.800 | 0.600 | 4 + 4 unanswerable (sample) | 0.700 | 0.750 | 0.000 |"
        in text
    )


def test_the_baseline_is_measured_in_every_run_unless_its_cache_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    from assistant import baseline
    from assistant import eval as evaluation

    builds: list[int] = []

    class Tutorial:
        seconds, failed, chunks = 0.1, {}, 1

        def search(self, question: str, k: int) -> list[tuple[str, int | None, str]]:
            return [("b.pdf", None, ""), ("a.pdf", None, "")]

    monkeypatch.setattr(baseline, "build_baseline", lambda sources, settings: builds.append(1) or Tutorial())
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("alpha")
    sources, asked = collect_sources([docs]), [question()]

    def measure(cache_dir: Path | None) -> evaluation.Run:
        run = evaluation.Run("demo", {}, outcomes=[evaluation.Outcome("q", "?", True, "document", True)])
        evaluation._run_baseline(run, asked, sources, settings, cache_dir)
        return run

    assert [measure(None).outcomes[0].baseline_rank for _ in range(2)] == [2, 2] and len(builds) == 2
    assert not list(tmp_path.rglob("*.json"))  # nothing kept by default
    cache = tmp_path / "baseline-cache"
    assert measure(cache).outcomes[0].baseline_rank == 2 and len(builds) == 3
    again = measure(cache)
    assert again.outcomes[0].baseline_rank == 2 and len(builds) == 3 and "reused" in again.notes[-1]

    chosen: list[Path | None] = []

    def record(*args: object, cache_dir: Path | None = None, **kwargs: object) -> evaluation.Run:
        chosen.append(cache_dir)
        raise AssistantError("stop here")

    monkeypatch.setattr(evaluation, "evaluate", record)
    (tmp_path / "questions.jsonl").write_text("")
    out = tmp_path / "out"
    assert main([str(tmp_path), "--out", str(out)]) == 1
    assert main([str(tmp_path), "--out", str(out), "--baseline-cache"]) == 1
    assert chosen == [None, out / "baseline-cache"]


def test_answers_are_scored_per_mode_against_the_plain_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    from assistant import chat
    from assistant import eval as evaluation
    from tests.conftest import HANDBOOK, HashEmbedder, QuotingChatModel

    dataset = tmp_path / "handbook"
    (dataset / "docs").mkdir(parents=True)
    (dataset / "docs" / HANDBOOK.name).write_bytes(HANDBOOK.read_bytes())
    rows = [
        {"id": "fact", "question": "How many vacation days per calendar year do employees get?",
         "answers": ["27 vacation days"], "docs": [HANDBOOK.name]},
        {"id": "sum", "question": "What is the difference between the hotel limits in capital cities and elsewhere?",
         "answers": ["40"], "docs": [HANDBOOK.name], "meta": {"answer_type": "arithmetic", "scale": ""}},
        {"id": "none", "question": "What is the vacation policy for contractors on Mars?", "answers": [], "docs": []},
    ]  # fmt: skip
    (dataset / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    model = QuotingChatModel(
        ["27 vacation days", "NOT FOUND"],
        replies=["Employees get 27 vacation days [1].", "180 - 140", "The difference is 40 euros [1].", "No idea."],
    )
    monkeypatch.setattr(chat, "load_chat_model", lambda settings: model)
    embedder = HashEmbedder()
    monkeypatch.setattr(chat, "embedder_for", lambda settings: embedder)
    monkeypatch.setattr(evaluation, "embedder_for", lambda settings: embedder)
    run = evaluation.evaluate(
        dataset, [(dataset / "questions.jsonl", None)], settings, baseline=False, plain=3, within_doc=True
    )
    summary = evaluation.summarize(run)["answers"]
    modes = summary["modes"]
    assert modes["compute"] == 1 and modes["quote"] + modes.get("gate", 0) == 2
    ours, plain = summary["ours"], summary["plain"]
    assert ours["f1"] == 1.0 and ours["unanswerable_declined"] == 1.0 and ours["answerable_declined"] == 0.0
    assert summary["ours_by_type"]["arithmetic"]["numeric_accuracy"] == 1.0
    assert plain["questions"] == 3 and plain["f1"] is not None
    assert summary["decline_curve"]["1.01"]["answerable_declined"] == 0.0
    # The quoted vacation days come from the handbook's vacation section: every subject word found there.
    assert summary["subject_curve"]["0.60"]["answerable_declined"] == 0.0
    table = evaluation.markdown(evaluation.summarize(run))
    assert "| quote declines below subject coverage |" in table
    assert "| answers | ours (routed) | plain prompt |" in table and "Routed: compute 1" in table
