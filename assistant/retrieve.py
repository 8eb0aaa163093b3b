"""Retrieval: hybrid search (vectors and BM25, fused by reciprocal rank), optional cross-encoder reranking,
document filters, and the relevance gate that lets the assistant say the documents don't cover a question."""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

from ingest import Chunk, Embedder, ModelError, ScoredChunk, Settings
from ingest import Collection as Snapshot
from ingest.instructions import chunk_instruction_reasons

from .lexical import lexical_index
from .query import search_query
from .statements import asked_statements, statement_chunks

log = logging.getLogger(__name__)

#: The usual constant of reciprocal rank fusion: a document's fused score is the sum of 1 / (RRF_K + rank).
RRF_K = 60
H = TypeVar("H", bound=Hashable)


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
    pages: dict[str, list[Chunk]] = field(default_factory=dict)
    """hit id -> the chunks of its page, in reading order, for the model to read the hit in its page's context
    (`prompt.build_messages`); passages that address the assistant are left out of them."""

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
    store: Snapshot,
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
    if not query.strip() or not len(store):
        return Retrieval(query, [], [], question)
    doc_ids = None
    if sources is not None:
        wanted = set(sources)  # document ids, or names as listed
        doc_ids = {d.doc_id for d in store.documents.values() if d.doc_id in wanted or d.source in wanted}
        if not doc_ids:
            return Retrieval(query, [], [], question)
    searched = search_query(query)  # without "round to two decimals", "base your judgments on ..."
    vector = embedder.embed_query(searched)
    dense = _passages(store.search(vector, 2 * settings.candidates, doc_ids), settings.candidates)
    found = {h.chunk.id: h.chunk for h in dense}
    ranked = [h.chunk.id for h in dense]
    if settings.hybrid:
        lexical = _passages(store.keyword_search(searched, 2 * settings.candidates, doc_ids), settings.candidates)
        found.update((h.chunk.id, h.chunk) for h in lexical)
        ranked = fuse([ranked, [h.chunk.id for h in lexical]])
        # Documents the question names (by file name, title, opening words, or the company, fiscal year, quarter
        # and form they describe themselves with) lift their own chunks.
        profiles = lexical_index(store)
        named = _lifted(ranked, found, profiles.document_ranks(searched) if settings.name_boost > 0 else {})
        period = _lifted(ranked, found, profiles.period_ranks(searched) if settings.period_boost > 0 else {})
        ranked = fuse([ranked, named, period], [1.0, settings.name_boost, settings.period_boost])
        # A question about a figure a financial statement holds lifts that statement's pages of the document
        # ranked first (`statements`): notes and discussion otherwise outrank the statement itself.
        asked = asked_statements(query) if settings.statement_boost > 0 and ranked else set()
        if asked:
            lifted = statement_chunks(store, [found[ranked[0]].doc_id], asked)
            found.update((c.id, c) for c in lifted)
            ranked = fuse([ranked, [c.id for c in lifted]], [1.0, settings.statement_boost])
    if settings.page_ranking:
        ranked = by_page(ranked, found)
    similarity = {h.chunk.id: h.score for h in dense}
    missing = [i for i in ranked if i not in similarity]
    similarity.update(zip(missing, store.similarities(vector, missing).tolist(), strict=True))
    candidates = [ScoredChunk(found[i], float(similarity[i])) for i in ranked]
    if reranker is not None and candidates:
        candidates = _rerank(reranker, searched, candidates)
    hits, withheld = _admit(candidates, settings)
    if max((h.score for h in hits), default=-1.0) < settings.min_score:
        log.info("Best similarity %.2f is under min_score %.2f for %r", _best(hits), settings.min_score, query)
        hits = []
    pages = _pages(store, hits, settings) if settings.page_ranking else {}
    return Retrieval(query, hits, candidates, question, withheld, pages)


