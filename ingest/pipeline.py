"""The ingestion run: load each file, skip what is unchanged, chunk, embed in batches, commit once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .chunk import Chunker
from .embed import Embedder
from .errors import DocumentError
from .isolate import shared_parser
from .load import SUPPORTED_SUFFIXES, check_bytes, content_id, load_bytes, read_source
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


def index_config(settings: Settings, embedder: Embedder, built: IndexConfig | None = None) -> IndexConfig:
    """The config these settings build. When `built` (an existing index's config) names the same embedder,
    its dimension is taken on trust so the model need not load; a commit still refuses vectors of another size.
    """
    same_model = built is not None and built.embedding_model == settings.embedding_model
    return IndexConfig(
        embedding_model=settings.embedding_model,
        dimension=built.dimension if built is not None and same_model else embedder.dimension,
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
    progress = on_progress or (lambda stage, done, total: None)
    with writer_lock(settings.collection_dir, timeout=lock_timeout):
        built = None if rebuild else config_of(settings.collection_dir)
        config = index_config(settings, embedder, built)
        if rebuild:
            store = _open_for_rebuild(settings, config)
        else:
            store = IndexStore.open(settings.collection_dir, config, create=True)
        run = _Run(settings, embedder, store, rebuild, sync, {s.source for s in sources})
        for done, item in enumerate(sources, start=1):
            report.files.append(run.prepare(item))
            progress("reading", done, len(sources))
        if sync:
            run.remove |= {d.doc_id for d in store.documents.values() if d.source not in run.batch_sources}
        run.keep_provided()
        new_chunks = [c for _, chunks in run.pending for c in chunks]
        vectors = np.zeros((0, config.dimension), dtype=np.float32)
        if new_chunks:
            texts = [run.chunker().embedding_text(c) for c in new_chunks]
            vectors = embedder.embed_documents(texts, on_progress=lambda d, t: progress("embedding", d, t))
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
                path=run.paths.get(doc.doc_id, ""),
            )
            for doc, chunks in run.pending
        ]
        renamed_chunks, renamed_vectors, renamed_documents = run.relabel_renamed()
        if new_chunks or run.remove or renamed_chunks or documents:
            store.commit(
                add_chunks=new_chunks + renamed_chunks,
                add_vectors=np.concatenate([vectors, renamed_vectors]),
                add_documents=documents + renamed_documents,
                remove_doc_ids=run.remove | {d.doc_id for d in renamed_documents},
            )
    report.seconds = time.perf_counter() - started
    return report


class _Run:
    """What one ingestion run has decided so far, file by file."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: IndexStore,
        rebuild: bool,
        sync: bool,
        batch_sources: set[str],
    ) -> None:
        self.settings, self.embedder, self.store = settings, embedder, store
        self.rebuild, self.sync, self.batch_sources = rebuild, sync, batch_sources
        self.by_source = {d.source: d for d in store.documents.values()}
        self.seen: dict[str, str] = {}  # doc_id -> source, for this batch
        self.remove: set[str] = set(store.documents) if rebuild else set()
        self.pending: list[tuple[LoadedDocument, list[Chunk]]] = []
        self.renames: dict[str, str] = {}  # doc_id -> new source
        self.providers: dict[str, FileReport] = {}  # doc_id -> the first other file in this batch holding it
        self.paths: dict[str, str] = {}  # doc_id -> where its file is now
        self._chunker: Chunker | None = None

    def chunker(self) -> Chunker:
        """Built on first need: it loads the embedder's tokenizer, which an unchanged re-ingest never needs."""
        if self._chunker is None:
            self._chunker = make_chunker(self.settings, self.embedder)
        return self._chunker

    def prepare(self, item: SourceFile) -> FileReport:
        """Skip, rename or load and chunk one file; its bytes are hashed before anything parses them."""
        try:
            data = read_source(item.path, item.source)
        except DocumentError as exc:
            log.warning("Skipped %s", exc)
            return FileReport(item.source, "failed", reason=exc.reason)
        doc_id = content_id(data)
        if doc_id not in self.seen:
            self.paths[doc_id] = str(item.path.resolve())
        if doc_id in self.seen:
            self._drop_previous(item.source, doc_id)
            return FileReport(item.source, "duplicate", reason=f"same content as {self.seen[doc_id]}")
        existing = None if self.rebuild else self.store.documents.get(doc_id)
        if existing is not None:
            self.seen[doc_id] = item.source
            if existing.source != item.source:
                self._drop_previous(item.source, doc_id)
            return self._known(item, existing)
        try:
            document = self._parse(data, item)
        except DocumentError as exc:
            log.warning("Skipped %s", exc)
            return FileReport(item.source, "failed", reason=exc.reason)
        self.seen[doc_id] = item.source
        self._drop_previous(item.source, doc_id)
        chunks = self.chunker().split(document)
        self.pending.append((document, chunks))
        return FileReport(
            item.source,
            "indexed",
            pages=len(document.pages),
            chunks=len(chunks),
            empty_pages=document.empty_pages,
            warnings=document.warnings,
        )

    def _drop_previous(self, source: str, doc_id: str) -> None:
        """The file changed and its new content is accounted for: its old chunks go in the same commit.
        (A changed file that fails to load keeps its old version, so a bad file never costs the index.)"""
        previous = self.by_source.get(source)
        if previous is not None and previous.doc_id != doc_id:
            self.remove.add(previous.doc_id)

    def _parse(self, data: bytes, item: SourceFile) -> LoadedDocument:
        suffix, max_bytes = item.path.suffix.lower(), int(self.settings.max_file_mb * 1e6)
        if not self.settings.isolate_parsing:
            return load_bytes(data, item.source, suffix=suffix, max_bytes=max_bytes)
        check_bytes(data, item.source, max_bytes)  # no worker round trip for what is refused anyway
        parser = shared_parser(self.settings.parse_timeout_s, self.settings.parse_memory_mb)
        return parser.load(data, item.source, suffix=suffix, max_bytes=max_bytes)

    def _known(self, item: SourceFile, existing: DocumentInfo) -> FileReport:
        """Content already in the index: unchanged, a copy of another file, or (with sync) that file renamed."""
        if existing.source == item.source:
            status, reason = "unchanged", ""
        elif self.sync and existing.source not in self.batch_sources:
            status, reason = "renamed", f"was {existing.source}; not re-embedded"
            self.renames[existing.doc_id] = item.source
        else:
            status, reason = "duplicate", f"same content as {existing.source}, already indexed"
        report = FileReport(
            item.source,
            status,
            pages=existing.pages,
            chunks=existing.chunks,
            reason=reason,
            empty_pages=existing.empty_pages,
        )
        if status == "duplicate":
            self.providers.setdefault(existing.doc_id, report)
        return report

    def keep_provided(self) -> None:
        """Content about to leave the index (its file changed or is gone) that another file of this batch still
        holds stays, under that file's name, with the vectors it has."""
        for doc_id, report in self.providers.items():
            if doc_id in self.remove and doc_id not in self.renames:
                self.remove.discard(doc_id)
                self.renames[doc_id] = report.source
                report.status = "renamed"
                report.reason = f"holds the content {self.store.documents[doc_id].source} had; not re-embedded"

    def relabel_renamed(self) -> tuple[list[Chunk], np.ndarray, list[DocumentInfo]]:
        """Renamed documents' chunks under their new name, with the vectors they already have."""
        rows = [i for i, c in enumerate(self.store.chunks) if c.doc_id in self.renames]
        chunks = [replace(self.store.chunks[i], source=self.renames[self.store.chunks[i].doc_id]) for i in rows]
        vectors = self.store.vectors()[rows] if rows else np.zeros((0, self.store.config.dimension), np.float32)
        documents = [
            replace(self.store.documents[d], source=new, path=self.paths.get(d, self.store.documents[d].path))
            for d, new in self.renames.items()
        ]
        return chunks, vectors, documents


def _open_for_rebuild(settings: Settings, config: IndexConfig) -> IndexStore:
    """The live snapshot read with its own config (which may differ), re-labelled with the new one."""
    old_config = config_of(settings.collection_dir)
    if old_config is None:
        return IndexStore(settings.collection_dir, config)
    old = IndexStore.open(settings.collection_dir, old_config)
    # Vectors of the old config are dropped entirely: the rebuild commits only documents embedded now.
    return IndexStore(settings.collection_dir, config, commit_name=old.commit_name, documents=dict(old.documents))
