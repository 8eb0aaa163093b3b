"""How fast the evidence appears: the time from submitting a question to the passages showing, in a real browser.

    python scripts/evidence_latency.py [--questions 8] [--model SPEC]

Builds a fresh index of data/docs with the default embedder, starts the app with the default chat model, and
asks the questions one after another in one conversation in Debian's chromium. For each it measures, from
pressing Enter:
  - echo:     the question shown back in the chat (Streamlit's own round trip: the baseline);
  - evidence: the retrieved passages shown;
and, for the first question only, the finished answer. Later answers are stopped with "Stop generating" once
their evidence is up, and the next question waits until the model is idle again. Prints each figure and the medians.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.live_app import ANSWER_DONE, QUESTIONS, ROOT, browser, live_app

NO_STOP_BUTTON = "() => ![...document.querySelectorAll('button')].some(b => b.innerText.includes('Stop generating'))"


def measure(url: str, questions: list[str]) -> list[dict[str, float]]:
    rows = []
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(url)
        box = page.get_by_test_id("stChatInputTextArea")
        box.wait_for()
        for number, question in enumerate(questions, start=1):
            box.fill(question)
            started = time.perf_counter()
            box.press("Enter")
            page.get_by_test_id("stChatMessage").filter(has_text=question).last.wait_for()
            echo = time.perf_counter() - started
            page.get_by_text("Evidence: ").last.wait_for()
            row = {"echo_s": echo, "evidence_s": time.perf_counter() - started}
            if number == 1:
                page.get_by_text(re.compile(ANSWER_DONE)).last.wait_for(timeout=900_000)
                row["answer_s"] = time.perf_counter() - started
            else:
                # Stop takes effect at the first token (llama.cpp cannot be interrupted mid-prompt): wait for it,
                # so the next question starts on an idle machine.
                stop = page.get_by_role("button", name="Stop generating").last
                if stop.is_visible():
                    stop.click()
                page.wait_for_function(NO_STOP_BUTTON, timeout=900_000)
            page.wait_for_timeout(300)
            rows.append(row)
            print(f"  {number}. echo {row['echo_s']:.2f} s, evidence {row['evidence_s']:.2f} s"
                  + (f", answer {row['answer_s']:.1f} s" if "answer_s" in row else ""), flush=True)  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--model", help="chat model spec (default: the configured default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evidence-latency-") as scratch:
        env = {"DOCQA_INDEX_DIR": str(Path(scratch) / "index")}
        if args.model:
            env["DOCQA_CHAT_MODEL"] = args.model
        subprocess.run([sys.executable, "-m", "ingest", "--quiet", "data/docs"], cwd=ROOT, env={**os.environ, **env},
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        with live_app(env, log=Path(scratch) / "app.log") as url:
            rows = measure(url, QUESTIONS[: args.questions])
    echo = statistics.median(r["echo_s"] for r in rows)
    evidence = [r["evidence_s"] for r in rows]
    print(f"questions:          {len(rows)} (data/docs, default embedder and chat model)")
    print(f"echo (baseline):    median {echo:.2f} s")
    print(f"evidence:           median {statistics.median(evidence):.2f} s, max {max(evidence):.2f} s "
          f"(goal: under 1 s)")  # fmt: skip
    print(f"evidence - echo:    median {statistics.median(r['evidence_s'] - r['echo_s'] for r in rows):.2f} s")
    print(f"first answer done:  {rows[0]['answer_s']:.1f} s "
          f"(evidence came {rows[0]['answer_s'] / rows[0]['evidence_s']:.0f}x sooner)")  # fmt: skip


if __name__ == "__main__":
    main()
