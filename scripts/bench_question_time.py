"""Benchmark: retrieval time per question on the eval collections, with the filing features on (today's defaults)
and off (the pipeline before them), measured in the same run on the same questions.

    python scripts/bench_question_time.py                      # every eval collection in data/eval-index
    python scripts/bench_question_time.py --sets financebench-dev --rounds 5

"Off" sets `period_boost=0`, `statement_boost=0` and `page_ranking=False`: the fiscal-period and statement-page
boosts and page ranking that the filing work added (issue "Find the right page…"); the name boost, hybrid search and
query cleaning stay, as they were before. Each question is retrieved once per round with each setting, alternating,
so both see the same machine load; the embedder and the collection are loaded once and warmed first. Printed: the
median over rounds of the mean milliseconds per question, and the ratio on/off.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant  # noqa: E402
from assistant.scoring import load_questions  # noqa: E402
from ingest import Settings  # noqa: E402

INDEX_DIR = ROOT / "data" / "eval-index"
DATA = ROOT.parent / "shared" / "eval" / "data"
SETS = {
    "docugami-sec-10q": "questions.jsonl",
    "financebench-dev": "questions.jsonl",
    "mmlongbench-doc-papers": "questions.jsonl",
    "squad-dev-wiki": "questions_sample300.jsonl",
}
OFF = {"period_boost": 0.0, "statement_boost": 0.0, "page_ranking": False}


def per_question_ms(assistant: Assistant, questions: list[str]) -> float:
    started = time.perf_counter()
    for question in questions:
        assistant.search(question, question=question)
    return (time.perf_counter() - started) * 1e3 / len(questions)


def bench(name: str, rounds: int) -> tuple[float, float]:
    settings = Settings(index_dir=INDEX_DIR, collection=name)
    on = Assistant.from_settings(settings)
    off = Assistant(settings.model_copy(update=OFF), on.embedder, on.store, on._chat_model)
    questions = [q.question for q in load_questions(DATA / name / SETS[name])]
    per_question_ms(on, questions[:5])  # warm: the embedder, the BM25 index, the statement pages
    per_question_ms(off, questions[:5])
    times: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(rounds):
        times["on"].append(per_question_ms(on, questions))
        times["off"].append(per_question_ms(off, questions))
    return statistics.median(times["on"]), statistics.median(times["off"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated eval collections")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("| collection | questions | ms per question, features on | off (before) | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for name in args.sets.split(","):
        if not (INDEX_DIR / name).exists():
            print(f"| {name} | not built (run python -m assistant.eval on it first) | | | |")
            continue
        on, off = bench(name, max(args.rounds, 1))
        count = len(load_questions(DATA / name / SETS[name]))
        print(f"| {name} | {count} | {on:.1f} | {off:.1f} | {on / off:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
