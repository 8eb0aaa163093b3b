"""Benchmark: retrieval latency at scale, hybrid search included, against exact search measured in the same run.

    python scripts/bench_retrieval.py                       # 10k and 100k chunks
    python scripts/bench_retrieval.py --sizes 10000,100000,1000000   # 1M: minutes to build the HNSW graph

Synthetic clustered unit vectors (`bench_ann.synthetic`) stand in for the embeddings, and synthetic texts drawn
from a Zipf vocabulary for the chunks' words. Each query is searched one at a time, as the app does: the vector
index the store picks for that size (exact up to its threshold, HNSW past it), BM25 over every chunk
(`ingest.stores.keyword`), and both fused by reciprocal rank. Recall@10 is the vector index's against exact
search. Nothing is cached on disk.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ann import DEFAULT_ANN_THRESHOLD, HNSW_EF_SEARCH, build_index, synthetic

from ingest.stores.keyword import KeywordIndex

VOCABULARY = 30_000
WORDS_PER_CHUNK = 60
TARGETS = {100_000: 0.050, 1_000_000: 0.150}  # p95 seconds, hybrid


def synthetic_texts(count: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Chunks of Zipf-distributed made-up words (so BM25 sees common and rare terms), and the vocabulary."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}x" for i in range(VOCABULARY)])
    ids = np.minimum(rng.zipf(1.2, size=(count, WORDS_PER_CHUNK)) - 1, VOCABULARY - 1)
    return [" ".join(row) for row in words[ids]], words


def fuse(*rankings: list[int], k: int = 60) -> list[int]:
    """Reciprocal rank fusion, as retrieval does."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda r: -scores[r])


def percentiles(seconds: list[float]) -> str:
    p50, p95 = np.percentile(np.asarray(seconds) * 1e3, [50, 95])
    return f"p50 {p50:7.2f} ms  p95 {p95:7.2f} ms"


def bench(size: int, queries: int, candidates: int) -> None:
    started = time.perf_counter()
    vectors = synthetic(size, 384)
    texts, words = synthetic_texts(size)
    made = time.perf_counter()
    index = build_index(384, vectors)
    exact = build_index(384, vectors, ann_threshold=size) if size > DEFAULT_ANN_THRESHOLD else index
    built = time.perf_counter()
    keywords = KeywordIndex(texts)
    indexed = time.perf_counter()
    del texts

    rng = np.random.default_rng(1)
    picked = vectors[rng.choice(size, queries, replace=False)]
    query_vectors = picked + 0.3 * rng.normal(size=picked.shape).astype(np.float32) / np.sqrt(384)
    query_vectors = (query_vectors / np.linalg.norm(query_vectors, axis=1, keepdims=True)).astype(np.float32)
    query_texts = [" ".join(rng.choice(words[:5000], 8)) for _ in range(queries)]

    vector_s, keyword_s, hybrid_s, recalls = [], [], [], []
    for vector, text in zip(query_vectors, query_texts, strict=True):
        begin = time.perf_counter()
        found = index.search(vector.reshape(1, -1), candidates)[1][0]
        middle = time.perf_counter()
        lexical = [row for row, _ in keywords.search(text, candidates)]
        fused = fuse(found.tolist(), lexical)[:10]
        end = time.perf_counter()
        vector_s.append(middle - begin)
        keyword_s.append(end - middle)
        hybrid_s.append(end - begin)
        assert fused
        truth = exact.search(vector.reshape(1, -1), 10)[1][0]
        recalls.append(len(set(found[:10].tolist()) & set(truth.tolist())) / 10)
    kind = f"HNSW (efSearch {HNSW_EF_SEARCH})" if size > DEFAULT_ANN_THRESHOLD else "exact (flat)"
    print(f"\n## {size:,} chunks: {kind}; {queries} queries, {candidates} candidates per search")
    print(
        f"build: synthetic data {made - started:.1f} s, vector index {built - made:.1f} s, BM25 {indexed - built:.1f} s"
    )
    print(f"vector   {percentiles(vector_s)}   recall@10 vs exact {np.mean(recalls):.3f} (goal >= 0.95)")
    print(f"BM25     {percentiles(keyword_s)}")
    print(f"hybrid   {percentiles(hybrid_s)}", end="")
    target = TARGETS.get(size)
    if target is not None:
        p95 = float(np.percentile(hybrid_s, 95))
        print(f"   goal p95 <= {target * 1e3:.0f} ms: {'met' if p95 <= target else 'NOT met'}", end="")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated chunk counts (default 10k,100k)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=30, help="what each search proposes (DOCQA_CANDIDATES)")
    parser.add_argument("--quick", action="store_true", help="10k and 100k, 100 queries")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes, args.queries = [10_000, 100_000], 100
    for size in sizes:
        bench(size, args.queries, args.candidates)


if __name__ == "__main__":
    main()
