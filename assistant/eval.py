"""Evaluation: `python -m assistant.eval DATASET` measures retrieval, answers and refusals on a gold question set,
and runs the LangChain tutorial pipeline on the same data in the same run, side by side.

    python -m assistant.eval ../shared/eval/data/squad-dev-wiki \
        --questions questions_sample300.jsonl --questions questions_unanswerable.jsonl:100
    python -m assistant.eval ../shared/eval/data/docugami-sec-10q --no-generate

Writes `data/eval/<dataset>.json` (every question's result) and `.md` (the table), and with `--update-readme`
regenerates the results table in README.md from every `data/eval/*.json`.

The tutorial baseline is built and measured again in every run, so both columns always come from the same run.
`--baseline-cache` (off by default) keeps its ranks in `data/eval/baseline-cache` (under `--out`) and reuses them
while the files, questions and embedder are the same.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest import (
    DATA_DIR,
    AssistantError,
    Settings,
    SourceFile,
    collect_sources,
    embedder_for,
    ingest,
    with_collection_embedder,
)
from ingest.files import sha256_bytes, sha256_file
from ingest.quiet import quiet_third_party_output

from .chat import Assistant
from .eval_answers import AnswerOutcome
from .eval_answers import answer as answer_question
from .eval_answers import summarize as summarize_answers
from .eval_answers import table as answer_table
from .scoring import Question, load_passages, load_questions, rank_of_first_hit

log = logging.getLogger(__name__)
RESULTS_DIR = DATA_DIR / "eval"
README = DATA_DIR.parent / "README.md"
KS = (1, 5, 10)
GATES = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4)


@dataclass
class Outcome:
    """What happened to one question."""

    id: str
    question: str
    answerable: bool
    level: str
    has_gold: bool
    rank: int | None = None
    baseline_rank: int | None = None
    best_score: float = -1.0
    gated: bool = False
    answer: str | None = None
    declined: bool | None = None
    em: float | None = None
    f1: float | None = None
    containment: float | None = None
    seconds_retrieve: float = 0.0
    seconds_generate: float = 0.0
    answers: AnswerOutcome | None = None
    """The routed answer and (with --plain) the plain prompt's, scored (`eval_answers`)."""


@dataclass
class Run:
    dataset: str
    settings: dict[str, Any]
    outcomes: list[Outcome] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    generated: bool = True
    baseline: bool = True


def evaluate(
    dataset: Path,
    question_files: list[tuple[Path, int | None]],
    settings: Settings,
    *,
    docs: Path | None = None,
    generate: bool = True,
    baseline: bool = True,
    seed: int = 0,
    cache_dir: Path | None = None,
    plain: int = 0,
    within_doc: bool = False,
    where: dict[str, str] | None = None,
) -> Run:
    settings = with_collection_embedder(settings)  # a collection built before is measured with its own embedder
    passages = load_passages(dataset / "passages.jsonl")
    questions: list[Question] = []
    for path, limit in question_files:
        loaded = [q for q in load_questions(path, passages) if matches(q, where or {})]
        if limit is not None and limit < len(loaded):
            keep = sorted(random.Random(seed).sample(range(len(loaded)), limit))
            loaded = [loaded[i] for i in keep]
        questions += loaded
    docs = docs or _docs_folder(dataset)
    sources = collect_sources([docs])
    run = Run(dataset.name, settings.model_dump(mode="json"), generated=generate, baseline=baseline)
    if where:
        run.notes.append(f"{len(questions)} questions where " + ", ".join(f"{k}={v}" for k, v in where.items()))

    started = time.perf_counter()
    report = ingest(sources, settings, embedder_for(settings))
    run.stages["ingest_s"] = time.perf_counter() - started
    run.notes += [f"{f.source}: {f.reason}" for f in report.failed]
    indexed = sum(1 for f in report.files if f.status in ("indexed", "unchanged", "renamed"))
    run.notes.append(f"ours: {indexed} of {len(sources)} files in the index")

    assistant = Assistant.from_settings(settings)
    today = None
    if plain:  # today's behaviour, the plain prompt, on the same retrieval and the same loaded model
        free = settings.model_copy(update={"answer_mode": "free"})
        today = Assistant(free, assistant.embedder, assistant.store, lambda: assistant.chat_model, assistant.reranker)
    count = min(max(plain, 0), len(questions))
    compare = set(random.Random(seed).sample(range(len(questions)), count))
    for number, question in enumerate(questions, start=1):
        with_plain = today if number - 1 in compare else None
        run.outcomes.append(_answer(assistant, question, generate, with_plain, within_doc))
        if number % 25 == 0 or number == len(questions):
            print(f"  {number}/{len(questions)} questions", file=sys.stderr, flush=True)
    run.stages["retrieve_s"] = sum(o.seconds_retrieve for o in run.outcomes)
    run.stages["generate_s"] = sum(o.seconds_generate for o in run.outcomes)

    if baseline:
        _run_baseline(run, questions, sources, settings, cache_dir)
    return run


