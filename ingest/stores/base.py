"""The store interface: a backend holds named collections; a collection is read as consistent snapshots.

Everything outside `ingest/stores/` sees only these two classes. A chunk is known by its id, never by a row
number, so a backend may keep its chunks wherever it likes: in memory (FAISS) or in a database (Milvus).

Writing is one `commit` per change, made under the collection's writer lock: removals apply before
additions, and readers see either the whole change or none of it, even when the writer is killed.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Collection as Many
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np

from ..errors import IndexStoreError
from ..names import COLLECTION_NAME
from ..types import Chunk, DocumentInfo, ScoredChunk


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """What an index was built with; an index is only ever read or extended with the same config."""

    embedding_model: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    header_tokens: int
    document_prefix: str = ""
    quantization: str = ""
    """How the embedder's weights were quantized (`int8`), when that changes its vectors; empty for full
    precision (torch and ONNX give the same vectors)."""

    def describe(self) -> str:
        quantized = f", {self.quantization} weights" if self.quantization else ""
        return (
            f"embedder {self.embedding_model} ({self.dimension} dimensions{quantized}), chunk_size "
            f"{self.chunk_size}, chunk_overlap {self.chunk_overlap}, header_tokens {self.header_tokens}"
        )


class Collection(ABC):
    """One consistent snapshot of a collection. Read-only; `commit` returns the next snapshot."""

    name: str
    config: IndexConfig
    documents: dict[str, DocumentInfo]
    """doc_id -> what is known about the document; documents are few, so every snapshot holds them."""

    @property
    @abstractmethod
    def version(self) -> str:
        """Names this snapshot: equal versions hold equal content (caches key on it)."""

    @property
    @abstractmethod
    def index_kind(self) -> str:
        """How vectors are searched: `exact`, `hnsw`, or the engine's own index name."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of chunks."""

    def storage_bytes(self) -> int | None:
        """What the snapshot takes on disk, when the backend can tell."""
        return None

    def list_documents(self) -> list[DocumentInfo]:
        return sorted(self.documents.values(), key=lambda d: d.source.lower())

    # Searching -----------------------------------------------------------------------------------

    @abstractmethod
    def search(self, query: np.ndarray, k: int, doc_ids: Many[str] | None = None) -> list[ScoredChunk]:
        """The k chunks nearest a unit query vector, best first, scored by cosine similarity; among the
        chunks of `doc_ids` only (searched exactly) when given."""

    @abstractmethod
    def exact_search(self, query: np.ndarray, k: int) -> list[ScoredChunk]:
        """Like `search`, but always exhaustive: the reference an approximate index is measured against."""

    @abstractmethod
    def keyword_search(self, query: str, k: int, doc_ids: Many[str] | None = None) -> list[ScoredChunk]:
        """The k chunks that best match the query's words (BM25 over text and header), best first, with a
        positive score in the engine's own units; among the chunks of `doc_ids` when given."""

    @abstractmethod
    def similarities(self, query: np.ndarray, chunk_ids: list[str]) -> np.ndarray:
        """Cosine similarity of a unit query vector to these chunks (which must exist), in order."""

    # Fetching ------------------------------------------------------------------------------------

    @abstractmethod
    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        """The chunks with these ids, in the order asked; unknown ids are left out."""

    @abstractmethod
    def chunks_of(self, doc_ids: Many[str]) -> list[Chunk]:
        """Every chunk of these documents, in reading order (document, page, offset)."""

    @abstractmethod
    def chunks_on_pages(self, pages: Many[tuple[str, int]]) -> list[Chunk]:
        """Every chunk on these (doc_id, page) pages, in reading order: what a page-level hit stands for."""

    @abstractmethod
    def vectors_of(self, chunk_ids: list[str]) -> np.ndarray:
        """The stored vectors of these chunks (which must exist), one row each, in order."""

    @abstractmethod
    def iter_chunks(self, batch: int = 2000) -> Iterator[tuple[list[Chunk], np.ndarray]]:
        """Every chunk with its vector, in batches, without holding the whole collection in memory."""

    def all_chunks(self) -> list[Chunk]:
        """Every chunk, in the order the backend keeps them; for small collections, tests and reports."""
        return [chunk for chunks, _ in self.iter_chunks() for chunk in chunks]

    @abstractmethod
    def document_profiles(self) -> dict[str, str]:
        """doc_id -> the document's name, title and opening words: what a question naming it would match."""

    # Change --------------------------------------------------------------------------------------

    @abstractmethod
    def is_stale(self) -> bool:
        """True when a writer has committed since this snapshot was read."""

    @abstractmethod
    def reload_if_stale(self) -> Collection:
        """This snapshot, or the newest one if a writer has committed since."""

    @abstractmethod
    def commit(
        self,
        *,
        add_chunks: list[Chunk] | None = None,
        add_vectors: np.ndarray | None = None,
        add_documents: list[DocumentInfo] | None = None,
        remove_doc_ids: set[str] | None = None,
        remove_chunk_ids: set[str] | None = None,
    ) -> Collection:
        """Apply one change atomically and return the snapshot after it; the caller holds the writer lock.

        Removals apply before additions, so a chunk id that is removed and added again is replaced, and a
        chunk added under an id that exists replaces it. Vectors must be unit length, one per chunk.

        A document added under an id that exists replaces its `DocumentInfo` and keeps its chunks, vectors and
        profile unless they are removed too: a commit of `add_documents` alone corrects what is known about a
        document (`ingest.manage.correct_document`) without reading or embedding anything again.
        """


