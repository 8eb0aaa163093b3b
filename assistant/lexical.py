"""Lexical search: BM25 over the chunks of one snapshot (bm25s), the half of hybrid search that matches exact
words: names, codes, figures and rare terms that sentence embeddings blur."""

from __future__ import annotations

import threading
from collections import OrderedDict

import bm25s
import numpy as np
import Stemmer

from ingest import IndexStore

_STEMMER = Stemmer.Stemmer("english")
_CACHE: OrderedDict[tuple[str, str], LexicalIndex] = OrderedDict()
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


def lexical_index(store: IndexStore) -> LexicalIndex:
    """The BM25 index of this snapshot, built once and shared (the last few snapshots are kept)."""
    key = (str(store.directory), store.commit_name or f"unsaved-{id(store)}")
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    index = LexicalIndex([f"{c.header()}\n{c.text}" for c in store.chunks])
    with _CACHE_LOCK:
        _CACHE[key] = index
        while len(_CACHE) > 4:
            _CACHE.popitem(last=False)
    return index


def _tokens(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)
