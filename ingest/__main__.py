"""Command line: `python -m ingest PATH ...` adds files and folders to the index and reports per file.

Also manages what is indexed: `--list`, `--delete`, `--collections`, `--create-collection`,
`--delete-collection`.
"""

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
    printable,
    quiet_third_party_output,
    setting_origins,
)
from .manage import create_collection, delete_collection, delete_documents, list_collections, list_documents

STATUSES = ("indexed", "unchanged", "renamed", "duplicate", "skipped", "failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Add documents (PDF, Markdown, text, DOCX, HTML; files or folders) to the local index, "
        "or manage what is indexed.",
    )
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders to ingest")
    parser.add_argument("--index-dir", type=Path, help="where the index lives (default: data/index)")
    parser.add_argument("--collection", help="collection to work on (default: default)")
    parser.add_argument("--sync", action="store_true", help="also remove documents no longer among PATHS")
    parser.add_argument("--rebuild", action="store_true", help="start the collection afresh (new settings)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    manage = parser.add_mutually_exclusive_group()
    manage.add_argument("--list", action="store_true", help="list the collection's documents")
    manage.add_argument("--delete", nargs="+", metavar="DOC", help="remove documents, by name or content hash")
    manage.add_argument("--collections", action="store_true", help="list the collections")
    manage.add_argument("--create-collection", metavar="NAME", help="create an empty collection")
    manage.add_argument("--delete-collection", metavar="NAME", help="delete a collection and its index")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_third_party_output()

    managing = args.list or args.delete or args.collections or args.create_collection or args.delete_collection
    if managing and args.paths:
        parser.error("give either PATHS to ingest or one management option, not both")
    if not managing and not args.paths:
        parser.error("give files or folders to ingest, or a management option such as --list")
    overrides = {k: v for k, v in {"index_dir": args.index_dir, "collection": args.collection}.items() if v}
    for line in setting_origins():
        print(f"settings: {printable(line)}", file=sys.stderr)
    try:
        settings = Settings(**overrides)
        if managing:
            return _manage(args, settings)
        return _ingest(args, settings)
    except AssistantError as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return 1
    except ValueError as exc:  # settings that do not validate, e.g. a bad collection name
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return 2


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    missing = [printable(str(p)) for p in args.paths if not p.exists()]
    if missing:
        print(f"error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    sources = collect_sources(args.paths)
    if not sources and not args.sync:
        for skipped in sources.skipped:
            print(f"skipped {printable(skipped.source)}: {printable(skipped.reason)}", file=sys.stderr)
        print("error: no supported files (.pdf .md .txt .docx .html) under the given paths.", file=sys.stderr)
        return 2
    embedder = SentenceTransformerEmbedder(settings)
    report = ingest(
        sources, settings, embedder, on_progress=_progress_bar(args.quiet), sync=args.sync, rebuild=args.rebuild
    )
    _print_report(report, settings)
    return 1 if report.failed else 0


def _manage(args: argparse.Namespace, settings: Settings) -> int:
    if args.list:
        documents = list_documents(settings)
        if not documents:
            print(f"The collection {settings.collection!r} has no documents.")
        names = [printable(d.source) for d in documents]
        width = max([len(n) for n in names] + [8])
        print(f"{'document':<{width}}  {'pages':>5} {'chunks':>6} {'size':>9}  {'ingested (UTC)':<20} id")
        for d, name in zip(documents, names, strict=True):
            size = f"{d.size_bytes / 1e6:.1f} MB" if d.size_bytes >= 100_000 else f"{d.size_bytes / 1e3:.1f} kB"
            print(f"{name:<{width}}  {d.pages:>5} {d.chunks:>6} {size:>9}  {d.ingested_at[:19]:<20} {d.doc_id[:12]}")
    elif args.delete:
        for d in delete_documents(settings, args.delete):
            print(f"deleted {printable(d.source)} ({d.chunks} chunks)")
    elif args.collections:
        collections = list_collections(settings)
        if not collections:
            print(f"No collections in {settings.index_dir} yet.")
        for c in collections:
            print(
                f"{c.name:<24} {c.documents:>5} documents {c.chunks:>7} chunks  {c.index_kind:<6} {c.embedding_model}"
            )
    elif args.create_collection:
        print(f"created {create_collection(settings, args.create_collection)}")
    elif args.delete_collection:
        delete_collection(settings, args.delete_collection)
        print(f"deleted the collection {args.delete_collection}")
    return 0


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
    names = [printable(f.source) for f in report.files]
    width = max([len(n) for n in names] + [4])
    print(f"\n{'file':<{width}}  {'status':<9} {'pages':>5} {'chunks':>6}  notes")
    for f, name in zip(report.files, names, strict=True):
        notes = f.reason
        if f.empty_pages:
            listed = ", ".join(map(str, f.empty_pages[:10])) + (" ..." if len(f.empty_pages) > 10 else "")
            notes = (notes + "; " if notes else "") + f"no extractable text on pages {listed}"
        if f.warnings:
            notes = (notes + "; " if notes else "") + "; ".join(f.warnings[:3])
        print(f"{name:<{width}}  {f.status:<9} {f.pages:>5} {f.chunks:>6}  {printable(notes)}")
    counts = {s: sum(1 for f in report.files if f.status == s) for s in STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"\n{summary} in {report.seconds:.1f} s -> {settings.collection_dir}")
    if report.failed:
        print(f"{len(report.failed)} file(s) could not be ingested; the others are in the index.", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
