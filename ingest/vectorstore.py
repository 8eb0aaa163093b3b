"""LangChain interop: a collection as a `langchain_core.vectorstores.VectorStore`, and our embedder as
LangChain `Embeddings`.

Every write goes through the same atomic, locked commits as `python -m ingest`, and every read sees the newest
committed snapshot, so LangChain code and the app can share a collection.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from .embed import Embedder
from .errors import IndexStoreError
from .pipeline import index_config
from .settings import Settings
from .stores import DEFAULT_ANN_THRESHOLD, Collection, FaissStore, IndexConfig, Store, open_store
from .types import Chunk

#: Metadata keys a chunk ingested by `python -m ingest` carries when it comes back as a Document.
NATIVE_FIELDS = ("source", "page", "heading", "title", "doc_id", "start", "end")

MetadataFilter = dict[str, Any] | Callable[[dict[str, Any]], bool]


class EmbedderEmbeddings(Embeddings):
    """Our `Embedder` (prefixes, batching, unit vectors) behind LangChain's `Embeddings` interface."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()


class LocalVectorStore(VectorStore):
    """A collection as a LangChain vector store: cosine similarity, atomic commits, no pickle. `directory` is
    a FAISS collection folder; `store=` and `collection=` name a collection of any backend instead.

    `embedding_name` is recorded in the collection's manifest; opening the collection later with another
    name is refused, so vectors of different models never mix. It defaults to the embeddings' class name.
    """

    def __init__(
        self,
        directory: Path | None,
        embedding: Embeddings,
        *,
        store: Store | None = None,
        collection: str | None = None,
        embedding_name: str | None = None,
        config: IndexConfig | None = None,
        ann_threshold: int = DEFAULT_ANN_THRESHOLD,
        lock_timeout: float = 600.0,
    ) -> None:
        if directory is not None:
            store, collection = FaissStore(Path(directory).parent, ann_threshold), Path(directory).name
        if store is None or collection is None:
            raise ValueError("LocalVectorStore needs a directory, or store= and collection=.")
        self._backend, self._collection = store, collection
        self._embedding = embedding
        self._name = config.embedding_model if config else embedding_name or f"langchain:{type(embedding).__name__}"
        self._config = config or store.config_of(collection)
        if self._config is not None and self._config.embedding_model != self._name:
            raise IndexStoreError(
                f"The collection {store.describe(collection)} was built with {self._config.embedding_model}, not "
                f"{self._name}. Vectors from different models are never mixed; use another collection."
            )
        self._lock_timeout = lock_timeout
        self._store: Collection | None = None

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder) -> LocalVectorStore:
        """The collection `python -m ingest` and the app use, with the embedder it was built with."""
        store = open_store(settings)
        built = store.config_of(settings.collection)
        return cls(
            None,
            EmbedderEmbeddings(embedder),
            store=store,
            collection=settings.collection,
            config=index_config(settings, embedder, built),
        )

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        directory: Path | str | None = None,
        **kwargs: Any,
    ) -> LocalVectorStore:
        if directory is None and "store" not in kwargs:
            raise ValueError(
                "LocalVectorStore.from_texts needs directory= (a collection folder), or store= and collection=."
            )
        store = cls(None if directory is None else Path(directory), embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    # Writing -------------------------------------------------------------------------------------

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str | None] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Add (or, for ids already present, replace) texts in one commit; returns their ids."""
        texts = list(texts)
        metadatas = metadatas or [{} for _ in texts]
        chosen = list(ids) if ids is not None else [None] * len(texts)
        if not len(texts) == len(metadatas) == len(chosen):
            raise ValueError(f"{len(texts)} texts, {len(metadatas)} metadatas and {len(chosen)} ids")
        if not texts:
            return []
        final_ids = [i if i else uuid.uuid4().hex for i in chosen]
        latest: dict[str, int] = {i: n for n, i in enumerate(final_ids)}  # the last text wins for a repeated id
        keep = sorted(latest.values())
        chunks = [_to_chunk(final_ids[n], texts[n], metadatas[n]) for n in keep]
        vectors = _unit(self._embedding.embed_documents([texts[n] for n in keep]))
        self._commit(add_chunks=chunks, add_vectors=vectors)
        return final_ids

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        ids = kwargs.pop("ids", None) or [d.id for d in documents]
        return self.add_texts(
            [d.page_content for d in documents], [dict(d.metadata) for d in documents], ids=ids, **kwargs
        )

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool:
        """Remove these ids (unknown ones are ignored); with no ids, remove everything."""
        store = self._snapshot()
        if store is None:
            return True
        if ids is None:
            remove = {c.id for chunks, _ in store.iter_chunks() for c in chunks}
        else:
            remove = {c.id for c in store.get_chunks(list(set(ids)))}
        if remove:
            doomed_docs = set(store.documents) if ids is None else set()
            self._commit(remove_chunk_ids=remove, remove_doc_ids=doomed_docs)
        return True

    # Reading -------------------------------------------------------------------------------------

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        store = self._snapshot()
        return [] if store is None else [_to_document(c) for c in store.get_chunks(list(ids))]

    def similarity_search(
        self, query: str, k: int = 4, filter: MetadataFilter | None = None, **kwargs: Any
    ) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter=filter)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: MetadataFilter | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The k nearest documents and their cosine similarity, best first."""
        if self._snapshot() is None:
            return []
        return self.similarity_search_with_score_by_vector(self._embedding.embed_query(query), k, filter=filter)

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: MetadataFilter | None = None, **kwargs: Any
    ) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score_by_vector(embedding, k, filter=filter)]

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, filter: MetadataFilter | None = None
    ) -> list[tuple[Document, float]]:
        store = self._snapshot()
        if store is None or k <= 0:
            return []
        query = _unit([embedding])[0]
        if filter is None:
            hits = store.search(query, k)
        else:
            keep = _matcher(filter)
            hits = [h for h in store.exact_search(query, len(store)) if keep(_to_document(h.chunk).metadata)][:k]
        return [(_to_document(h.chunk), h.score) for h in hits]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: MetadataFilter | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """k documents that are relevant and differ from each other, picked among the fetch_k nearest."""
        store = self._snapshot()
        if store is None:
            return []
        query = _unit([self._embedding.embed_query(query)])[0]
        candidates = [doc for doc, _ in self.similarity_search_with_score_by_vector(query, fetch_k, filter=filter)]
        if not candidates:
            return []
        vectors = store.vectors_of([d.id for d in candidates if d.id is not None])
        chosen = maximal_marginal_relevance(query, vectors, lambda_mult=lambda_mult, k=k)
        return [candidates[i] for i in chosen]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return lambda similarity: max(0.0, min(1.0, similarity))  # cosine similarity, clipped to [0, 1]

    # Internals -----------------------------------------------------------------------------------

    def _snapshot(self) -> Collection | None:
        """The newest committed snapshot, or None while the collection is empty and never written."""
        if self._store is not None:
            self._store = self._store.reload_if_stale()
            return self._store
        config = self._config or self._backend.config_of(self._collection)
        if config is None:
            return None
        self._config = config
        self._store = self._backend.open(self._collection, config, create=True)
        return self._store

    def _commit(self, **change: Any) -> None:
        with self._backend.writer_lock(self._collection, timeout=self._lock_timeout):
            self._config = self._config or self._backend.config_of(self._collection)
            if self._config is None:
                vectors = change.get("add_vectors")
                if vectors is None:
                    return
                self._config = IndexConfig(self._name, int(vectors.shape[1]), 0, 0, 0)
            store = self._backend.open(self._collection, self._config, create=True)
            self._store = store.commit(**change)


