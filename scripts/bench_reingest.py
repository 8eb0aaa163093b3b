"""Benchmark: a first ingest of a folder, then an unchanged re-ingest, both through the real CLI.

    python scripts/bench_reingest.py [FOLDER]      # default: ../shared/eval/data/docugami-sec-10q/pdfs

Both runs are measured in this script, the same way, as the wall time of `python -m ingest FOLDER` (start-up
included), so the ratio holds on any machine. The goal: the re-ingest takes at most 3 % of the first.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest import Settings  # noqa: E402
from ingest.manage import list_documents  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "eval" / "data" / "docugami-sec-10q" / "pdfs"


def timed_ingest(folder: Path, index_dir: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingest",
            "--quiet",
            "--index-dir",
            str(index_dir),
            "--collection",
            "bench",
            str(folder),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"ingest failed:\n{done.stderr}")
    return seconds, done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    args = parser.parse_args()
    if not args.folder.is_dir():
        sys.exit(f"No folder {args.folder}; pass the documents folder to ingest.")
    with tempfile.TemporaryDirectory(prefix="bench-reingest-") as scratch:
        index_dir = Path(scratch)
        first, first_summary = timed_ingest(args.folder, index_dir)
        again, again_summary = timed_ingest(args.folder, index_dir)
        documents = list_documents(Settings(index_dir=index_dir, collection="bench", _env_file=None))
    pages, chunks = sum(d.pages for d in documents), sum(d.chunks for d in documents)
    print(f"folder:          {args.folder} ({len(documents)} documents, {pages} pages, {chunks} chunks)")
    print(f"first ingest:    {first:8.1f} s   ({first_summary})")
    print(f"re-ingest:       {again:8.1f} s   ({again_summary})")
    print(f"re-ingest/first: {again / first:8.2%}   (goal: at most 3 %)")


if __name__ == "__main__":
    main()
