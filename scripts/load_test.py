"""Load test: N concurrent browser sessions ask questions of the real app on loopback.

    python scripts/load_test.py [--sessions 8] [--questions 1] [--model packaged:smollm2-135m-instruct-q4_1]

Starts the app (streamlit on 127.0.0.1, a free port) over a fresh index of data/docs, opens N sessions in
Debian's chromium through Playwright, has each ask its questions at the same moment, and reports questions
answered, errors, and p50 / p95 latency from submitting to the finished answer (and to the evidence). The
model serializes generation, so latency grows with the queue; what must not happen is an error or a hang.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.live_app import ANSWER_DONE, CHROMIUM, CHROMIUM_ARGS, QUESTIONS, ROOT, free_port, start_app


async def session(browser, url: str, questions: list[str], results: list[dict]) -> None:  # type: ignore[no-untyped-def]
    page = await browser.new_page()
    try:
        await page.goto(url)
        await page.get_by_test_id("stChatInputTextArea").wait_for(timeout=180_000)
        for number, question in enumerate(questions, start=1):
            started = time.perf_counter()
            record: dict[str, object] = {"question": question}
            try:
                await page.get_by_test_id("stChatInputTextArea").fill(question)
                await page.keyboard.press("Enter")
                await page.get_by_text("Evidence:").nth(number - 1).wait_for(timeout=120_000)
                record["evidence_s"] = time.perf_counter() - started
                await page.get_by_text(re.compile(ANSWER_DONE)).nth(number - 1).wait_for(timeout=900_000)
                record["answer_s"] = time.perf_counter() - started
                body = await page.inner_text("body")
                if "Something went wrong" in body or "Traceback" in body:
                    record["error"] = "the app showed an error"
            except Exception as exc:  # a timeout or a broken page counts as an error, the others go on
                record["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            results.append(record)
    finally:
        await page.close()


async def drive(url: str, sessions: int, per_session: int) -> list[dict]:  # type: ignore[type-arg]
    from playwright.async_api import async_playwright

    results: list[dict] = []  # type: ignore[type-arg]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        plans = [[QUESTIONS[(s + q) % len(QUESTIONS)] for q in range(per_session)] for s in range(sessions)]
        await asyncio.gather(*(session(browser, url, plan, results) for plan in plans))
        await browser.close()
    return results


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(sessions: int, per_session: int, model: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="load-test-") as scratch:
        env = {**os.environ, "DOCQA_INDEX_DIR": str(Path(scratch) / "index")}
        if model:
            env["DOCQA_CHAT_MODEL"] = model
        subprocess.run([sys.executable, "-m", "ingest", "--quiet", "data/docs"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        port = free_port()
        app = start_app(env, port)
        try:
            started = time.perf_counter()
            results = asyncio.run(drive(f"http://127.0.0.1:{port}", sessions, per_session))
            wall = time.perf_counter() - started
        finally:
            app.terminate()
            app.wait(30)
    answered = [r for r in results if "answer_s" in r and "error" not in r]
    errors = [r for r in results if "error" in r]
    latencies = [float(r["answer_s"]) for r in answered]  # type: ignore[arg-type]
    evidence = [float(r["evidence_s"]) for r in results if "evidence_s" in r]  # type: ignore[arg-type]
    summary = {
        "sessions": sessions,
        "questions": len(results),
        "answered": len(answered),
        "errors": len(errors),
        "answer_p50_s": statistics.median(latencies) if latencies else float("nan"),
        "answer_p95_s": percentile(latencies, 0.95),
        "evidence_p50_s": statistics.median(evidence) if evidence else float("nan"),
        "evidence_p95_s": percentile(evidence, 0.95),
        "wall_s": wall,
    }
    for record in errors:
        print(f"error: {record['question']}: {record['error']}", file=sys.stderr)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--questions", type=int, default=1, help="questions per session")
    parser.add_argument("--model", help="chat model (default: the configured one)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"No browser at {CHROMIUM}: apt-get install chromium")
    s = run(args.sessions, args.questions, args.model)
    print(f"sessions {s['sessions']}, questions {s['questions']}, answered {s['answered']}, errors {s['errors']}")
    print(f"answer latency:   p50 {s['answer_p50_s']:.1f} s, p95 {s['answer_p95_s']:.1f} s")
    print(f"evidence latency: p50 {s['evidence_p50_s']:.2f} s, p95 {s['evidence_p95_s']:.2f} s")
    print(f"wall time {s['wall_s']:.1f} s")


if __name__ == "__main__":
    main()
