"""The vectors of a FAISS collection as a few segments searched as one: the bulk in one index (an HNSW graph past
the ANN threshold) and the documents added since in small exact ones, so adding a document writes only its own
rows. `plan` decides when the segments are merged back into one."""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

#: Added rows kept in separate exact segments while they are at most this share of the first segment's rows.
DELTA_SHARE = 0.10
#: And while there are at most this many segments; past either, the next addition merges them.
MAX_SEGMENTS = 16


@dataclass(frozen=True, slots=True)
class Segment:
    """A segment's files in a commit folder: its FAISS index and its chunks (one JSON line per row, in order)."""

    vectors: str
    chunks: str
    count: int


def plan(sizes: list[int], added: int) -> str:
    """`append` (write the added rows as a new segment) or `merge` (write one segment with every row)."""
    if not sizes or not sizes[0]:
        return "merge"
    delta = sum(sizes[1:]) + added
    return "append" if delta <= DELTA_SHARE * sizes[0] and len(sizes) < MAX_SEGMENTS else "merge"


class Segments:
    """Several FAISS indexes over consecutive row ranges, searched and read as one index of all the rows."""

    def __init__(self, indexes: list[faiss.Index]) -> None:
        self.indexes = list(indexes)
        self.offsets = np.cumsum([0] + [i.ntotal for i in self.indexes])
        self.d = self.indexes[0].d

    @property
    def ntotal(self) -> int:
        return int(self.offsets[-1])

    @property
    def first(self) -> faiss.Index:
        return self.indexes[0]

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows), each of shape (1, k), best first; rows of -1 pad when there are fewer."""
        if len(self.indexes) == 1:
            return self.first.search(query, k)
        scores, rows = [], []
        for index, offset in zip(self.indexes, self.offsets, strict=False):
            found_scores, found = index.search(query, min(k, index.ntotal))
            keep = found[0] >= 0
            scores.append(found_scores[0][keep])
            rows.append(found[0][keep] + offset)
        all_scores, all_rows = np.concatenate(scores), np.concatenate(rows)
        order = np.argsort(-all_scores, kind="stable")[:k]
        return all_scores[order].reshape(1, -1), all_rows[order].reshape(1, -1)

    def reconstruct_n(self, start: int, count: int) -> np.ndarray:
        stop = start + count
        parts = []
        for index, offset in zip(self.indexes, self.offsets, strict=False):
            low, high = max(start, int(offset)), min(stop, int(offset) + index.ntotal)
            if low < high:
                parts.append(index.reconstruct_n(low - int(offset), high - low))
        return np.concatenate(parts) if parts else np.zeros((0, self.d), dtype=np.float32)

    def reconstruct_batch(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if len(self.indexes) == 1:
            return self.first.reconstruct_batch(rows)
        out = np.empty((len(rows), self.d), dtype=np.float32)
        which = np.searchsorted(self.offsets, rows, side="right") - 1
        for segment in np.unique(which):
            mask = which == segment
            out[mask] = self.indexes[segment].reconstruct_batch(rows[mask] - self.offsets[segment])
        return out
