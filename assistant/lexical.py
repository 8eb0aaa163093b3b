"""Lexical search: BM25 over the chunks of one snapshot (bm25s), the half of hybrid search that matches exact
words: names, codes, figures and rare terms that sentence embeddings blur."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

import bm25s
import numpy as np
import Stemmer

from ingest import IndexStore

_STEMMER = Stemmer.Stemmer("english")
_CACHE: OrderedDict[tuple[str, str], Lexical] = OrderedDict()
_CACHE_LOCK = threading.Lock()


class LexicalIndex:
    """BM25 over chunk texts and their headers (file name, title, page, heading), stemmed, English stopwords."""

    def __init__(self, texts: list[str]) -> None:
        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        if texts:
            self._bm25.index(_tokens(texts), show_progress=False)

    def search(self, query: str, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, BM25 score) of the k best chunks with a positive score, best first; among `rows` if given."""
        if not self.size or k <= 0:
            return []
        tokens = _tokens([query])[0]
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        if rows is not None:
            mask = np.zeros(self.size, dtype=bool)
            mask[np.asarray(rows, dtype=np.int64)] = True
            scores = np.where(mask, scores, 0.0)
        best = np.argsort(-scores, kind="stable")[:k]
        return [(int(r), float(scores[r])) for r in best if scores[r] > 0]


class Lexical:
    """The keyword side of one snapshot: BM25 over chunks, and document profiles (file name, title and
    opening words of each document) to tell which documents a question names."""

    def __init__(self, store: IndexStore) -> None:
        self.chunks = LexicalIndex([f"{c.header()}\n{c.text}" for c in store.chunks])
        opening: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for chunk in sorted(store.chunks, key=lambda c: (c.doc_id, c.page or 0, c.start)):
            words = opening.setdefault(chunk.doc_id, [])
            names.setdefault(chunk.doc_id, f"{re.sub(r'[_./-]+', ' ', chunk.source)} {chunk.title}")
            if len(words) < _PROFILE_WORDS:
                words += chunk.text.split()
        self.doc_ids = sorted(opening)
        profiles = [f"{names[d]}\n{' '.join(opening[d][:_PROFILE_WORDS])}" for d in self.doc_ids]
        self.documents = LexicalIndex(profiles)
        self._profile_words = [set(words) for words in _tokens(profiles)] if profiles else []

    def document_ranks(self, query: str) -> dict[str, int]:
        """doc_id -> rank (1 = best) of the documents the query names. A name is a run of capitalized words
        (a company, product, person, ticker, quarter); it names the few documents (at most a quarter of the
        collection) whose profile holds all its words. Documents named most often come first."""
        rest = query.strip().split(maxsplit=1)
        phrases = [p for p in (_NAME.findall(rest[1]) if len(rest) == 2 else []) if len(p) > 2]  # not F1, Q3
        if not phrases or len(self.doc_ids) < 2:
            return {}
        limit = max(1, int(_NAMING_SHARE * len(self.doc_ids)))
        counts = [0] * len(self.doc_ids)
        for words in _tokens(phrases):
            holders = [i for i, profile in enumerate(self._profile_words) if words and set(words) <= profile]
            if 0 < len(holders) <= limit:
                for i in holders:
                    counts[i] += 1
        if not any(counts):
            return {}
        scores = dict(self.documents.search(query, len(self.doc_ids)))
        named = sorted((i for i, n in enumerate(counts) if n), key=lambda i: (-counts[i], -scores.get(i, 0.0)))
        return {self.doc_ids[i]: rank for rank, i in enumerate(named, start=1)}


_PROFILE_WORDS = 300
#: A name names documents when at most this share of the collection's documents hold it in their profile.
_NAMING_SHARE = 0.25
#: Runs of capitalized words and acronyms: the names a question may give (its first word is skipped).
_NAME = re.compile(r"\b[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*)*")


def lexical_index(store: IndexStore) -> Lexical:
    """The keyword indexes of this snapshot, built once and shared (the last few snapshots are kept)."""
    key = (str(store.directory), store.commit_name or f"unsaved-{id(store)}")
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    index = Lexical(store)
    with _CACHE_LOCK:
        _CACHE[key] = index
        while len(_CACHE) > 4:
            _CACHE.popitem(last=False)
    return index


def _tokens(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)
