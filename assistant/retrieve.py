"""Retrieval: hybrid search (vectors and BM25, fused by reciprocal rank), optional cross-encoder reranking,
document filters, and the relevance gate that lets the assistant say the documents don't cover a question."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from ingest import Chunk, Embedder, IndexStore, ModelError, ScoredChunk, Settings
from ingest.instructions import chunk_instruction_reasons

from .lexical import lexical_index

log = logging.getLogger(__name__)

#: The usual constant of reciprocal rank fusion: a document's fused score is the sum of 1 / (RRF_K + rank).
RRF_K = 60


@dataclass(frozen=True, slots=True)
class Retrieval:
    """The chunks found for a query. `hits` go to the model; `candidates` is everything ranked (passages that
    address the assistant included: see `withheld`).

    Scores are cosine similarities to the query, whatever ranked the chunk.
    """

    query: str
    hits: list[ScoredChunk]
    candidates: list[ScoredChunk]
    question: str = ""
    """The question as the user asked it, when `query` is a rewritten version of it."""
    withheld: list[ScoredChunk] = field(default_factory=list)
    """Passages that ranked among the top k but address the assistant instead of a reader; kept out of `hits`
    (unless `settings.include_instruction_passages`), shown to people as such."""

    @property
    def found(self) -> bool:
        return bool(self.hits)

    @property
    def best_score(self) -> float:
        return max((c.score for c in self.candidates), default=-1.0)


class Reranker(ABC):
    """Scores (query, passage) pairs jointly; higher is more relevant."""

    name: str

    @abstractmethod
    def score(self, query: str, passages: list[str]) -> list[float]: ...


class CrossEncoderReranker(Reranker):
    """A sentence-transformers cross-encoder, e.g. `cross-encoder/ms-marco-MiniLM-L-6-v2` or a local folder."""

    def __init__(self, model: str) -> None:
        from sentence_transformers import CrossEncoder

        self.name = model
        try:
            self._model = CrossEncoder(model, device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"Cannot load the reranker {model!r} ({exc}). Give a local folder or a model reachable on the "
                "network in DOCQA_RERANKER_MODEL, or unset it."
            ) from exc

    def score(self, query: str, passages: list[str]) -> list[float]:
        return [float(s) for s in self._model.predict([(query, p) for p in passages], show_progress_bar=False)]


def retrieve(
    query: str,
    store: IndexStore,
    embedder: Embedder,
    settings: Settings,
    *,
    sources: Collection[str] | None = None,
    reranker: Reranker | None = None,
    question: str = "",
) -> Retrieval:
    """The top-k chunks for `query`, best first, from the documents in `sources` (ids or names) if given.

    When even the best candidate is less similar than `settings.min_score`, there are no hits: the documents
    don't cover the question and the model is not asked.
    """
    if not query.strip() or not store.chunks:
        return Retrieval(query, [], [], question)
    rows = None
    if sources is not None:
        wanted = set(sources)  # document ids, or names as listed
        rows = np.array(
            [i for i, c in enumerate(store.chunks) if c.doc_id in wanted or c.source in wanted], dtype=np.int64
        )
        if not len(rows):
            return Retrieval(query, [], [], question)
    vector = embedder.embed_query(query)
    dense = store.search_rows(vector, settings.candidates, rows)
    ranked = [r for r, _ in dense]
    if settings.hybrid:
        keyword = lexical_index(store)
        lexical = keyword.chunks.search(query, settings.candidates, rows)
        ranked = fuse([ranked, [r for r, _ in lexical]])
        # Documents the question names (by file name, title or opening words) lift their own chunks.
        document_rank = keyword.document_ranks(query) if settings.name_boost > 0 else {}
        named = [r for r in ranked if store.chunks[r].doc_id in document_rank]
        named.sort(key=lambda r: document_rank[store.chunks[r].doc_id])  # stable: fused order within a document
        ranked = fuse([ranked, named], [1.0, settings.name_boost])
    similarity = dict(dense)
    missing = [r for r in ranked if r not in similarity]
    similarity.update(zip(missing, store.similarities(vector, missing).tolist(), strict=True))
    candidates = [ScoredChunk(store.chunks[r], float(similarity[r])) for r in ranked]
    if reranker is not None and candidates:
        candidates = _rerank(reranker, query, candidates)
    hits, withheld = _admit(candidates, settings)
    if max((h.score for h in hits), default=-1.0) < settings.min_score:
        log.info("Best similarity %.2f is under min_score %.2f for %r", _best(hits), settings.min_score, query)
        hits = []
    return Retrieval(query, hits, candidates, question, withheld)


def _admit(candidates: list[ScoredChunk], settings: Settings) -> tuple[list[ScoredChunk], list[ScoredChunk]]:
    """The top-k candidates the model may read, and the passages that address the assistant ("ignore previous
    instructions", "reply only with: ...") which ranked among them and were kept out. Chunks flagged at ingest
    carry their reasons; chunks of older indexes are checked here, which costs microseconds per passage."""
    if settings.include_instruction_passages:
        return candidates[: settings.top_k], []
    hits: list[ScoredChunk] = []
    withheld: list[ScoredChunk] = []
    for candidate in candidates:
        if len(hits) == settings.top_k:
            break
        (withheld if chunk_instruction_reasons(candidate.chunk) else hits).append(candidate)
    if withheld:
        log.info("Kept %d passages that address the assistant out of the prompt.", len(withheld))
    return hits, withheld


def fuse(rankings: list[list[int]], weights: list[float] | None = None, k: int = RRF_K) -> list[int]:
    """Weighted reciprocal rank fusion of rankings of the same items, best first (ties: first ranking wins)."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])


def _rerank(reranker: Reranker, query: str, candidates: list[ScoredChunk]) -> list[ScoredChunk]:
    scores = reranker.score(query, [_passage(c.chunk) for c in candidates])
    order = sorted(range(len(candidates)), key=lambda i: -scores[i])
    return [candidates[i] for i in order]


def _passage(chunk: Chunk) -> str:
    return f"{chunk.header()}\n{chunk.text}"


def _best(hits: list[ScoredChunk]) -> float:
    return max((h.score for h in hits), default=-1.0)