def _run_baseline(
    run: Run, questions: list[Question], sources: list[SourceFile], settings: Settings, cache_dir: Path | None
) -> None:
    """The tutorial's ranks for each question, measured in this run. With `cache_dir` (`--baseline-cache`), they
    are kept there under a fingerprint of the files (by content), the embedder and the questions, and reused while
    it holds."""
    fingerprint = _fingerprint(questions, sources, settings)
    cache = cache_dir / f"{run.dataset}.json" if cache_dir else None
    if cache is not None and cache.exists():
        kept = json.loads(cache.read_text(encoding="utf-8"))
        if kept.get("fingerprint") == fingerprint:
            for outcome in run.outcomes:
                outcome.baseline_rank = kept["ranks"].get(outcome.id)
            run.stages["baseline_ingest_s"] = 0.0
            run.notes += kept["notes"] + ["baseline ranks reused from an earlier run on the same files and questions"]
            return
    from .baseline import build_baseline

    tutorial = build_baseline(sources, settings)
    run.stages["baseline_ingest_s"] = tutorial.seconds
    notes = [f"baseline lost {name}: {reason}" for name, reason in tutorial.failed.items()]
    notes.append(f"baseline: {len(sources) - len(tutorial.failed)} of {len(sources)} files, {tutorial.chunks} chunks")
    run.notes += notes
    started = time.perf_counter()
    for question, outcome in zip(questions, run.outcomes, strict=True):
        if question.has_gold:
            outcome.baseline_rank = rank_of_first_hit(question, tutorial.search(question.question, max(KS)))
    run.stages["baseline_retrieve_s"] = time.perf_counter() - started
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        ranks = {o.id: o.baseline_rank for o in run.outcomes}
        payload = {"fingerprint": fingerprint, "ranks": ranks, "notes": notes}
        cache.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")


def _fingerprint(questions: list[Question], sources: list[SourceFile], settings: Settings) -> str:
    files = sorted((s.source, sha256_file(s.path)) for s in sources)
    asked = [(q.id, q.question, q.docs, q.pages, q.answers, q.passage) for q in questions]
    return sha256_bytes(json.dumps([files, asked, settings.embedding_model]).encode())


def _answer(
    assistant: Assistant, question: Question, generate: bool, plain: Assistant | None = None, within_doc: bool = False
) -> Outcome:
    outcome = Outcome(question.id, question.question, question.answerable, question.level, question.has_gold)
    started = time.perf_counter()
    retrieval = assistant.search(question.question, sources=question.docs if within_doc else None)
    outcome.seconds_retrieve = time.perf_counter() - started
    outcome.best_score = retrieval.best_score
    outcome.gated = not retrieval.found
    if question.has_gold:
        retrieved = [(c.chunk.source, c.chunk.page, c.chunk.text) for c in retrieval.candidates[: max(KS)]]
        outcome.rank = rank_of_first_hit(question, retrieved)
    if not generate:
        return outcome
    outcome.answers = answer_question(assistant, question, retrieval, plain)
    ours = outcome.answers.ours
    outcome.answer, outcome.declined, outcome.seconds_generate = ours.answer, ours.declined, ours.seconds
    if question.answerable:
        if question.level == "passage":
            outcome.em, outcome.f1 = ours.em, ours.f1
        else:
            outcome.containment = ours.containment
    return outcome


# Reporting -----------------------------------------------------------------------------------------


