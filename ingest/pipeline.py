"""The ingestion run: load each file, skip what is unchanged, chunk, embed in batches, commit once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .chunk import Chunker
from .embed import Embedder
from .errors import DocumentError
from .load import SUPPORTED_SUFFIXES, load_file
from .settings import Settings
from .store import IndexConfig, IndexStore, config_of, writer_lock
from .types import Chunk, DocumentInfo, FileReport, IngestReport, LoadedDocument

log = logging.getLogger(__name__)

#: on_progress(stage, done, total), stage being "reading" or "embedding".
StageProgress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file to ingest and the name it is cited by."""

    path: Path
    source: str


def collect_sources(paths: list[Path]) -> list[SourceFile]:
    """Files named directly keep their name; files found in a folder are named relative to that folder."""
    found: list[SourceFile] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                hidden = any(part.startswith(".") for part in relative.parts)
                if child.is_file() and not hidden and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    found.append(SourceFile(child, relative.as_posix()))
        else:
            found.append(SourceFile(path, path.name))
    return found


def index_config(settings: Settings, embedder: Embedder) -> IndexConfig:
    return IndexConfig(
        embedding_model=settings.embedding_model,
        dimension=embedder.dimension,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        header_tokens=settings.header_tokens,
        document_prefix=settings.document_prefix,
    )


def make_chunker(settings: Settings, embedder: Embedder) -> Chunker:
    return Chunker(
        embedder.count_tokens,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        header_tokens=settings.header_tokens,
        max_tokens=embedder.max_tokens,
    )


def open_index(settings: Settings, embedder: Embedder, *, create: bool = False) -> IndexStore:
    """The live snapshot of the configured collection."""
    return IndexStore.open(settings.collection_dir, index_config(settings, embedder), create=create)


def ingest(
    sources: list[SourceFile],
    settings: Settings,
    embedder: Embedder,
    *,
    on_progress: StageProgress | None = None,
    sync: bool = False,
    rebuild: bool = False,
    lock_timeout: float = 600.0,
) -> IngestReport:
    """Add `sources` to the collection in one atomic commit and report what happened to each file.

    A file that cannot be read is reported as failed and the rest still go in. Unchanged files are skipped
    without re-embedding; a changed file's old chunks are replaced in the same commit. With `sync`, documents
    whose source is not among `sources` are removed. With `rebuild`, the collection starts empty.
    """
    started = time.perf_counter()
    report = IngestReport()
    chunker = make_chunker(settings, embedder)
    config = index_config(settings, embedder)
    progress = on_progress or (lambda stage, done, total: None)
    with writer_lock(settings.collection_dir, timeout=lock_timeout):
        if rebuild:
            store = _open_for_rebuild(settings, config)
        else:
            store = IndexStore.open(settings.collection_dir, config, create=True)
        by_source = {d.source: d for d in store.documents.values()}
        seen: dict[str, str] = {}
        remove: set[str] = set(store.documents) if rebuild else set()
        pending: list[tuple[LoadedDocument, list[Chunk]]] = []
        for done, item in enumerate(sources, start=1):
            file_report = _prepare(item, settings, chunker, store, by_source, seen, remove, rebuild, pending)
            report.files.append(file_report)
            progress("reading", done, len(sources))
        if sync:
            kept = {s.source for s in sources}
            remove |= {d.doc_id for d in store.documents.values() if d.source not in kept}
        new_chunks = [c for _, chunks in pending for c in chunks]
        texts = [chunker.embedding_text(c) for c in new_chunks]
        vectors = (
            embedder.embed_documents(texts, on_progress=lambda d, t: progress("embedding", d, t))
            if texts
            else np.zeros((0, embedder.dimension), dtype=np.float32)
        )
        if pending or remove:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            documents = [
                DocumentInfo(
                    doc_id=doc.doc_id,
                    source=doc.source,
                    pages=len(doc.pages),
                    chunks=len(chunks),
                    size_bytes=doc.size_bytes,
                    ingested_at=now,
                    empty_pages=doc.empty_pages,
                )
                for doc, chunks in pending
            ]
            store.commit(add_chunks=new_chunks, add_vectors=vectors, add_documents=documents, remove_doc_ids=remove)
    report.seconds = time.perf_counter() - started
    return report


def _prepare(
    item: SourceFile,
    settings: Settings,
    chunker: Chunker,
    store: IndexStore,
    by_source: dict[str, DocumentInfo],
    seen: dict[str, str],
    remove: set[str],
    rebuild: bool,
    pending: list[tuple[LoadedDocument, list[Chunk]]],
) -> FileReport:
    try:
        document = load_file(item.path, item.source, max_bytes=int(settings.max_file_mb * 1_000_000))
    except DocumentError as exc:
        log.warning("Skipped %s", exc)
        return FileReport(item.source, "failed", reason=exc.reason)
    if document.doc_id in seen:
        return FileReport(item.source, "duplicate", reason=f"same content as {seen[document.doc_id]}")
    seen[document.doc_id] = item.source
    existing = None if rebuild else store.documents.get(document.doc_id)
    if existing is not None:
        status, reason = (
            ("unchanged", "")
            if existing.source == item.source
            else ("duplicate", f"same content as {existing.source}, already indexed")
        )
        return FileReport(
            item.source,
            status,
            pages=existing.pages,
            chunks=existing.chunks,
            reason=reason,
            empty_pages=existing.empty_pages,
        )
    previous = by_source.get(item.source)
    if previous is not None:
        remove.add(previous.doc_id)  # the file changed: its old chunks go in the same commit
    chunks = chunker.split(document)
    pending.append((document, chunks))
    return FileReport(
        item.source,
        "indexed",
        pages=len(document.pages),
        chunks=len(chunks),
        empty_pages=document.empty_pages,
        warnings=document.warnings,
    )


def _open_for_rebuild(settings: Settings, config: IndexConfig) -> IndexStore:
    """The live snapshot read with its own config (which may differ), re-labelled with the new one."""
    old_config = config_of(settings.collection_dir)
    if old_config is None:
        return IndexStore(settings.collection_dir, config)
    old = IndexStore.open(settings.collection_dir, old_config)
    # Vectors of the old config are dropped entirely: the rebuild commits only documents embedded now.
    return IndexStore(settings.collection_dir, config, commit_name=old.commit_name, documents=dict(old.documents))
