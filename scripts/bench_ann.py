"""Benchmark: the approximate (HNSW) index a large collection switches to, against exact search.

    python scripts/bench_ann.py                       # 100,000 synthetic clustered unit vectors, 384 dimensions
    python scripts/bench_ann.py --collection NAME     # the vectors of a real collection in data/index

Prints recall@10 of HNSW against exact search, and the query latency of both, measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest import Settings  # noqa: E402
from ingest.manage import open_collection  # noqa: E402
from ingest.stores.faiss_collection import DEFAULT_ANN_THRESHOLD, HNSW_EF_SEARCH, build_index  # noqa: E402


def synthetic(count: int, dimension: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 1,000 topics, roughly how sentence embeddings of many documents are spread."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(1000, dimension)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), count)] + 0.6 * rng.normal(size=(count, dimension))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", help="use this collection's vectors instead of synthetic ones")
    parser.add_argument("--index-dir", type=Path, help="where that collection lives (default data/index)")
    parser.add_argument("--count", type=int, default=100_000, help="synthetic vectors (default 100,000)")
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()

    if args.collection:
        overrides = {"index_dir": args.index_dir} if args.index_dir else {}
        vectors = np.concatenate([v for _, v in open_collection(Settings(**overrides), args.collection).iter_chunks()])
        source = f"collection {args.collection}"
    else:
        vectors = synthetic(args.count, 384)
        source = "synthetic clustered vectors"
    rng = np.random.default_rng(1)
    picked = vectors[rng.choice(len(vectors), args.queries, replace=False)]
    queries = picked + 0.3 * rng.normal(size=picked.shape).astype(np.float32) / np.sqrt(vectors.shape[1])
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)

    started = time.perf_counter()
    exact = build_index(vectors.shape[1], vectors, ann_threshold=len(vectors))
    hnsw = build_index(vectors.shape[1], vectors, ann_threshold=0)
    build = time.perf_counter() - started

    def timed(index) -> tuple[np.ndarray, float]:  # type: ignore[no-untyped-def]
        begin = time.perf_counter()
        rows = np.stack([index.search(q.reshape(1, -1), 10)[1][0] for q in queries])  # one query at a time
        return rows, (time.perf_counter() - begin) / len(queries)

    truth, exact_latency = timed(exact)
    approx, hnsw_latency = timed(hnsw)
    recall = np.mean([len(set(a) & set(t)) / 10 for a, t in zip(approx, truth, strict=True)])
    print(f"vectors:          {len(vectors):,} x {vectors.shape[1]} ({source}); {args.queries} queries")
    print(f"switch threshold: {DEFAULT_ANN_THRESHOLD:,} chunks; HNSW efSearch {HNSW_EF_SEARCH}")
    print(f"index build:      {build:.1f} s for both")
    print(f"recall@10:        {recall:.3f} (HNSW against exact search)")
    print(
        f"latency/query:    exact {exact_latency * 1e3:.2f} ms, HNSW {hnsw_latency * 1e3:.2f} ms "
        f"({exact_latency / hnsw_latency:.1f}x faster)"
    )


if __name__ == "__main__":
    main()
