"""Off-topic questions asked of one collection that mixes every dev set: how many does the assistant decline?

    .venv/bin/python scripts/offtopic_eval.py             # builds data/eval-index/mixed-dev once, then asks
    .venv/bin/python scripts/offtopic_eval.py --limit 3   # a quick run
    .venv/bin/python scripts/offtopic_eval.py --rebuild   # the mixed collection copied again from the dev sets

The collection `mixed-dev` holds every document of the eval collections in `data/eval-index/` (the SEC 10-Qs,
FinanceBench, the MMLongBench papers, the SQuAD articles, the TAT-QA excerpts), their chunks and vectors copied
through the store interface (`ingest.stores.migrate.merge`), nothing re-embedded; they must all have been built
with the same config. The questions are the README's off-topic example and twenty more that none of these
documents answer; each is asked with the default settings (chat model, answer mode `auto`) and its route, answer
and whether it was declined are printed as a Markdown table and written to `data/eval/offtopic.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant  # noqa: E402
from assistant.route import route  # noqa: E402
from ingest import Settings, open_store  # noqa: E402
from ingest.stores.migrate import merge  # noqa: E402

INDEX_DIR = Path("data/eval-index")
COLLECTION = "mixed-dev"
DEV_SETS = ["docugami-sec-10q", "financebench-dev", "mmlongbench-doc-papers", "squad-dev-wiki", "tatqa-dev"]
OUT = Path("data/eval/offtopic.json")

#: (where the question comes from, what kind it is, the question). None of the documents answers any of them.
QUESTIONS: list[tuple[str, str, str]] = [
    # The README's example: "Off-topic questions (e.g. about tungsten, asked of the handbook) fall under the gate."
    # (worded as in scripts/student_session.py and tests/test_eval.py).
    ("README", "fact", "What is the boiling point of tungsten?"),
    ("own", "fact", "Who painted the ceiling of the Sistine Chapel?"),
    ("own", "fact", "What is the capital of Mongolia?"),
    ("own", "fact", "Which country won the 1998 FIFA World Cup?"),
    ("own", "fact", 'Who wrote the novel "One Hundred Years of Solitude"?'),
    ("own", "fact", "Who composed The Four Seasons?"),
    ("own", "number", "How many moons does Neptune have?"),
    ("own", "number", "How many bones are in the adult human body?"),
    ("own", "number", "How tall is Mount Aconcagua in metres?"),
    ("own", "number", "What is the average lifespan of a domestic cat?"),
    ("own", "arithmetic", "What is the percentage change in the population of Mars colonies?"),
    ("own", "arithmetic", "What was the year-over-year growth in global sourdough bread sales from 2019 to 2020?"),
    ("own", "arithmetic", "What is the difference in height between the Eiffel Tower and the Statue of Liberty?"),
    ("own", "arithmetic", "What is the average number of eggs a backyard chicken lays per week?"),
    ("own", "why/how", "Why do cats purr?"),
    ("own", "why/how", "How do bees make honey?"),
    ("own", "why/how", "How do you tie a bowline knot?"),
    ("own", "personal", "What should I cook for dinner tonight?"),
    ("own", "personal", "What is my dentist's phone number?"),
    ("own", "company in collection", "What is the favourite food of Apple's CEO?"),
    ("own", "company in collection", "What is the name of the Boeing CEO's dog?"),
]


def build(settings: Settings, rebuild: bool) -> None:
    """The mixed collection: reused when it exists, else (or with `rebuild`) copied from the dev sets."""
    store = open_store(settings)
    names = [n for n in DEV_SETS if store.config_of(n) is not None]
    if not names:
        sys.exit(f"No dev-set collection in {settings.index_dir}; run the evaluations first (README).")
    existing = store.config_of(COLLECTION)
    if existing is not None and not rebuild:
        held = len(store.open(COLLECTION, existing).documents)
        total = sum(len(store.open(n, store.config_of(n)).documents) for n in names)  # type: ignore[arg-type]
        note = "" if held == total else f" (the dev sets hold {total} now: use --rebuild)"
        print(f"reusing {store.describe(COLLECTION)}: {held} documents{note}")
        return
    started = time.perf_counter()
    merged = merge(store, names, COLLECTION)
    repeated = f", {len(merged.repeated)} repeated documents kept once" if merged.repeated else ""
    print(
        f"merged {', '.join(names)} into {merged.target}: {merged.documents} documents, {merged.chunks} chunks"
        f"{repeated}, in {time.perf_counter() - started:.1f} s (nothing re-embedded)"
    )


def cell(text: str, width: int | None = None) -> str:
    """`text` on one line, safe in a Markdown table cell, cut to `width` characters."""
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat[:width] if width else flat


def shown_route(row: dict) -> str:
    """`reply.mode`, after the router's choice when the answer gave way (a calculation that did not check out
    is answered by a quote); the gate declines before any routing."""
    if row["route"] in ("gate", row["routed"]) or (row["routed"], row["route"]) == ("explain", "free"):
        return row["route"]
    return f"{row['routed']} → {row['route']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    parser.add_argument("--rebuild", action="store_true", help="copy the mixed collection again from the dev sets")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the JSON goes (default {OUT})")
    args = parser.parse_args()

    settings = Settings(index_dir=INDEX_DIR, collection=COLLECTION)
    build(settings, args.rebuild)
    questions = QUESTIONS[: args.limit] if args.limit else QUESTIONS
    print(f"\n{len(questions)} questions:")
    for number, (origin, kind, question) in enumerate(questions, start=1):
        print(f"{number:2}. [{origin}, {kind}] {question}")

    assistant = Assistant.from_settings(settings)
    rows = []
    for number, (origin, kind, question) in enumerate(questions, start=1):
        started = time.perf_counter()
        reply = assistant.ask(question)
        answer = reply.consume()
        quote = reply.detail.quote if reply.detail is not None else None
        rows.append(
            {
                "question": question,
                "origin": origin,
                "kind": kind,
                "route": reply.mode,
                "routed": route(question),
                "answer": answer,
                "declined": reply.refused,
                "best_score": round(reply.retrieval.best_score, 4),
                "refuse_probability": round(quote.refuse_probability, 4) if quote is not None else None,
                "note": reply.detail.note if reply.detail is not None else "",
                "cited": [s.citation() for _, s in reply.cited],
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(
            f"[{number}/{len(questions)}] {reply.mode}, declined={reply.refused}, {rows[-1]['seconds']} s", flush=True
        )

    declined = sum(r["declined"] for r in rows)
    rate = declined / len(rows) if rows else 0.0
    print("\n| # | question | route | answer | declined |\n| --- | --- | --- | --- | --- |")
    for number, row in enumerate(rows, start=1):
        answer = cell(row["answer"], 80)
        print(f"| {number} | {cell(row['question'])} | {shown_route(row)} | {answer} | {row['declined']} |")
    print(f"\ndeclined: {declined}/{len(rows)} = {rate:.1%}")
    answered = [r for r in rows if not r["declined"]]
    if answered:
        print("\nanswered instead of declined:")
        for row in answered:
            print(f"- {row['question']} [{shown_route(row)}, best score {row['best_score']}]: {cell(row['answer'])}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "collection": COLLECTION,
        "index_dir": str(INDEX_DIR),
        "chat_model": settings.chat_model,
        "answer_mode": settings.answer_mode,
        "min_score": settings.min_score,
        "quote_decline_threshold": settings.quote_decline_threshold,
        "questions": len(rows),
        "declined": declined,
        "decline_rate": round(rate, 4),
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
