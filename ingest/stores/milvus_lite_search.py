"""Milvus Lite's searches without their per-row Python loops.

Milvus Lite 3.x is a pure-Python engine (Parquet segments, one FAISS index per segment, BM25 in Python). Its
search does the vector part in FAISS, but first decides which rows are live by walking *every row of every
segment* in Python: it builds a dict of the highest sequence number per primary key across all sources, then
tests each row against that dict and the tombstones (`execute_search_with_index` for vectors,
`Collection._search_sparse` for BM25). That walk, not HNSW nor our generation filter (answered from the
scalar indexes in well under a millisecond), is what made a search cost about 0.5 µs per stored row: 50–100 ms
at 100k chunks on an idle machine, several times that under load, about a second at 1M.

This module replaces both in the engine running in our process with code that returns the same rows:

* which rows win among the (immutable) segments is computed once per set of segments, with set operations on
  the primary-key dicts each segment already keeps, and cached while that set is current;
* per search only what changes is applied: the primary keys in the write buffer (memtable), tombstones and
  pending deletes, each looked up in the segments' dicts; then the filter masks (from the scalar indexes),
  FAISS or BM25 scoring, merging and materializing as the engine does them.

Only for the version it was written against (`SUPPORTED`); any other Milvus Lite keeps its own search (slow but
correct), and so does a segment set in which one segment repeats a primary key. A Milvus server, or a Lite file
served by `python -m milvus_lite server`, runs in another process and is not touched; `python -m
ingest.stores.milvus_lite_search server ...` serves one with it.
`tests/test_milvus_lite_search.py` checks both against the engine's own on upserted, deleted and unflushed rows.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SUPPORTED = {"3.2.2"}
_CACHED_SETS = 16

_installed = False
_install_lock = threading.Lock()
_cache_lock = threading.Lock()
#: segment set -> (weak references to each segment's seqs array, winner mask per segment)
_winners_cache: OrderedDict[tuple[int, ...], tuple[tuple[Any, ...], list[np.ndarray]]] = OrderedDict()
_original: Any = None


def install() -> bool:
    """Put the fast search into this process's Milvus Lite engine (idempotent). False when the installed
    Milvus Lite is not a version this was checked against; it then keeps its own search."""
    global _installed, _original, _original_sparse, _original_bm25
    with _install_lock:
        if _installed:
            return True
        try:
            from importlib.metadata import version

            found = version("milvus-lite")
            import milvus_lite.engine.collection as engine
            import milvus_lite.search.executor_indexed as executor
            from milvus_lite.index.sparse_inverted import SparseInvertedIndex
        except Exception:  # not installed, or laid out differently
            return False
        if (
            found not in SUPPORTED
            or engine.execute_search_with_index is not executor.execute_search_with_index
            or engine.Collection._search_sparse.__module__ != engine.__name__
            or SparseInvertedIndex.search.__module__ != SparseInvertedIndex.__module__
        ):
            log.info("Milvus Lite %s keeps its own search (the fast path is checked against %s).", found, SUPPORTED)
            return False
        _original = executor.execute_search_with_index
        _original_sparse = engine.Collection._search_sparse
        _original_bm25 = SparseInvertedIndex.search
        engine.execute_search_with_index = execute_search_with_index
        engine.Collection._search_sparse = _search_sparse
        SparseInvertedIndex.search = _bm25_search
        _installed = True
        return True


def _winners(segments: tuple[Any, ...]) -> list[np.ndarray] | None:
    """Per segment, a read-only mask of the rows whose sequence number is the highest of their primary key
    among `segments`; None if a segment holds a primary key twice (left to the engine's own search)."""
    if any(len(s.pk_to_row) != s.num_rows for s in segments):
        return None
    key = tuple(id(s) for s in segments)
    with _cache_lock:
        hit = _winners_cache.get(key)
        if hit is not None and all(ref() is s.seqs for ref, s in zip(hit[0], segments, strict=True)):
            _winners_cache.move_to_end(key)
            return hit[1]
    masks = [np.ones(s.num_rows, dtype=bool) for s in segments]
    seen: set[Any] = set()
    repeated: set[Any] = set()
    for s in segments:
        keys = s.pk_to_row.keys()
        repeated |= keys & seen
        seen |= keys
    del seen
    for pk in repeated:
        places = [(i, s.pk_to_row[pk]) for i, s in enumerate(segments) if pk in s.pk_to_row]
        best = max(int(segments[i].seqs[r]) for i, r in places)
        for i, r in places:
            if int(segments[i].seqs[r]) != best:
                masks[i][r] = False
    for mask in masks:
        mask.setflags(write=False)
    with _cache_lock:
        _winners_cache[key] = (tuple(weakref.ref(s.seqs) for s in segments), masks)
        while len(_winners_cache) > _CACHED_SETS:
            _winners_cache.popitem(last=False)
    return masks


def execute_search_with_index(
    query_vectors: np.ndarray,
    segments: Any,
    memtable: Any,
    delta_index: Any,
    top_k: int,
    metric_type: str,
    pk_field: str,
    vector_field: str,
    partition_names: list[str] | None = None,
    compiled_filter: Any = None,
    output_fields: list[str] | None = None,
    indexed_filter_plan: Any = None,
    project_record_fn: Any = None,
    search_params: dict[str, Any] | None = None,
) -> list[list[dict[str, Any]]]:
    """Same arguments and results as Milvus Lite's `execute_search_with_index`."""
    from milvus_lite.index.brute_force import BruteForceIndex

    segments = tuple(segments)
    if query_vectors.ndim == 1:
        query_vectors = query_vectors.reshape(1, -1)
    if query_vectors.dtype != np.float32:
        query_vectors = query_vectors.astype(np.float32, copy=False)
    nq = int(query_vectors.shape[0])
    if nq == 0 or top_k <= 0:
        return [[] for _ in range(nq)]
    scope = set(partition_names) if partition_names else None
    in_scope = tuple(s for s in segments if s.num_rows > 0 and (scope is None or s.partition in scope))
    winners = _winners(in_scope)
    if winners is None:
        return _original(  # type: ignore[no-any-return]
            query_vectors, segments, memtable, delta_index, top_k, metric_type, pk_field, vector_field,
            partition_names, compiled_filter, output_fields, indexed_filter_plan, project_record_fn, search_params,
        )  # fmt: skip
    mt_pks, mt_seqs, mt_vecs, mt_row_refs, mt_table = memtable.to_search_snapshot(
        vector_field=vector_field, partition_names=partition_names, include_table=compiled_filter is not None
    )
    if not in_scope and not mt_pks:
        return [[] for _ in range(nq)]
    mt_deletes = memtable.delete_index_snapshot()  # {pk: (seq, partition)}, not yet in delta_index

    # Which rows are live: the winners among segments, less rows the memtable holds a newer version of, less
    # rows a tombstone or a pending delete shadows. The engine's rule: a row is live if its seq is the highest
    # of its pk across all sources in scope, and no delete of that pk has a higher seq.
    mt_seq_list = [int(q) for q in mt_seqs.tolist()]
    mt_max: dict[Any, int] = {}
    for pk, seq in zip(mt_pks, mt_seq_list, strict=True):
        if seq > mt_max.get(pk, -1):
            mt_max[pk] = seq
    seg_max: dict[Any, int] = {}
    shadows = [*delta_index._map.items(), *((pk, entry[0]) for pk, entry in mt_deletes.items())]
    masks = []
    for s, won in zip(in_scope, winners, strict=True):
        mask = won.copy()
        find, seqs = s.pk_to_row.get, s.seqs
        for pk, newest in mt_max.items():
            row = find(pk)
            if row is not None:
                seq = int(seqs[row])
                if seq < newest:
                    mask[row] = False
                if seq > seg_max.get(pk, -1):
                    seg_max[pk] = seq
        for pk, deleted in shadows:
            row = find(pk)
            if row is not None and deleted > int(seqs[row]):
                mask[row] = False
        masks.append(mask)
    mt_mask = np.zeros(len(mt_pks), dtype=bool)
    for i, (pk, seq) in enumerate(zip(mt_pks, mt_seq_list, strict=True)):
        pending = mt_deletes.get(pk)
        mt_mask[i] = (
            max(mt_max[pk], seg_max.get(pk, -1)) == seq
            and not delta_index.is_deleted(pk, seq)
            and not (pending is not None and pending[0] > seq)
        )
    if compiled_filter is not None:
        from milvus_lite.search.filter import evaluate_mask
        from milvus_lite.search.indexed_filter import evaluate_segment_filter

        for i, s in enumerate(in_scope):
            masks[i] &= evaluate_segment_filter(s, compiled_filter, indexed_filter_plan).astype(bool, copy=False)
        if mt_pks and mt_table is not None:
            mt_mask &= evaluate_mask(compiled_filter, mt_table).astype(bool, copy=False)

    candidates: list[list[tuple[float, int, int]]] = [[] for _ in range(nq)]

    def recall(source: int, vectors: np.ndarray, mask: np.ndarray, index: Any) -> None:
        if not mask.any():
            return
        if index is None:
            index = BruteForceIndex.build(vectors, metric_type)
        ids, distances = index.search(
            query_vectors, top_k, valid_mask=None if mask.all() else mask, params=search_params
        )
        for q in range(nq):
            for j in range(top_k):
                local = int(ids[q, j])
                if local < 0:
                    break
                candidates[q].append((float(distances[q, j]), source, local))

    for i, s in enumerate(in_scope):
        vectors, null_mask = s.vector_data(vector_field)
        recall(i, vectors, masks[i] if null_mask is None else masks[i] & null_mask, s.indexes.get(vector_field))
    if mt_pks:
        recall(len(in_scope), mt_vecs, mt_mask, None)

    if project_record_fn is not None:
        project = project_record_fn
    elif output_fields is None:

        def project(record: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in record.items() if k not in (pk_field, vector_field)}

    else:
        keep = set(output_fields) - {pk_field}

        def project(record: dict[str, Any]) -> dict[str, Any]:
            return {k: record[k] for k in keep if k in record}

    results = []
    for q in range(nq):
        hits = []
        for distance, source, local in sorted(candidates[q])[:top_k]:
            if source < len(in_scope):
                record = in_scope[source].row_to_dict(local)
                pk = record[pk_field] if pk_field in record else in_scope[source].pks[local]
            else:
                batch, row = mt_row_refs[local]
                record = memtable.materialize_row(batch, row)
                pk = record[pk_field] if pk_field in record else mt_pks[local]
            hits.append({"id": pk, "distance": distance, "entity": project(record)})
        results.append(hits)
    return results


def _search_sparse(
    self: Any,
    query_vectors: list[Any],
    vector_field: str,
    top_k: int,
    metric_type: str,
    partition_names: list[str] | None,
    expr: str | None,
    output_fields: list[str] | None,
    timezone: str | None = None,
) -> list[list[dict[str, Any]]]:
    """Milvus Lite's `Collection._search_sparse` (BM25 and sparse search) with the same live-row rule computed
    as in `execute_search_with_index`; the scoring, merging and materializing below are the engine's own."""
    from milvus_lite.analyzer.sparse import bytes_to_sparse
    from milvus_lite.constants import ALL_PARTITIONS
    from milvus_lite.engine.projection import build_projection_plan, project_record
    from milvus_lite.index.sparse_factory import (
        _search_prepared_sparse_index,
        create_sparse_index,
        sparse_index_matches,
    )

    seg_snapshot, delta_snap = self._read_snapshot()
    live = tuple(s for s in seg_snapshot if s.num_rows > 0)
    winners = _winners(live)
    if winners is None:
        return _original_sparse(  # type: ignore[no-any-return]
            self, query_vectors, vector_field, top_k, metric_type, partition_names, expr, output_fields, timezone
        )
    partition_filter = set(partition_names) if partition_names else None
    projection_plan = build_projection_plan(output_fields, self._schema, api_kind="search")
    sparse_spec = self._index_specs.get(vector_field)
    index_params = sparse_spec.build_params if sparse_spec else {}
    query_sparse = self._prepare_sparse_queries(query_vectors, vector_field)
    nq = len(query_sparse)
    compiled_filter = self._compile_filter(expr, timezone=timezone) if expr else None
    indexed_filter_plan = self._indexed_filter_plan(compiled_filter)
    per_query_candidates: list[list[tuple[float, Any, Any]]] = [[] for _ in range(nq)]
    mt_deletes = self._memtable.delete_index_snapshot()

    # The engine's rule: a row is stale when a newer version of its pk is in any segment (all partitions) or
    # in the memtable, or a delete (flushed, or pending for its partition) is newer than it.
    mt_seq = {pk: int(seq) for pk, (_, _, seq) in self._memtable.pk_index_snapshot()}
    global_mt_seq = dict(mt_seq)  # memtable pks only: their highest seq across sources
    for s in live:
        find = s.pk_to_row.get
        for pk in mt_seq:
            row = find(pk)
            if row is not None and int(s.seqs[row]) > global_mt_seq[pk]:
                global_mt_seq[pk] = int(s.seqs[row])
    flushed = list(delta_snap._map.items())
    pending = list(mt_deletes.items())

    for seg, won in zip(live, winners, strict=True):
        if partition_filter is not None and seg.partition not in partition_filter:
            continue
        table = seg.table
        if table is None or len(table) == 0:
            continue
        cached_idx = seg.sparse_indexes.get(vector_field)
        if not sparse_index_matches(cached_idx, metric_type, index_params):
            sparse_batch = table.column(vector_field).to_pylist()
            sparse_vecs = [bytes_to_sparse(r) if isinstance(r, bytes) else (r or {}) for r in sparse_batch]
            cached_idx = create_sparse_index(metric_type, index_params)
            cached_idx.build(sparse_vecs)
            seg.sparse_indexes[vector_field] = cached_idx
        pks, seqs, find = seg.pks, seg.seqs, seg.pk_to_row.get
        valid_mask = won.copy()
        for pk, newest in mt_seq.items():
            row = find(pk)
            if row is not None and newest > int(seqs[row]):
                valid_mask[row] = False
        for pk, deleted in flushed:
            row = find(pk)
            if row is not None and deleted > int(seqs[row]):
                valid_mask[row] = False
        for pk, (deleted, partition) in pending:
            row = find(pk)
            if row is not None and deleted > int(seqs[row]) and partition in (ALL_PARTITIONS, seg.partition):
                valid_mask[row] = False
        if compiled_filter is not None:
            from milvus_lite.search.indexed_filter import evaluate_segment_filter

            valid_mask = valid_mask & evaluate_segment_filter(seg, compiled_filter, indexed_filter_plan)
        if not valid_mask.any():
            continue
        local_ids, dists = _search_prepared_sparse_index(cached_idx, query_sparse, top_k, valid_mask=valid_mask)
        for qi in range(nq):
            for j in range(top_k):
                lid = int(local_ids[qi, j])
                if lid < 0:
                    break
                per_query_candidates[qi].append((float(dists[qi, j]), pks[lid], (table, lid)))

    # From here on, the engine's own code.
    mt_pks: list[Any] = []
    mt_sparse: list[Any] = []
    mt_refs: list[Any] = []
    for pk, seq, record in self._memtable.active_record_snapshots(partition_names=partition_names):
        if delta_snap.is_deleted(pk, seq) or global_mt_seq.get(pk, -1) > seq:
            continue
        raw = record.get(vector_field)
        mt_pks.append(pk)
        mt_sparse.append(bytes_to_sparse(raw) if isinstance(raw, bytes) else (raw or {}))
        mt_refs.append((record, seq))
    if mt_pks:
        mt_valid = np.ones(len(mt_pks), dtype=bool)
        if compiled_filter is not None:
            from milvus_lite.search.filter.eval.python_backend import _eval_row

            for i in range(len(mt_pks)):
                if mt_valid[i]:
                    record, _seq = mt_refs[i]
                    if not _eval_row(compiled_filter.ast, record):
                        mt_valid[i] = False
        mt_idx = create_sparse_index(metric_type, index_params)
        mt_idx.build(mt_sparse, valid_mask=mt_valid)
        local_ids, dists = _search_prepared_sparse_index(mt_idx, query_sparse, top_k)
        for qi in range(nq):
            for j in range(top_k):
                lid = int(local_ids[qi, j])
                if lid < 0:
                    break
                per_query_candidates[qi].append((float(dists[qi, j]), mt_pks[lid], mt_refs[lid]))

    def is_memtable_ref(source: Any) -> bool:
        return isinstance(source, tuple) and bool(source) and isinstance(source[0], dict)

    results: list[list[dict[str, Any]]] = []
    for qi in range(nq):
        pk_best: dict[Any, tuple[int, tuple[float, Any, Any]]] = {}
        for cand in per_query_candidates[qi]:
            _dist, pk, source = cand
            if is_memtable_ref(source):
                seq = int(source[1])
            else:
                tbl, row_i = source
                seq = int(tbl.column("_seq")[row_i].as_py())
            if pk not in pk_best or seq > pk_best[pk][0]:
                pk_best[pk] = (seq, cand)
        deduped = [v[1] for v in pk_best.values()]
        deduped.sort(key=lambda c: c[0])
        hits: list[dict[str, Any]] = []
        for dist, pk, source in deduped:
            if is_memtable_ref(source):
                entity = project_record(source[0], self._schema, projection_plan)
            else:
                tbl, row_i = source
                record = {
                    name: tbl.column(name)[row_i].as_py()
                    for name in tbl.column_names
                    if name not in ("_seq", "_partition")
                }
                entity = project_record(record, self._schema, projection_plan)
            hits.append({"id": pk, "distance": dist, "entity": entity})
            if len(hits) >= top_k:
                break
        results.append(hits)
    return results


_original_sparse: Any = None


def _bm25_search(
    self: Any, query_sparse_vectors: list[dict[int, float]], top_k: int, valid_mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Milvus Lite's `SparseInvertedIndex.search` (BM25 over one segment) with numpy instead of a Python loop
    over every posting: the same float32 operations in the same order, so the same scores, and ties kept in the
    order the engine meets the documents (by term, then by row)."""
    import math

    from milvus_lite.index.sparse_common import empty_results, validate_mask

    lengths = self._doc_lengths
    valid_mask = validate_mask(valid_mask, len(lengths))
    nq = len(query_sparse_vectors)
    all_ids, all_dists = empty_results(nq, top_k)
    if self.doc_count == 0:
        return all_ids, all_dists
    n, k1, b = self.doc_count, self.k1, self.b
    avgdl = self.avgdl if self.avgdl > 0 else 1.0
    arrays = self.__dict__.get("_docqa_arrays")
    if arrays is None or arrays[0] is not self._posting_lists:
        arrays = (self._posting_lists, {})
        self.__dict__["_docqa_arrays"] = arrays
    unseen = np.iinfo(np.int64).max
    for qi, query_terms in enumerate(query_sparse_vectors):
        if not query_terms:
            continue
        scores = np.zeros(len(lengths), dtype=np.float32)
        order = np.full(len(lengths), unseen, dtype=np.int64)
        met = 0
        for term_hash, query_weight in query_terms.items():
            posting = self._posting_lists.get(term_hash)
            if not posting:
                continue
            cached = arrays[1].get(term_hash)
            if cached is None:
                ids = np.fromiter((p[0] for p in posting), dtype=np.int64, count=len(posting))
                tfs = np.fromiter((p[1] for p in posting), dtype=np.float64, count=len(posting))
                cached = arrays[1][term_hash] = (ids, tfs)
            ids, tfs = cached
            df = self._df[term_hash]
            idf = math.log((n - df + 0.5) / (df + 0.5) + 1.0)
            if valid_mask is not None:
                keep = valid_mask[ids]
                ids, tfs = ids[keep], tfs[keep]
            if not len(ids):
                continue
            # The engine: (tf * (k1 + 1.0)) / (tf + k1 * (1.0 - b + b * dl / avgdl)) with dl a float32, so
            # NumPy computes in float32 from there on; the numerator alone is a Python float.
            tf_norm = (tfs * (k1 + 1.0)).astype(np.float32) / (
                tfs.astype(np.float32) + k1 * ((1.0 - b) + b * lengths[ids] / avgdl)
            )
            scores[ids] = scores[ids] + idf * tf_norm * query_weight
            new = ids[order[ids] == unseen]
            order[new] = np.arange(met, met + len(new))
            met += len(new)
        if not met:
            continue
        touched = np.flatnonzero(order != unseen)
        best = touched[np.lexsort((order[touched], -scores[touched]))][:top_k]
        all_ids[qi, : len(best)] = best
        all_dists[qi, : len(best)] = -scores[best]
    return all_ids, all_dists


_original_bm25: Any = None


def main(argv: list[str] | None = None) -> int:
    """`python -m ingest.stores.milvus_lite_search server --data-dir data/milvus.db --host 127.0.0.1`: Milvus
    Lite's own command line (`python -m milvus_lite`), with the fast searches in the server it starts."""
    from milvus_lite.cmdline import main as milvus_lite_main

    install()
    return int(milvus_lite_main(argv) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
