"""Command line: `python -m ingest PATH ...` adds files and folders to the index and reports per file."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import (
    AssistantError,
    IngestReport,
    SentenceTransformerEmbedder,
    Settings,
    collect_sources,
    ingest,
    quiet_third_party_output,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Add documents (PDF, Markdown, text, DOCX, HTML; files or folders) to the local index.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="files or folders to ingest")
    parser.add_argument("--index-dir", type=Path, help="where the index lives (default: data/index)")
    parser.add_argument("--collection", help="collection to add to (default: default)")
    parser.add_argument("--sync", action="store_true", help="also remove documents no longer among PATHS")
    parser.add_argument("--rebuild", action="store_true", help="start the collection afresh (new settings)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_third_party_output()

    overrides = {k: v for k, v in {"index_dir": args.index_dir, "collection": args.collection}.items() if v}
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        settings = Settings(**overrides)
        sources = collect_sources(args.paths)
        if not sources:
            print("error: no supported files (.pdf .md .txt .docx .html) under the given paths.", file=sys.stderr)
            return 2
        embedder = SentenceTransformerEmbedder(settings)
        report = ingest(
            sources, settings, embedder, on_progress=_progress_bar(args.quiet), sync=args.sync, rebuild=args.rebuild
        )
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _print_report(report, settings)
    return 1 if report.failed else 0


def _progress_bar(quiet: bool):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(stage: str, done: int, total: int) -> None:
        if quiet:
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=f"{stage:>9}", unit="file" if stage == "reading" else "chunk")
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def _print_report(report: IngestReport, settings: Settings) -> None:
    width = max([len(f.source) for f in report.files] + [4])
    print(f"\n{'file':<{width}}  {'status':<9} {'pages':>5} {'chunks':>6}  notes")
    for f in report.files:
        notes = f.reason
        if f.empty_pages:
            listed = ", ".join(map(str, f.empty_pages[:10])) + (" ..." if len(f.empty_pages) > 10 else "")
            notes = (notes + "; " if notes else "") + f"no extractable text on pages {listed}"
        if f.warnings:
            notes = (notes + "; " if notes else "") + "; ".join(f.warnings[:3])
        print(f"{f.source:<{width}}  {f.status:<9} {f.pages:>5} {f.chunks:>6}  {notes}")
    counts = {s: sum(1 for f in report.files if f.status == s) for s in ("indexed", "unchanged", "duplicate", "failed")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"\n{summary} in {report.seconds:.1f} s -> {settings.collection_dir}")
    if report.failed:
        print(f"{len(report.failed)} file(s) could not be ingested; the others are in the index.", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
