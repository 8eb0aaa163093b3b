"""How the dev sets' questions are routed (quote, compute, explain), against TAT-QA's own answer types.

    python scripts/routing_report.py [EVAL_DATA_DIR]

No model runs: routing is plain patterns over the question (`assistant/route.py`).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.route import MODES, route  # noqa: E402

SETS = {
    "squad-dev-wiki": ["questions_sample300.jsonl", "questions_unanswerable.jsonl"],
    "tatqa-dev": ["questions.jsonl"],
    "financebench-dev": ["questions.jsonl"],
    "docugami-sec-10q": ["questions.jsonl"],
    "mmlongbench-doc-papers": ["questions.jsonl"],
}


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "eval" / "data"
    print("| questions | " + " | ".join(MODES) + " |")
    print("| --- |" + " --- |" * len(MODES))
    for dataset, files in SETS.items():
        for name in files:
            path = data / dataset / name
            if not path.exists():
                continue
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            groups: dict[str, list[str]] = {f"{dataset}/{name}": [r["question"] for r in rows]}
            if dataset == "tatqa-dev":
                for kind in ("arithmetic", "span", "multi-span", "count"):
                    typed = [r["question"] for r in rows if r["meta"]["answer_type"] == kind]
                    groups[f"tatqa-dev, answer type {kind}"] = typed
            for label, questions in groups.items():
                counts = Counter(route(q) for q in questions)
                cells = [f"{counts[m]} ({counts[m] / len(questions):.0%})" for m in MODES]
                print(f"| {label} ({len(questions)}) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
