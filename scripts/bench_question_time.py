"""Benchmark: retrieval time per question on the eval collections, today's code against the code of an earlier
commit (by default 0315c19, the main branch when issue "Find the right page…" was filed), and today's code with the
filing features off, measured in the same run on the same questions and the same chunks.

    python scripts/bench_question_time.py                      # every eval collection in data/eval-index
    python scripts/bench_question_time.py --sets financebench-dev --rounds 5 --against 0315c19

Each variant runs in its own worker process (the earlier commit from a temporary `git worktree`, so both versions
of the `assistant` package never share an interpreter), loads its embedder and the collection once and is warmed
on five questions. Then, round by round, the driver has each worker retrieve every question once, one worker after
the other, so all of them see the same machine load. Printed: the median over rounds of the mean milliseconds per
question, and today's time as a ratio of the earlier commit's.

The earlier code searches today's collection: the same chunks and vectors. Its own check that the collection was
built with its chunker settings is skipped (the text cleaning since then records new settings; the vectors and
embedder are the same). "Features off" sets `period_boost=0`, `statement_boost=0` and `page_ranking=False`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDEX_DIR = ROOT / "data" / "eval-index"
DATA = ROOT.parent / "shared" / "eval" / "data"
SETS = {
    "docugami-sec-10q": "questions.jsonl",
    "financebench-dev": "questions.jsonl",
    "mmlongbench-doc-papers": "questions.jsonl",
    "squad-dev-wiki": "questions_sample300.jsonl",
}
OFF = {"period_boost": 0.0, "statement_boost": 0.0, "page_ranking": False}


def questions(name: str) -> list[str]:
    lines = (DATA / name / SETS[name]).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def worker(code: Path, name: str, off: bool) -> None:
    """Serve rounds on stdin: for each line, retrieve every question once and print the mean ms per question."""
    sys.path.insert(0, str(code))
    if code.resolve() != ROOT:
        import ingest.store as old_store  # the earlier layout's FAISS store

        old_store._check_config = lambda *args, **kwargs: None
    from assistant import Assistant
    from ingest import Settings

    settings = Settings(index_dir=INDEX_DIR, collection=name)
    assistant = Assistant.from_settings(settings.model_copy(update=OFF) if off else settings)
    asked = questions(name)
    for question in asked[:5]:  # warm: the embedder, the BM25 index, the statement pages
        assistant.search(question, question=question)
    print("ready", flush=True)
    for _ in sys.stdin:
        started = time.perf_counter()
        for question in asked:
            assistant.search(question, question=question)
        print((time.perf_counter() - started) * 1e3 / len(asked), flush=True)


def bench(name: str, rounds: int, earlier: Path) -> dict[str, float]:
    variants = {"today": (ROOT, False), "off": (ROOT, True), "earlier": (earlier, False)}
    workers: dict[str, subprocess.Popen[str]] = {}
    try:
        for label, (code, off) in variants.items():
            command = [sys.executable, __file__, "--worker", str(code), "--sets", name] + (["--off"] if off else [])
            workers[label] = subprocess.Popen(
                command, cwd=code, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
            if workers[label].stdout.readline().strip() != "ready":  # type: ignore[union-attr]
                raise SystemExit(f"The {label} worker failed to open {name}.")
        times: dict[str, list[float]] = {label: [] for label in workers}
        for _ in range(rounds):
            for label, process in workers.items():
                process.stdin.write("round\n")  # type: ignore[union-attr]
                process.stdin.flush()  # type: ignore[union-attr]
                times[label].append(float(process.stdout.readline()))  # type: ignore[union-attr]
        return {label: statistics.median(values) for label, values in times.items()}
    finally:
        for process in workers.values():
            process.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated eval collections")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", default="0315c19", help="the earlier commit to compare with")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--off", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.sets, args.off)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-question-time-") as scratch:
        earlier = Path(scratch) / "earlier"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(earlier), args.against], cwd=ROOT, check=True)
        try:
            print(f"| collection | questions | ms per question, today | features off | at {args.against} | ratio |")
            print("| --- | --- | --- | --- | --- | --- |")
            for name in args.sets.split(","):
                if not (INDEX_DIR / name).exists():
                    print(f"| {name} | not built (run python -m assistant.eval on it first) | | | | |")
                    continue
                ms = bench(name, max(args.rounds, 1), earlier)
                print(
                    f"| {name} | {len(questions(name))} | {ms['today']:.1f} | {ms['off']:.1f} | {ms['earlier']:.1f} "
                    f"| {ms['today'] / ms['earlier']:.2f} |",
                    flush=True,
                )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(earlier)], cwd=ROOT, check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