class Store(ABC):
    """A backend: where collections live (a folder of FAISS commits, a Milvus database or cluster)."""

    kind: str

    @abstractmethod
    def describe(self, name: str | None = None) -> str:
        """Where the store (or one collection of it) lives, for messages."""

    @abstractmethod
    def collection_names(self) -> list[str]:
        """Every collection, empty ones included, without reading any of them."""

    @abstractmethod
    def config_of(self, name: str) -> IndexConfig | None:
        """The config a collection was built with, or None while it has no index."""

    @abstractmethod
    def open(self, name: str, config: IndexConfig, *, create: bool = False) -> Collection:
        """The live snapshot of a collection; an empty one if there is none and `create` is set. A
        collection built with another config is refused with the command that rebuilds it."""

    @abstractmethod
    def open_for_rebuild(self, name: str, config: IndexConfig) -> Collection:
        """A snapshot with no chunks, whose first commit replaces the whole collection, config included.
        Its `documents` are those of the live snapshot, so the caller can report what goes away."""

    @abstractmethod
    def create_collection(self, name: str) -> None:
        """An empty collection, ready for documents; creating one that exists is not an error."""

    @abstractmethod
    def delete_collection(self, name: str, *, lock_timeout: float = 600.0) -> None:
        """Remove a collection and everything in it at once, once no one is writing to it."""

    @abstractmethod
    def writer_lock(self, name: str, timeout: float = 600.0) -> AbstractContextManager[None]:
        """Hold the collection's writer lock; waits up to `timeout` seconds for another writer."""

    def close(self) -> None:  # noqa: B027 - optional: only backends with connections override it
        """Release connections; the store may not be used afterwards."""


#: How many opening words of a document its profile keeps.
PROFILE_WORDS = 300


def document_profiles(chunks: list[Chunk]) -> dict[str, str]:
    """doc_id -> "name words title\nopening words" for each document among `chunks` (any order)."""
    opening: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for chunk in sorted(chunks, key=lambda c: (c.doc_id, c.page or 0, c.start)):
        words = opening.setdefault(chunk.doc_id, [])
        names.setdefault(chunk.doc_id, f"{re.sub(r'[_./-]+', ' ', chunk.source)} {chunk.title}")
        if len(words) < PROFILE_WORDS:
            words += chunk.text.split()
    return {d: f"{names[d]}\n{' '.join(words[:PROFILE_WORDS])}" for d, words in opening.items()}


def checked_name(name: str) -> str:
    """`name` if it is a valid collection name (it names a folder on FAISS), else a clear refusal."""
    if not COLLECTION_NAME.match(name):
        raise IndexStoreError(
            f"{name!r} is not a valid collection name: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def checked_additions(
    config: IndexConfig, where: str, chunks: list[Chunk] | None, vectors: np.ndarray | None
) -> tuple[list[Chunk], np.ndarray]:
    """The chunks and vectors a commit adds, checked: one unit vector of the config's size per chunk, ids
    unique. `where` names the collection in the message."""
    chunks = chunks or []
    vectors = np.zeros((0, config.dimension), dtype=np.float32) if vectors is None else vectors
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    if vectors.shape[1:] != (config.dimension,):
        raise IndexStoreError(
            f"Vectors of shape {vectors.shape} cannot go into {where}, built with {config.describe()}."
        )
    if len({c.id for c in chunks}) != len(chunks):
        raise ValueError("the chunks to add repeat an id")
    return chunks, np.ascontiguousarray(vectors, dtype=np.float32)
