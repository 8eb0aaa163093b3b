"""One snapshot of a Milvus collection: reads at a fixed generation, and the commit that makes the next one
(the protocol is described in `milvus_store.py`)."""

from __future__ import annotations

import json
from collections.abc import Collection as Many
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import IndexStoreError
from ..types import Chunk, DocumentInfo, ScoredChunk
from .base import Collection, IndexConfig, checked_additions
from .keyword import tokens
from .milvus_schema import (
    HNSW_EF,
    MAX_ID,
    MAX_VARCHAR,
    create_chunks,
    create_docs,
    dummy,
    query_all,
    quoted,
    visible,
)

if TYPE_CHECKING:
    from .milvus_store import MilvusStore

_BATCH = 1_000


class MilvusCollection(Collection):
    def __init__(
        self,
        store: MilvusStore,
        name: str,
        config: IndexConfig,
        *,
        head: dict[str, Any] | None,
        rebuild: bool = False,
        documents: dict[str, DocumentInfo] | None = None,
    ) -> None:
        self.store = store
        self.name = name
        self.config = config
        self.head = head
        self.gen = int(head["gen"]) if head else 0
        self.physical: str | None = head.get("physical") if head else None
        self.rebuild = rebuild
        self._size: int | None = 0 if rebuild or not self.physical else (head or {}).get("count")
        self._profiles: dict[str, str] | None = None
        if documents is not None or rebuild or not self.physical:
            self.documents = dict(documents or {})
        else:
            store.loaded(self.physical)
            self.documents, self._profiles = self._read_documents()

    @property
    def _client(self) -> Any:
        return self.store.client

    @property
    def _empty(self) -> bool:
        return self.rebuild or not self.physical

    @property
    def version(self) -> str:
        return f"{self.store.uri}#{self.name}@{self.physical}:{self.gen}"

    @property
    def index_kind(self) -> str:
        return "milvus hnsw"

    def __len__(self) -> int:
        if self._size is None:  # a head without its count: count distinct chunks
            self._size = sum(len(chunks) for chunks, _ in self.iter_chunks())
        return self._size

    def _read_documents(self) -> tuple[dict[str, DocumentInfo], dict[str, str]]:
        documents, profiles = {}, {}
        for row in query_all(self._client, f"{self.physical}_docs", visible(self.gen), ["info", "profile"]):
            info = DocumentInfo.from_json(json.loads(row["info"]))
            documents[info.doc_id] = info
            profiles[info.doc_id] = row["profile"]
        return documents, profiles

    # Searching -----------------------------------------------------------------------------------

    def _filter(self, doc_ids: Many[str] | None) -> str:
        expression = visible(self.gen)
        return expression if doc_ids is None else f"{expression} and doc_id in {quoted(set(doc_ids))}"

    def search(self, query: np.ndarray, k: int, doc_ids: Many[str] | None = None) -> list[ScoredChunk]:
        if self._empty or k <= 0 or (doc_ids is not None and not doc_ids):
            return []
        hits = self._client.search(
            self.physical, data=[np.asarray(query, dtype=np.float32).reshape(-1).tolist()], anns_field="vector",
            limit=min(2 * k, 16_384), filter=self._filter(doc_ids), output_fields=["data"],
            search_params={"metric_type": "IP", "params": {"ef": max(HNSW_EF, 2 * k)}},
        )  # fmt: skip
        return _distinct([ScoredChunk(_chunk(h["entity"]["data"]), float(h["distance"])) for h in hits[0]])[:k]

    def exact_search(self, query: np.ndarray, k: int) -> list[ScoredChunk]:
        if self._empty or k <= 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        best: list[ScoredChunk] = []
        for chunks, vectors in self.iter_chunks():
            scores = vectors @ query
            best += [ScoredChunk(c, float(s)) for c, s in zip(chunks, scores, strict=True)]
            best = sorted(best, key=lambda h: -h.score)[:k]
        return best

    def keyword_search(self, query: str, k: int, doc_ids: Many[str] | None = None) -> list[ScoredChunk]:
        words = " ".join(tokens([query])[0])
        if self._empty or k <= 0 or not words or (doc_ids is not None and not doc_ids):
            return []
        hits = self._client.search(
            self.physical, data=[words], anns_field="sparse", limit=min(2 * k, 16_384),
            filter=self._filter(doc_ids), output_fields=["data"], search_params={"metric_type": "BM25"},
        )  # fmt: skip
        scored = [ScoredChunk(_chunk(h["entity"]["data"]), abs(float(h["distance"]))) for h in hits[0]]
        return _distinct([h for h in scored if h.score > 0])[:k]

    def similarities(self, query: np.ndarray, chunk_ids: list[str]) -> np.ndarray:
        return self.vectors_of(chunk_ids) @ np.asarray(query, dtype=np.float32).reshape(-1)

    # Fetching ------------------------------------------------------------------------------------

    def _rows(self, ids: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        if self._empty:
            return found
        for start in range(0, len(ids), _BATCH):
            expression = f"{visible(self.gen)} and chunk_id in {quoted(set(ids[start : start + _BATCH]))}"
            for row in self._client.query(self.physical, filter=expression, output_fields=["chunk_id", *fields]):
                found[row["chunk_id"]] = row
        return found

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        rows = self._rows(ids, ["data"])
        return [_chunk(rows[i]["data"]) for i in ids if i in rows]

    def chunks_of(self, doc_ids: Many[str]) -> list[Chunk]:
        if self._empty or not doc_ids:
            return []
        rows = query_all(self._client, self.physical, self._filter(doc_ids), ["pk", "data"])
        distinct = {r["pk"]: r["data"] for r in rows}
        return sorted((_chunk(d) for d in distinct.values()), key=lambda c: (c.doc_id, c.page or 0, c.start))

    def chunks_on_pages(self, pages: Many[tuple[str, int]]) -> list[Chunk]:
        wanted = set(pages)  # pages live inside each chunk's JSON: the documents are filtered, then the pages
        return [c for c in self.chunks_of({d for d, _ in wanted}) if (c.doc_id, c.page) in wanted]

    def vectors_of(self, chunk_ids: list[str]) -> np.ndarray:
        rows = self._rows(chunk_ids, ["vector"])
        if not chunk_ids:
            return np.zeros((0, self.config.dimension), dtype=np.float32)
        return np.array([rows[i]["vector"] for i in chunk_ids], dtype=np.float32)

    def iter_chunks(self, batch: int = 2000) -> Iterator[tuple[list[Chunk], np.ndarray]]:
        if self._empty:
            return
        chunks, vectors, seen = [], [], set()
        for row in query_all(self._client, self.physical, visible(self.gen), ["pk", "data", "vector"]):
            if row["pk"] in seen:
                continue
            seen.add(row["pk"])
            chunks.append(_chunk(row["data"]))
            vectors.append(row["vector"])
            if len(chunks) == batch:
                yield chunks, np.array(vectors, dtype=np.float32)
                chunks, vectors = [], []
        if chunks:
            yield chunks, np.array(vectors, dtype=np.float32)

    def document_profiles(self) -> dict[str, str]:
        if self._profiles is None:
            self._profiles = {} if self._empty else self._read_documents()[1]
        return self._profiles

    # Change --------------------------------------------------------------------------------------

    def is_stale(self) -> bool:
        head = self.store.head(self.name)
        return (head or {}).get("gen", 0) != self.gen or (head or {}).get("physical") != self.physical

    def reload_if_stale(self) -> MilvusCollection:
        if not self.is_stale():
            return self
        return self.store.open(self.name, self.config, create=True)

    def commit(
        self,
        *,
        add_chunks: list[Chunk] | None = None,
        add_vectors: np.ndarray | None = None,
        add_documents: list[DocumentInfo] | None = None,
        remove_doc_ids: set[str] | None = None,
        remove_chunk_ids: set[str] | None = None,
    ) -> MilvusCollection:
        from .milvus_commit import apply_commit

        add_chunks, add_vectors = checked_additions(
            self.config, self.store.describe(self.name), add_chunks, add_vectors
        )
        if self.is_stale():
            raise IndexStoreError(
                f"The collection {self.store.describe(self.name)} changed since this snapshot was read; reopen "
                "it under the writer lock and apply the change again."
            )
        head = apply_commit(
            self, add_chunks, add_vectors, add_documents or [],
            remove_doc_ids or set(), remove_chunk_ids or set(),
        )  # fmt: skip
        return MilvusCollection(self.store, self.name, self.config, head=head)


def lexical_texts(chunks: list[Chunk]) -> list[str]:
    """What Milvus's BM25 indexes for each chunk: its header and text as our keyword tokens (stemmed, without
    stopwords), so the engine scores the same words the FAISS backend's BM25 does."""
    return [" ".join(words) for words in tokens([f"{c.header()}\n{c.text}" for c in chunks])] if chunks else []


def chunk_row(chunk: Chunk, vector: np.ndarray, gen: int, lexical: str) -> dict[str, Any]:
    data = json.dumps(chunk.to_json(), ensure_ascii=False)
    if len(chunk.id.encode()) > MAX_ID or max(len(data.encode()), len(lexical.encode())) > MAX_VARCHAR:
        raise IndexStoreError(
            f"A passage of {chunk.source or chunk.id[:40]!r} is too large for Milvus ({len(data.encode())} bytes "
            f"with its metadata; at most {MAX_VARCHAR}, and ids of at most {MAX_ID} bytes)."
        )
    return {
        "pk": f"{gen}:{chunk.id}", "chunk_id": chunk.id, "doc_id": chunk.doc_id, "gen": gen, "removed": 0,
        "lexical": lexical, "data": data, "vector": vector.tolist(),
    }  # fmt: skip


def doc_row(info: DocumentInfo, profile: str, gen: int) -> dict[str, Any]:
    return {
        "pk": f"{gen}:{info.doc_id}", "doc_id": info.doc_id, "gen": gen, "removed": 0,
        "info": json.dumps(info.to_json(), ensure_ascii=False), "profile": profile[: MAX_VARCHAR // 4], "v": dummy(),
    }  # fmt: skip


def new_physical(collection: MilvusCollection) -> str:
    name = collection.store.new_physical(collection.name)
    create_chunks(collection.store.client, name, collection.config.dimension)
    create_docs(collection.store.client, f"{name}_docs")
    return name


def _chunk(data: str) -> Chunk:
    return Chunk.from_json(json.loads(data))


def _distinct(hits: list[ScoredChunk]) -> list[ScoredChunk]:
    """Each chunk once, best first. Milvus Lite can hold a row twice after a crash (its recovery may replay a
    write that had already been flushed); a row's copies are identical, so the first is kept."""
    seen: set[str] = set()
    return [h for h in hits if not (h.chunk.id in seen or seen.add(h.chunk.id))]
