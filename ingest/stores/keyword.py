"""BM25 in process (bm25s, PyStemmer), for backends without a full-text engine of their own (FAISS): the half
of hybrid search that matches exact words, such as names, codes, figures and rare terms that sentence
embeddings blur. The only module that imports bm25s."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import bm25s
import numpy as np
import Stemmer

_STEMMER = Stemmer.Stemmer("english")
_CACHE: OrderedDict[str, object] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHED = 8
T = TypeVar("T")


class KeywordIndex:
    """BM25 over texts, stemmed, English stopwords; results are positions in the list it was built from."""

    def __init__(self, texts: list[str]) -> None:
        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        if texts:
            self._bm25.index(tokens(texts), show_progress=False)

    def search(self, query: str, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(position, BM25 score) of the k best texts with a positive score, best first; among `rows` if
        given."""
        if not self.size or k <= 0:
            return []
        words = tokens([query])[0]
        if not words:
            return []
        scores = self._bm25.get_scores(words)
        if rows is not None:
            mask = np.zeros(self.size, dtype=bool)
            mask[np.asarray(rows, dtype=np.int64)] = True
            scores = np.where(mask, scores, 0.0)
        k = min(k, self.size)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.lexsort((best, -scores[best]))]  # ties: the earlier text first, as a stable sort
        return [(int(r), float(scores[r])) for r in best if scores[r] > 0]


def cached(key: str, build: Callable[[], T]) -> T:
    """What `build()` makes for one snapshot (`key` names it and what is built), made once and shared; the
    last few are kept, so readers of the previous snapshot don't rebuild theirs while a new one is read."""
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]  # type: ignore[no-any-return]
    made = build()
    with _CACHE_LOCK:
        _CACHE[key] = made
        while len(_CACHE) > _CACHED:
            _CACHE.popitem(last=False)
    return made


def tokens(texts: list[str]) -> list[list[str]]:
    """The words BM25 matches on: lowercased, stemmed, without English stopwords. Chinese and Japanese, written
    without spaces, are matched on overlapping pairs of characters (`员工假期` -> `员工 工假 假期`)."""
    texts = [_CJK_RUN.sub(_bigrams, t) if _CJK_RUN.search(t) else t for t in texts]
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)


#: Runs of Han, kana and Hangul characters.
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")


def _bigrams(match: re.Match[str]) -> str:
    run = match.group(0)
    pairs = [run[i : i + 2] for i in range(len(run) - 1)] or [run + run]  # one character alone: doubled to count
    return f" {' '.join(pairs)} "
