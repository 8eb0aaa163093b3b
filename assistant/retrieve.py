"""Retrieval: embed the question, search the index, and keep the chunks that are relevant enough."""

from __future__ import annotations

from dataclasses import dataclass

from ingest import Embedder, IndexStore, ScoredChunk, Settings


@dataclass(frozen=True, slots=True)
class Retrieval:
    """The chunks found for a query: `hits` passed the relevance threshold, `candidates` is everything seen."""

    query: str
    hits: list[ScoredChunk]
    candidates: list[ScoredChunk]

    @property
    def found(self) -> bool:
        return bool(self.hits)


def retrieve(query: str, store: IndexStore, embedder: Embedder, settings: Settings) -> Retrieval:
    """The top-k chunks for `query`, best first; those under `settings.min_score` are not hits."""
    if not query.strip():
        return Retrieval(query, [], [])
    candidates = store.search(embedder.embed_query(query), settings.top_k)
    hits = [c for c in candidates if c.score >= settings.min_score]
    return Retrieval(query, hits, candidates)
