"""Benchmark: pages per second loading PDFs with tables found by pdfplumber (`DOCQA_PDF_TABLES`) on and off, in
one process, file by file in turn, so both see the same machine load.

    .venv/bin/python scripts/bench_pdf_tables.py ../shared/eval/data/docugami-sec-10q/pdfs
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.load import load_bytes
from ingest.loaders import LoadOptions
from ingest.loaders.pdftables import looks_tabular


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--rounds", type=int, default=1, help="times each file is loaded each way")
    args = parser.parse_args(argv)
    files = sorted(args.folder.glob("*.pdf"))
    seconds = {False: 0.0, True: 0.0}
    pages = tabular = with_tables = tables = 0
    warnings: list[str] = []
    for path in files:
        data = path.read_bytes()
        for _ in range(args.rounds):
            for on in (False, True):
                started = time.perf_counter()
                document = load_bytes(data, path.name, suffix=".pdf", options=LoadOptions(ocr=False, pdf_tables=on))
                seconds[on] += time.perf_counter() - started
        plain = load_bytes(data, path.name, suffix=".pdf", options=LoadOptions(ocr=False, pdf_tables=False))
        pages += len(document.pages)
        tabular += sum(1 for p in plain.pages if looks_tabular(p.text))
        with_tables += sum(1 for p in document.pages if p.tables)
        tables += sum(len(p.tables) for p in document.pages)
        warnings += [f"{path.name}: {w}" for w in document.warnings]
        print(
            f"{path.name}: {len(document.pages)} pages, {sum(1 for p in document.pages if p.tables)} with tables",
            file=sys.stderr,
            flush=True,
        )
    rounds = max(args.rounds, 1)
    off, on = pages * rounds / seconds[False], pages * rounds / seconds[True]
    print(f"{len(files)} files, {pages} pages; {tabular} look tabular, {with_tables} rebuilt with {tables} tables")
    print(f"tables off: {off:.1f} pages/s ({seconds[False] / rounds:.1f} s)")
    print(f"tables on:  {on:.1f} pages/s ({seconds[True] / rounds:.1f} s), {seconds[True] / seconds[False] - 1:+.0%}")
    for warning in warnings:
        print("warning:", warning)
    return 0


if __name__ == "__main__":
    sys.exit(main())