def _passages(found: list[ScoredChunk], k: int) -> list[ScoredChunk]:
    """The first k of `found` that have something to say: without chunks that are only heading lines their header
    already carries (a Markdown title the splitter left alone because the paragraph after it was too long for
    one chunk). Such a chunk answers nothing, yet its vector sits at the topic's centre, near every question on
    it: for Chinese questions over the English XQuAD articles these title chunks came first, and vectors alone
    found the answer's paragraph in the top 5 for 0.75 of 300 questions with them, 0.91 without. Each search
    asks for 2k so that k remain."""
    return [h for h in found if not heading_only(h.chunk)][:k]


def heading_only(chunk: Chunk) -> bool:
    """Whether a chunk's text is nothing but Markdown headings (`# Title`) that its header (title and heading
    path) already says."""
    if not chunk.text.lstrip().startswith("#"):  # most chunks: the first line is no heading
        return False
    header = chunk.header()
    lines = [line.strip() for line in chunk.text.splitlines() if line.strip()]
    for line in lines:
        marker = _HEADING_LINE.match(line)
        if marker is None or line[marker.end() :].rstrip(" \t#").strip() not in header:
            return False
    return bool(lines)


#: An ATX heading line's marker, as the chunker reads it (`ingest.chunk`).
_HEADING_LINE = re.compile(r"#{1,6}[ \t]+")


def _pages(store: Snapshot, hits: list[ScoredChunk], settings: Settings) -> dict[str, list[Chunk]]:
    """The chunks on each hit's page (PDF pages; not whole Markdown files), without those that address the
    assistant unless they are let in."""
    paged = [h.chunk for h in hits if h.chunk.page is not None and not h.chunk.metadata.get("where")]
    wanted = {(c.doc_id, c.page) for c in paged}
    if not wanted:
        return {}
    grouped: dict[tuple[str, int | None], list[Chunk]] = {}
    for chunk in store.chunks_on_pages(wanted):
        if settings.include_instruction_passages or not chunk_instruction_reasons(chunk):
            grouped.setdefault((chunk.doc_id, chunk.page), []).append(chunk)
    return {h.chunk.id: grouped[key] for h in hits if (key := (h.chunk.doc_id, h.chunk.page)) in grouped}


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


def fuse(rankings: list[list[H]], weights: list[float] | None = None, k: int = RRF_K) -> list[H]:
    """Weighted reciprocal rank fusion of rankings of the same items, best first (ties: first ranking wins)."""
    scores: dict[H, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])


def _lifted(ranked: list[str], found: dict[str, Chunk], document_rank: dict[str, int]) -> list[str]:
    """The chunks of the documents in `document_rank`, by that rank (stable: fused order within a document)."""
    return sorted((i for i in ranked if found[i].doc_id in document_rank), key=lambda i: document_rank[found[i].doc_id])


def by_page(ranked: list[str], found: dict[str, Chunk]) -> list[str]:
    """Pages ranked instead of chunks ("small to big"): a page ranks where its best chunk does, and that chunk
    stands for it, so the top k are k different pages (the model reads the page around it: `Retrieval.pages`).
    Chunks without a page (Markdown, text) rank on their own. Adding up a page's chunks was measured too: it
    lifts long table pages with many middling chunks over the page that answers (docugami recall@1 0.77 ->
    0.60), so it is not done."""
    seen: set[tuple[str, int] | str] = set()
    kept = []
    for chunk_id in ranked:
        chunk = found[chunk_id]
        key: tuple[str, int] | str = (chunk.doc_id, chunk.page) if chunk.page is not None else chunk_id
        if key not in seen:
            seen.add(key)
            kept.append(chunk_id)
    return kept


def _rerank(reranker: Reranker, query: str, candidates: list[ScoredChunk]) -> list[ScoredChunk]:
    scores = reranker.score(query, [_passage(c.chunk) for c in candidates])
    order = sorted(range(len(candidates)), key=lambda i: -scores[i])
    return [candidates[i] for i in order]


def _passage(chunk: Chunk) -> str:
    return f"{chunk.header()}\n{chunk.text}"


def _best(hits: list[ScoredChunk]) -> float:
    return max((h.score for h in hits), default=-1.0)