def summarize(run: Run) -> dict[str, Any]:
    answerable = [o for o in run.outcomes if o.answerable]
    unanswerable = [o for o in run.outcomes if not o.answerable]
    scored = [o for o in run.outcomes if o.has_gold]
    summary: dict[str, Any] = {
        "dataset": run.dataset,
        "questions": len(run.outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "level": sorted({o.level for o in scored}) or ["-"],
    }
    for name, ranks in (("ours", [o.rank for o in scored]), ("baseline", [o.baseline_rank for o in scored])):
        if name == "baseline" and not run.baseline:
            continue
        for k in KS:
            summary[f"{name}_recall@{k}"] = _mean([r is not None and r <= k for r in ranks])
        summary[f"{name}_mrr"] = _mean([1 / r if r else 0.0 for r in ranks])
    if run.generated:
        summary["answer_em"] = _mean([o.em for o in answerable if o.em is not None])
        summary["answer_f1"] = _mean([o.f1 for o in answerable if o.f1 is not None])
        summary["answer_containment"] = _mean([o.containment for o in answerable if o.containment is not None])
        summary["unanswerable_declined"] = _mean([bool(o.declined) for o in unanswerable])
        summary["answerable_declined"] = _mean([bool(o.declined) for o in answerable])
    summary["gate_min_score"] = run.settings["min_score"]
    summary["gate_unanswerable_declined"] = _mean([o.gated for o in unanswerable])
    summary["gate_answerable_declined"] = _mean([o.gated for o in answerable])
    summary["gate_curve"] = {
        f"{t:.2f}": {
            "answerable_declined": _mean([o.best_score < t for o in answerable]),
            "unanswerable_declined": _mean([o.best_score < t for o in unanswerable]),
        }
        for t in GATES
    }
    for stage, seconds in run.stages.items():
        summary[stage] = round(seconds, 1)
    summary["retrieve_ms_per_question"] = round(1000 * run.stages.get("retrieve_s", 0) / max(1, len(run.outcomes)), 1)
    if run.generated:
        summary["generate_s_per_question"] = round(run.stages.get("generate_s", 0) / max(1, len(run.outcomes)), 2)
        summary["answers"] = summarize_answers(run.outcomes)
    summary["notes"] = run.notes
    return summary


def markdown(summary: dict[str, Any]) -> str:
    has_baseline = "baseline_mrr" in summary
    lines = [
        f"### {summary['dataset']}",
        "",
        f"{summary['questions']} questions ({summary['answerable']} answerable, {summary['unanswerable']} "
        f"unanswerable); gold label: {', '.join(summary['level'])}.",
        "",
        "| metric | ours | LangChain tutorial |" if has_baseline else "| metric | ours |",
        "| --- | --- | --- |" if has_baseline else "| --- | --- |",
    ]

    def row(label: str, ours: Any, theirs: Any = None) -> None:
        cells = [label, _fmt(ours)] + ([_fmt(theirs)] if has_baseline else [])
        lines.append("| " + " | ".join(cells) + " |")

    for k in KS:
        row(f"retrieval recall@{k}", summary[f"ours_recall@{k}"], summary.get(f"baseline_recall@{k}"))
    row("retrieval MRR@10", summary["ours_mrr"], summary.get("baseline_mrr"))
    if "answer_f1" in summary:
        if summary["answer_f1"] is not None:
            row("answer exact match", summary["answer_em"])
            row("answer token F1", summary["answer_f1"])
        if summary["answer_containment"] is not None:
            row("answer containment (figures, numeric tolerance)", summary["answer_containment"])
        if summary["unanswerable"]:
            row("unanswerable correctly declined", summary["unanswerable_declined"])
        row("answerable wrongly declined", summary["answerable_declined"])
    row(
        f"declined by the relevance gate (min_score {summary['gate_min_score']}), answerable",
        summary["gate_answerable_declined"],
    )
    row(
        "time: ingest (s; 0 when the collection was reused)",
        _seconds(summary.get("ingest_s")),
        _seconds(summary.get("baseline_ingest_s")),
    )
    row("time: retrieval per question (ms)", summary["retrieve_ms_per_question"])
    if "generate_s_per_question" in summary:
        row("time: generation per question (s)", summary["generate_s_per_question"])
    lines += answer_table(summary.get("answers", {}))
    if summary["notes"]:
        lines += ["", "Notes: " + "; ".join(summary["notes"])]
    return "\n".join(lines) + "\n"


def readme_table(results: Path = RESULTS_DIR) -> str:
    """One row per dataset in `results`, from the JSON files the command wrote."""
    lines = [
        "| dataset | questions | gold label | recall@5 ours | recall@5 tutorial | MRR ours | MRR tutorial | "
        "answers measured on | answer F1 / containment | unanswerable declined | answerable declined |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for path in sorted(results.glob("*.json")):
        kept = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(kept, dict) or "summary" not in kept:
            continue  # another report kept beside the results (e.g. offtopic.json)
        s = kept["summary"]
        answers = results / "answers" / path.name  # a generation run kept apart, e.g. on a sample
        answered_on = f"{s['questions']}" if "answer_f1" in s else "–"
        if "answer_f1" not in s and answers.exists():
            generated = json.loads(answers.read_text(encoding="utf-8"))["summary"]
            s |= {k: v for k, v in generated.items() if k.startswith(("answer", "unanswerable"))}
            s["unanswerable"] = generated["unanswerable"]
            answered_on = f"{generated['answerable']} + {generated['unanswerable']} unanswerable (sample)"
        answer = s.get("answer_f1") if s.get("answer_f1") is not None else s.get("answer_containment")
        lines.append(
            "| "
            + " | ".join(
                [
                    s["dataset"],
                    str(s["questions"]),
                    ", ".join(s["level"]),
                    _fmt(s["ours_recall@5"]),
                    _fmt(s.get("baseline_recall@5")),
                    _fmt(s["ours_mrr"]),
                    _fmt(s.get("baseline_mrr")),
                    answered_on,
                    _fmt(answer),
                    _fmt(s.get("unanswerable_declined") if s["unanswerable"] else None),
                    _fmt(s.get("answerable_declined")),
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def update_readme(readme: Path = README, results: Path = RESULTS_DIR) -> None:
    start, end = "<!-- eval-results:start -->", "<!-- eval-results:end -->"
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise AssistantError(f"{readme} has no {start} ... {end} block to fill.")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{readme_table(results)}{end}{tail}", encoding="utf-8")


def _mean(values: list[Any]) -> float | None:
    return round(statistics.fmean(float(v) for v in values), 3) if values else None


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1 else f"{value:.1f}"
    return str(value)


def _seconds(value: float | None) -> str | None:
    return None if value is None else f"{value:.1f}"


def matches(question: Question, where: dict[str, str]) -> bool:
    """Whether each `meta` field named in `where` has the given value (compared as text)."""
    return all(str(question.meta.get(key)) == value for key, value in where.items())


def _where(spec: str) -> tuple[str, str]:
    key, sep, value = spec.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {spec!r}")
    return key.strip(), value.strip()


def _docs_folder(dataset: Path) -> Path:
    for name in ("pdfs", "articles", "docs"):
        if (dataset / name).is_dir():
            return dataset / name
    raise AssistantError(f"No documents folder (pdfs/, articles/ or docs/) in {dataset}; pass --docs.")


def _question_spec(dataset: Path, spec: str) -> tuple[Path, int | None]:
    name, _, limit = spec.partition(":")
    path = Path(name) if Path(name).exists() else dataset / name
    if not path.exists():
        raise AssistantError(f"No question file {spec!r} (looked in {dataset}).")
    return path, int(limit) if limit else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="a dataset folder in the format of ../shared/eval/README.md")
    parser.add_argument(
        "--questions", action="append", help="question file in DATASET, FILE[:N] (default questions.jsonl)"
    )
    parser.add_argument("--docs", type=Path, help="documents folder (default DATASET/pdfs or DATASET/articles)")
    parser.add_argument("--limit", type=int, help="sample N questions from each file (seeded)")
    parser.add_argument(
        "--where",
        type=_where,
        action="append",
        metavar="FIELD=VALUE",
        help="only questions whose meta FIELD is VALUE, e.g. source_chunk_type=Table (repeatable; before --limit)",
    )
    parser.add_argument("--no-generate", action="store_true", help="measure retrieval only")
    parser.add_argument("--no-baseline", action="store_true", help="skip the LangChain tutorial pipeline")
    parser.add_argument(
        "--plain",
        type=int,
        default=0,
        metavar="N",
        help="also answer N of the questions (seeded sample) with the plain prompt: free text, today's behaviour",
    )
    parser.add_argument(
        "--within-doc", action="store_true", help="search each question's own document only (TAT-QA's contexts)"
    )
    parser.add_argument("--answer-mode", choices=("auto", "quote", "free"), help="override DOCQA_ANSWER_MODE")
    parser.add_argument(
        "--chat-model", metavar="SPEC", help="override DOCQA_CHAT_MODEL: a .gguf path, packaged:NAME or hf:REPO/FILE"
    )
    parser.add_argument("--index-dir", type=Path, default=DATA_DIR / "eval-index", help="where eval collections live")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the JSON and Markdown go")
    parser.add_argument("--update-readme", action="store_true", help="regenerate the README's results table")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--baseline-cache",
        action="store_true",
        help="reuse the tutorial pipeline's ranks from OUT/baseline-cache when the files, questions and embedder "
        "are unchanged (default: the baseline is built and measured again in this run)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_third_party_output()
    try:
        specs = [_question_spec(args.dataset, s) for s in args.questions or ["questions.jsonl"]]
        if args.limit is not None:
            specs = [(path, min(n, args.limit) if n else args.limit) for path, n in specs]
        settings = Settings(index_dir=args.index_dir, collection=args.dataset.name)
        if args.answer_mode:
            settings = settings.model_copy(update={"answer_mode": args.answer_mode})
        if args.chat_model:
            settings = settings.model_copy(update={"chat_model": args.chat_model})
        run = evaluate(
            args.dataset,
            specs,
            settings,
            docs=args.docs,
            generate=not args.no_generate,
            baseline=not args.no_baseline,
            seed=args.seed,
            cache_dir=args.out / "baseline-cache" if args.baseline_cache else None,
            plain=args.plain,
            within_doc=args.within_doc,
            where=dict(args.where or []),
        )
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    summary = summarize(run)
    table = markdown(summary)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"summary": summary, "outcomes": [asdict(o) for o in run.outcomes]}
    (args.out / f"{run.dataset}.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
    (args.out / f"{run.dataset}.md").write_text(table, encoding="utf-8")
    print(table)
    if args.update_readme:
        update_readme(results=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