def _to_chunk(chunk_id: str, text: str, metadata: dict[str, Any]) -> Chunk:
    try:
        metadata = json.loads(json.dumps(metadata))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Metadata of {chunk_id!r} must be JSON data (strings, numbers, lists, dicts): {exc}") from exc
    page = metadata.get("page")
    return Chunk(
        id=chunk_id,
        doc_id="",  # not part of an ingested file: its metadata is returned exactly as given
        source=str(metadata.get("source", "")),
        text=text,
        page=page if isinstance(page, int) and not isinstance(page, bool) else None,
        heading=None,
        start=0,
        end=len(text),
        metadata=metadata,
    )


def _to_document(chunk: Chunk) -> Document:
    if chunk.doc_id:  # ingested from a file: say where it came from
        metadata = {name: getattr(chunk, name) for name in NATIVE_FIELDS} | chunk.metadata
    else:
        metadata = dict(chunk.metadata)
    return Document(id=chunk.id, page_content=chunk.text, metadata=metadata)


def _unit(vectors: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    array = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.ascontiguousarray(array / np.where(norms == 0, 1, norms), dtype=np.float32)


def _matcher(filter: MetadataFilter) -> Callable[[dict[str, Any]], bool]:
    if callable(filter):
        return filter
    return lambda metadata: all(metadata.get(key) == value for key, value in filter.items())
