"""What grows with a collection, per store backend: the time to add one document, search latency and the ANN
index's recall@10 against exact search, at the sizes given (synthetic unit vectors, clustered like real
embeddings). The baseline of each row is measured in the same run: writing the whole collection.

    .venv/bin/python scripts/bench_store.py                       # 10k and 100k chunks, FAISS and Milvus Lite
    .venv/bin/python scripts/bench_store.py --sizes 1000000 --backends faiss
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import Chunk, DocumentInfo, IndexConfig, Store
from ingest.stores import FaissStore

DIMENSION = 384
DOCUMENT = 50  # chunks per document
QUERIES = 200
CONFIG = IndexConfig("bench-synthetic", DIMENSION, 180, 40, 48)


def vectors(count: int, rng: np.random.Generator, centers: np.ndarray) -> np.ndarray:
    picked = centers[rng.integers(0, len(centers), count)]
    noisy = picked + 0.35 * rng.standard_normal((count, DIMENSION), dtype=np.float32) / np.sqrt(DIMENSION)
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


def documents(start: int, count: int, vecs: np.ndarray) -> tuple[list[Chunk], list[DocumentInfo]]:
    chunks, infos = [], []
    words = ["revenue", "policy", "vacation", "lease", "margin", "audit", "tariff", "quorum", "pension", "filing"]
    for n in range(start, start + count, DOCUMENT):
        doc_id = f"doc{n // DOCUMENT:08d}"
        size = min(DOCUMENT, start + count - n)
        for i in range(size):
            text = f"{words[(n + i) % 10]} {words[(n * 7 + i) % 10]} item {n + i} of {doc_id}"
            chunks.append(Chunk(f"{doc_id}-{i}", doc_id, f"{doc_id}.md", text, 1, None, i, i + 1))
        infos.append(DocumentInfo(doc_id, f"{doc_id}.md", 1, size, 1000, "2026-01-01", location=f"/bench/{doc_id}"))
    return chunks, infos


def make_store(kind: str, root: Path) -> Store:
    if kind == "milvus":
        from ingest.stores.milvus_store import MilvusStore

        return MilvusStore(str(root / "milvus.db"), root / "locks")
    return FaissStore(root / "index")


def measure(kind: str, size: int, rng: np.random.Generator, centers: np.ndarray) -> dict[str, float]:
    # Each step runs as the commands do: an ingest writes and closes its store, the app opens it afterwards.
    # Closing is timed with the write: Milvus Lite returns from a commit before it has built the indexes of the
    # new rows, and closing waits for them (searching while it builds them is slower, and not what the app does).
    root = Path(tempfile.mkdtemp(prefix=f"bench-store-{kind}-"))
    data = vectors(size, rng, centers)
    chunks, infos = documents(0, size, data)
    started = time.perf_counter()
    store = make_store(kind, root)
    with store.writer_lock("bench"):
        store.open("bench", CONFIG, create=True).commit(add_chunks=chunks, add_vectors=data, add_documents=infos)
    store.close()
    whole = time.perf_counter() - started
    one = vectors(DOCUMENT, rng, centers)
    new_chunks, new_infos = documents(size, DOCUMENT, one)
    started = time.perf_counter()
    store = make_store(kind, root)
    with store.writer_lock("bench"):
        store.open("bench", CONFIG).commit(add_chunks=new_chunks, add_vectors=one, add_documents=new_infos)
    store.close()
    add_one = time.perf_counter() - started
    store = make_store(kind, root)
    snapshot = store.open("bench", CONFIG)
    everything = np.concatenate([data, one])
    queries = vectors(QUERIES, rng, centers)
    truth = np.argsort(-(queries @ everything.T), axis=1)[:, :10]
    ids = [c.id for c in chunks + new_chunks]
    latencies, hybrid, found = [], [], 0
    for q, query in enumerate(queries):
        started = time.perf_counter()
        hits = snapshot.search(query, 10)
        latencies.append(time.perf_counter() - started)
        found += len({h.chunk.id for h in hits} & {ids[r] for r in truth[q]})
        started = time.perf_counter()
        snapshot.search(query, 30)
        snapshot.keyword_search(f"{['revenue', 'lease', 'audit', 'pension'][q % 4]} item", 30)
        hybrid.append(time.perf_counter() - started)
    store.close()
    ms = np.array(latencies) * 1000
    hybrid_ms = np.array(hybrid) * 1000
    return {
        "write_all_s": whole,
        "add_one_s": add_one,
        "share": add_one / whole,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "hybrid_p95_ms": float(np.percentile(hybrid_ms, 95)),
        "recall10": found / (QUERIES * 10),
        "kind": snapshot.index_kind,  # type: ignore[dict-item]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["faiss", "milvus"], choices=["faiss", "milvus"])
    parser.add_argument("--quick", action="store_true", help="10k chunks only (for `make bench`)")
    args = parser.parse_args()
    if args.quick:
        args.sizes = [10_000]
    rng = np.random.default_rng(42)
    centers = rng.standard_normal((1000, DIMENSION), dtype=np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    print(f"{DOCUMENT}-chunk document added to a collection; {QUERIES} queries; baseline: writing the whole collection")
    header = (
        f"{'backend':<8} {'chunks':>9} {'index':<12} {'write all':>10} {'add one':>9} {'share':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'hybrid p95':>10} {'recall@10':>9}"
    )
    print(header)
    for size in args.sizes:
        for kind in args.backends:
            r = measure(kind, size, rng, centers)
            print(
                f"{kind:<8} {size:>9,} {r['kind']:<12} {r['write_all_s']:>9.2f}s {r['add_one_s']:>8.3f}s "
                f"{r['share']:>6.1%} {r['p50_ms']:>7.2f} {r['p95_ms']:>7.2f} {r['hybrid_p95_ms']:>10.2f} "
                f"{r['recall10']:>9.3f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
