"""Fit quote mode's decline threshold from an eval run: the refusal probability above which it declines.

    python -m assistant.eval ../shared/eval/data/squad-dev-wiki --no-baseline --out data/eval/calibration \
        --questions data/eval/sets/squad-calibration-answerable.jsonl \
        --questions data/eval/sets/squad-calibration-unanswerable.jsonl --answer-mode quote
    python scripts/calibrate_decline.py data/eval/calibration/squad-dev-wiki.json --max-wrongly-declined 0.10

Every span is decoded whatever the threshold (the run records each question's refusal probability and its
span's F1), so the curve printed is exact. The threshold chosen declines the most unanswerable questions while
declining at most `--max-wrongly-declined` of the answerable ones; set it as DOCQA_QUOTE_DECLINE_THRESHOLD.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def curve(outcomes: list[dict], thresholds: list[float]) -> list[tuple[float, float, float, float]]:
    """(threshold, answerable declined, unanswerable declined, F1 of the answerable) for each threshold."""
    quoted = [o for o in outcomes if o.get("answers") and o["answers"]["ours"]["refuse_probability"] is not None]
    answerable = [o["answers"]["ours"] for o in quoted if o["answerable"]]
    unanswerable = [o["answers"]["ours"] for o in quoted if not o["answerable"]]
    rows = []
    for t in thresholds:
        rows.append(
            (
                t,
                statistics.fmean(s["refuse_probability"] >= t for s in answerable),
                statistics.fmean(s["refuse_probability"] >= t for s in unanswerable),
                statistics.fmean((s["span_f1"] or 0.0) if s["refuse_probability"] < t else 0.0 for s in answerable),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="an eval run's JSON (data/eval/.../DATASET.json)")
    parser.add_argument("--max-wrongly-declined", type=float, default=0.10)
    args = parser.parse_args()
    outcomes = json.loads(args.run.read_text(encoding="utf-8"))["outcomes"]
    rows = curve(outcomes, [round(0.05 * i, 2) for i in range(1, 21)] + [1.01])
    print("| threshold | answerable declined | unanswerable declined | F1 (answerable) |")
    print("| --- | --- | --- | --- |")
    for t, wrong, right, f1 in rows:
        print(f"| {t:.2f} | {wrong:.3f} | {right:.3f} | {f1:.3f} |")
    allowed = [r for r in rows if r[1] <= args.max_wrongly_declined]
    best = max(allowed, key=lambda r: (r[2], r[3], -r[0]))
    print(f"\nthreshold {best[0]:.2f}: declines {best[2]:.3f} of unanswerable, {best[1]:.3f} of answerable")
    print(f"DOCQA_QUOTE_DECLINE_THRESHOLD={best[0]:.2f}")


if __name__ == "__main__":
    main()
