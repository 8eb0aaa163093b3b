"""A snapshot of a FAISS collection, read whole into memory from its live commit: searched exactly up to
`DEFAULT_ANN_THRESHOLD` chunks and with an HNSW graph past it, documents added since in small exact segments
(`segments.py`); keyword search is BM25 in process (`keyword.py`). Only the FAISS backend's modules (this one,
`commits.py`, `segments.py`) import faiss."""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection as Many
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np

from ..errors import IndexStoreError
from ..types import Chunk, DocumentInfo, ScoredChunk
from .base import Collection, IndexConfig, checked_additions, document_profiles
from .commits import (
    NewSegment,
    collect_garbage,
    next_free_name,
    read_commit_or_fallback,
    read_current,
    write_commit,
)
from .keyword import KeywordIndex, cached
from .segments import Segment, Segments, plan

#: Collections with more chunks than this are searched with an HNSW graph instead of exactly.
DEFAULT_ANN_THRESHOLD = 50_000
_HNSW_NEIGHBOURS = 32
_HNSW_EF_CONSTRUCTION = 80
#: Candidates the HNSW search explores; measured by scripts/bench_ann.py (recall@10 against exact search).
HNSW_EF_SEARCH = 128


class FaissCollection(Collection):
    """One consistent snapshot of a collection folder, held in memory. Read-only; `commit` returns the next."""

    def __init__(
        self,
        directory: Path,
        config: IndexConfig,
        *,
        commit_name: str | None = None,
        content: str | None = None,
        chunks: list[Chunk] | None = None,
        vectors: np.ndarray | None = None,
        documents: dict[str, DocumentInfo] | None = None,
        index: faiss.Index | list[faiss.Index] | None = None,
        ann_threshold: int = DEFAULT_ANN_THRESHOLD,
        layout: list[Segment] | None = None,
    ) -> None:
        """A snapshot from `vectors` (one per chunk), or from already built FAISS indexes (one per segment, their
        files `layout` in the commit `commit_name`).

        `ann_threshold` is the size past which the next commits build an approximate (HNSW) index.
        """
        self.directory = directory
        self.name = directory.name
        self.config = config
        self.commit_name = commit_name
        self._content = content or uuid.uuid4().hex  # what the snapshot holds; unsaved ones are unique
        self.chunks = chunks or []
        self.documents = documents or {}
        self.ann_threshold = ann_threshold
        if index is None:
            index = build_index(config.dimension, vectors, ann_threshold)
        self._index = Segments(index if isinstance(index, list) else [index])
        self._layout = layout
        for part in self._index.indexes:
            _tune(part)
        if self._index.ntotal != len(self.chunks):
            raise IndexStoreError(
                f"Index in {directory} is inconsistent: {self._index.ntotal} vectors, {len(self.chunks)} chunks."
            )
        self._rows: dict[str, int] | None = None
        self._doc_rows: dict[str, list[int]] | None = None

    # Reading -------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, directory: Path, config: IndexConfig, *, create: bool = False, ann_threshold: int = DEFAULT_ANN_THRESHOLD
    ) -> FaissCollection:
        """Load the live commit of `directory`; an empty store if there is none and `create` is set."""
        for _attempt in range(5):
            name = read_current(directory)
            if name is None:
                if create:
                    return cls(directory, config, ann_threshold=ann_threshold)
                raise IndexStoreError(
                    f"No index in {directory}. Run `python -m ingest data/docs` (or your own folder) first."
                )
            try:
                commit, content, chunks, documents, indexes, layout = read_commit_or_fallback(directory, config, name)
            except FileNotFoundError:
                # A writer collected this commit while we were reading it; read CURRENT again.
                time.sleep(0.05)
                continue
            return cls(
                directory, config, commit_name=commit, chunks=chunks, documents=documents, index=indexes,
                content=content, ann_threshold=ann_threshold, layout=layout,
            )  # fmt: skip
        raise IndexStoreError(f"The index in {directory} keeps changing under the reader; try again.")

    def is_stale(self) -> bool:
        """True when another writer has committed since this snapshot was loaded."""
        return read_current(self.directory) != self.commit_name

    def reload_if_stale(self) -> FaissCollection:
        if not self.is_stale():
            return self
        return FaissCollection.open(self.directory, self.config, create=True, ann_threshold=self.ann_threshold)

    @property
    def version(self) -> str:
        return f"{self.directory}@{self.commit_name}:{self._content}"

    @property
    def index_kind(self) -> str:
        """`exact` (flat) or `hnsw` (approximate)."""
        return "hnsw" if isinstance(self._index.first, faiss.IndexHNSW) else "exact"

    def __len__(self) -> int:
        return len(self.chunks)

    def storage_bytes(self) -> int | None:
        commit = self.directory / "commits" / (self.commit_name or "-")
        return sum(f.stat().st_size for f in commit.glob("*") if f.is_file())

    def vectors(self) -> np.ndarray:
        """Every vector, in chunk order."""
        if not self.chunks:
            return np.zeros((0, self.config.dimension), dtype=np.float32)
        return self._index.reconstruct_n(0, self._index.ntotal)

    def search(self, query: np.ndarray, k: int, doc_ids: Many[str] | None = None) -> list[ScoredChunk]:
        rows = None if doc_ids is None else self._rows_of(doc_ids)
        return [ScoredChunk(self.chunks[r], s) for r, s in self.search_rows(query, k, rows)]

    def search_rows(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, cosine) of the k nearest chunks, best first; among `rows` only, searched exactly, if given."""
        if not self.chunks or k <= 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if rows is None:
            scores, found = self._index.search(query, min(k, len(self)))
            return [(int(r), float(s)) for s, r in zip(scores[0], found[0], strict=True) if r >= 0]
        rows = np.asarray(rows, dtype=np.int64)
        similarities = self._row_similarities(query[0], rows)
        order = np.argsort(-similarities, kind="stable")[:k]
        return [(int(rows[i]), float(similarities[i])) for i in order]

    def exact_search(self, query: np.ndarray, k: int) -> list[ScoredChunk]:
        if not self.chunks or k <= 0:
            return []
        scores = self.vectors() @ np.asarray(query, dtype=np.float32).reshape(-1)
        rows = np.argsort(-scores, kind="stable")[: min(k, len(self))]
        return [ScoredChunk(self.chunks[r], float(scores[r])) for r in rows]

    def keyword_search(self, query: str, k: int, doc_ids: Many[str] | None = None) -> list[ScoredChunk]:
        if not self.chunks:
            return []
        rows = None if doc_ids is None else self._rows_of(doc_ids)
        index = cached(f"bm25:{self.version}", lambda: KeywordIndex([f"{c.header()}\n{c.text}" for c in self.chunks]))
        return [ScoredChunk(self.chunks[r], s) for r, s in index.search(query, k, rows)]

    def similarities(self, query: np.ndarray, chunk_ids: list[str]) -> np.ndarray:
        rows = self._row_map()
        return self._row_similarities(query, np.array([rows[i] for i in chunk_ids], dtype=np.int64))

    def _row_similarities(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        return self._index.reconstruct_batch(rows) @ np.asarray(query, dtype=np.float32).reshape(-1)

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        rows = self._row_map()
        return [self.chunks[rows[i]] for i in ids if i in rows]

    def chunks_of(self, doc_ids: Many[str]) -> list[Chunk]:
        chunks = [self.chunks[r] for r in self._rows_of(doc_ids)]
        return sorted(chunks, key=lambda c: (c.doc_id, c.page or 0, c.start))

    def chunks_on_pages(self, pages: Many[tuple[str, int]]) -> list[Chunk]:
        wanted = set(pages)
        of_documents = (self.chunks[r] for r in self._rows_of({d for d, _ in wanted}))
        chunks = [c for c in of_documents if (c.doc_id, c.page) in wanted]
        return sorted(chunks, key=lambda c: (c.doc_id, c.page or 0, c.start))

    def vectors_of(self, chunk_ids: list[str]) -> np.ndarray:
        rows = self._row_map()
        if not chunk_ids:
            return np.zeros((0, self.config.dimension), dtype=np.float32)
        return self._index.reconstruct_batch(np.array([rows[i] for i in chunk_ids], dtype=np.int64))

    def iter_chunks(self, batch: int = 2000) -> Iterator[tuple[list[Chunk], np.ndarray]]:
        for start in range(0, len(self.chunks), batch):
            stop = min(start + batch, len(self.chunks))
            yield self.chunks[start:stop], self._index.reconstruct_n(start, stop - start)

    def document_profiles(self) -> dict[str, str]:
        return document_profiles(self.chunks)

    def _row_map(self) -> dict[str, int]:
        if self._rows is None:
            self._rows = {c.id: n for n, c in enumerate(self.chunks)}
        return self._rows

    def _rows_of(self, doc_ids: Many[str]) -> np.ndarray:
        if self._doc_rows is None:
            by_doc: dict[str, list[int]] = {}
            for n, c in enumerate(self.chunks):
                by_doc.setdefault(c.doc_id, []).append(n)
            self._doc_rows = by_doc
        return np.array(sorted(r for d in set(doc_ids) for r in self._doc_rows.get(d, [])), dtype=np.int64)

    # Writing -------------------------------------------------------------------------------------

    def commit(
        self,
        *,
        add_chunks: list[Chunk] | None = None,
        add_vectors: np.ndarray | None = None,
        add_documents: list[DocumentInfo] | None = None,
        remove_doc_ids: set[str] | None = None,
        remove_chunk_ids: set[str] | None = None,
    ) -> FaissCollection:
        """Write the next commit and make it live; the caller must hold `writer_lock`.

        Removals apply before additions, so a chunk id that is removed and added again is replaced.
        """
        add_chunks, add_vectors = checked_additions(self.config, str(self.directory), add_chunks, add_vectors)
        remove = remove_doc_ids or set()
        remove_chunks = (remove_chunk_ids or set()) | {c.id for c in add_chunks}
        keep = [i for i, c in enumerate(self.chunks) if c.doc_id not in remove and c.id not in remove_chunks]
        chunks = [self.chunks[i] for i in keep] + add_chunks
        documents = {k: v for k, v in self.documents.items() if k not in remove}
        documents.update({d.doc_id: d for d in add_documents or []})
        if self.is_stale():
            raise IndexStoreError(
                f"The index in {self.directory} changed since this snapshot was loaded; reopen it under the "
                "writer lock and apply the change again."
            )
        collect_garbage(self.directory)  # first, so a dead writer's orphan commit never becomes a fallback
        name = next_free_name(self.directory)
        new, linked, indexes = self._next_segments(keep, chunks, add_chunks, add_vectors)
        try:
            content, layout = write_commit(
                self.directory, name, self.config, documents, new, base=self.commit_name, keep=linked
            )
        except (OSError, RuntimeError) as exc:  # faiss reports write errors as RuntimeError
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
            raise IndexStoreError(
                f"Could not write the index in {self.directory} ({reason}); the previous state is "
                "kept. Free some disk space or fix the folder's permissions, then run the command again."
            ) from exc
        store = FaissCollection(
            self.directory,
            self.config,
            commit_name=name,
            content=content,
            chunks=chunks,
            documents=documents,
            index=indexes,
            ann_threshold=self.ann_threshold,
            layout=layout,
        )
        collect_garbage(self.directory)
        return store

    def _next_segments(
        self, keep: list[int], chunks: list[Chunk], add_chunks: list[Chunk], add_vectors: np.ndarray
    ) -> tuple[NewSegment | None, list[Segment], list[faiss.Index]]:
        """What the next commit writes (a new segment, or none), which of this commit's segments it links, and
        the indexes it searches. Only additions: a new exact segment while the added rows are few
        (`segments.plan`), else this commit's first index extended by the rest; anything else: one index built
        from every kept vector."""
        indexes = self._index.indexes
        only_added = bool(self.chunks) and len(keep) == len(self.chunks) and self._layout is not None
        if only_added and _wants_hnsw(len(chunks), self.ann_threshold) == (self.index_kind == "hnsw"):
            assert self._layout is not None
            if not len(add_vectors):  # documents' details only: every file is linked
                return None, self._layout, indexes
            if plan([i.ntotal for i in indexes], len(add_vectors)) == "append":
                delta = build_index(self.config.dimension, add_vectors, ann_threshold=len(add_vectors))
                return NewSegment(delta, add_chunks), self._layout, [*indexes, delta]
            merged = faiss.clone_index(indexes[0])  # extend a copy of the bulk instead of rebuilding it
            rest = self._index.reconstruct_n(indexes[0].ntotal, len(self.chunks) - indexes[0].ntotal)
            merged.add(np.concatenate([rest, add_vectors]))
            base = self.directory / "commits" / str(self.commit_name)
            return NewSegment(merged, add_chunks, head=[base / s.chunks for s in self._layout]), [], [merged]
        vectors = np.concatenate([self.vectors()[keep], add_vectors]) if chunks else None
        index = build_index(self.config.dimension, vectors, self.ann_threshold)
        return NewSegment(index, chunks), [], [index]


def build_index(dimension: int, vectors: np.ndarray | None, ann_threshold: int = DEFAULT_ANN_THRESHOLD) -> faiss.Index:
    """Inner-product search over unit vectors (cosine similarity): exact when small, an HNSW graph past
    `ann_threshold` vectors."""
    count = 0 if vectors is None else len(vectors)
    if _wants_hnsw(count, ann_threshold):
        index = faiss.IndexHNSWFlat(dimension, _HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = _HNSW_EF_CONSTRUCTION
    else:
        index = faiss.IndexFlatIP(dimension)
    if vectors is not None and count:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _tune(index)
    return index


def _wants_hnsw(count: int, ann_threshold: int) -> bool:
    return count > ann_threshold


def _tune(index: faiss.Index) -> None:
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
