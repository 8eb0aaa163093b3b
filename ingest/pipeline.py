"""The ingestion run: load each file, skip what is unchanged, chunk, embed in batches, commit once."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .batch import Run
from .cleanup import TEXT_VERSION
from .describe import describe, with_corrections
from .embed import Embedder
from .settings import Settings
from .sources import SourceFile
from .stores import Collection, IndexConfig, open_store
from .types import Chunk, DocumentInfo, IngestReport

#: on_progress(stage, done, total), stage being "reading" or "embedding".
StageProgress = Callable[[str, int, int], None]


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
        quantization="int8" if settings.embedding_backend == "onnx-int8" else "",
    )


def open_index(settings: Settings, embedder: Embedder, *, create: bool = False) -> Collection:
    """The live snapshot of the configured collection."""
    return open_store(settings).open(settings.collection, index_config(settings, embedder), create=create)


def ingest(
    sources: Sequence[SourceFile],
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
    that were found under the paths named (`collect_sources`; every document, for a plain list) and whose
    file is gone are removed, except those under a folder that could not be listed. With `rebuild`, the
    collection starts empty.
    """
    started = time.perf_counter()
    report = IngestReport(files=list(getattr(sources, "skipped", [])))
    progress = on_progress or (lambda stage, done, total: None)
    backend, name = open_store(settings), settings.collection
    with backend.writer_lock(name, timeout=lock_timeout):
        built = None if rebuild else backend.config_of(name)
        config = index_config(settings, embedder, built)
        store = backend.open_for_rebuild(name, config) if rebuild else backend.open(name, config, create=True)
        run = Run(settings, embedder, store, rebuild, sync, sources)
        for done, item in enumerate(sources, start=1):
            report.files.append(run.prepare(item))
            progress("reading", done, len(sources))
        if sync:
            report.files.extend(run.sync_removals(getattr(sources, "roots", None), getattr(sources, "unknown", [])))
        run.keep_provided()
        run.name_documents(report)
        new_chunks = [c for _, chunks in run.pending for c in chunks]
        vectors = np.zeros((0, config.dimension), dtype=np.float32)
        if new_chunks:
            vectors = _embed_or_reuse(store, new_chunks, run, embedder, progress)
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
                ocr_pages=doc.ocr_pages,
                loader=doc.loader,
                path=run.paths.get(doc.doc_id, ""),
                location=run.locations[doc.doc_id],
                about=with_corrections(describe(doc), _about(store, doc.doc_id)),
                text_version=TEXT_VERSION,
            )
            for doc, chunks in run.pending
        ]
        renamed_chunks, renamed_vectors, renamed_documents = run.relabel_renamed()
        if new_chunks or run.remove or renamed_chunks or documents or renamed_documents:
            store.commit(
                add_chunks=new_chunks + renamed_chunks,
                add_vectors=np.concatenate([vectors, renamed_vectors]),
                add_documents=documents + renamed_documents,
                remove_doc_ids=run.remove | {d.doc_id for d in renamed_documents},
            )
    report.seconds = time.perf_counter() - started
    return report


def _about(store: Collection, doc_id: str) -> dict[str, Any]:
    """What the collection knew the document to be: a document read again keeps what a person corrected."""
    known = store.documents.get(doc_id)
    return known.about if known is not None else {}


def _embed_or_reuse(
    store: Collection, chunks: list[Chunk], run: Run, embedder: Embedder, progress: StageProgress
) -> np.ndarray:
    """The chunks' vectors: a document read again (its text cleaning or OCR settings changed) often gives many
    of the same passages, with the same ids and embedded text; their stored vectors are kept, the rest embedded."""
    chunker = run.chunker()
    texts = [chunker.embedding_text(c) for c in chunks]
    stored = {c.id: c for c in store.get_chunks([c.id for c in chunks])}
    same = [i for i, c in enumerate(chunks) if c.id in stored and chunker.embedding_text(stored[c.id]) == texts[i]]
    kept = set(same)
    fresh = [i for i in range(len(chunks)) if i not in kept]
    vectors = np.zeros((len(chunks), store.config.dimension), dtype=np.float32)
    if same:
        vectors[same] = store.vectors_of([chunks[i].id for i in same])
    if fresh:
        on_progress = lambda d, t: progress("embedding", d, t)  # noqa: E731
        vectors[fresh] = embedder.embed_documents([texts[i] for i in fresh], on_progress=on_progress)
    return vectors
