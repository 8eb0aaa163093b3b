"""The fast dense and BM25 searches put into Milvus Lite (`ingest/stores/milvus_lite_search.py`) return exactly
what the engine's own searches return: same rows, same order, same distances, across segments that repeat primary keys
(upserts), flushed tombstones, and rows, upserts and deletes still in the write buffer, with and without a
filter."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("milvus_lite")

from ingest.stores import milvus_lite_search as fast

DIM = 16
WORDS = ["lease", "audit", "margin", "tariff", "quorum", "pension", "filing", "policy", "revenue", "vacation"]


@pytest.fixture
def engine_collection(tmp_path):  # type: ignore[no-untyped-def]
    if not fast.install():
        pytest.skip("the installed Milvus Lite keeps its own search")
    from milvus_lite.server_manager import server_manager_instance
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    path = str(tmp_path / "t.db")
    client = MilvusClient(path)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("gen", DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("text", DataType.VARCHAR, max_length=512, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]
        )
    )
    params = client.prepare_index_params()
    params.add_index(field_name="vector", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 64})
    params.add_index(field_name="gen", index_type="INVERTED")
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection("c", schema=schema, index_params=params, consistency_level="Strong")
    rng = np.random.default_rng(7)

    def rows(keys: range, gen: int) -> list[dict[str, object]]:
        vectors = rng.standard_normal((len(keys), DIM)).astype(np.float32)
        texts = [" ".join(rng.choice(WORDS, 6)) for _ in keys]
        return [
            {"pk": f"p{k}", "gen": gen, "vector": v.tolist(), "text": t}
            for k, v, t in zip(keys, vectors, texts, strict=True)
        ]

    client.insert("c", rows(range(0, 400), 1))
    client.flush("c")
    client.upsert("c", rows(range(0, 120), 2))  # the same keys in a second segment, newer
    client.delete("c", filter='pk in ["p170", "p171", "p130", "p5", "p399"]')  # p130 comes back below
    client.flush("c")
    client.upsert("c", [{"pk": "p7", "gen": 3}, {"pk": "p200", "gen": 3}], partial_update=True)
    client.flush("c")
    client.upsert("c", rows(range(100, 160), 4))  # in the write buffer: newer than both segments
    client.insert("c", rows(range(400, 450), 4))
    client.delete("c", filter='pk in ["p210", "p211", "p405", "p101"]')  # pending deletes
    _, db, _ = server_manager_instance._servers[os.path.abspath(path)]
    yield db.get_collection("c"), rng
    client.close()
    server_manager_instance.release_server(path)


@pytest.mark.parametrize("expression", [None, "gen >= 2", "gen <= 2 and gen != 1"])
def test_fast_search_returns_what_the_engine_returns(engine_collection, expression) -> None:  # type: ignore[no-untyped-def]
    collection, rng = engine_collection
    compiled = collection._compile_filter(expression) if expression else None
    plan = collection._indexed_filter_plan(compiled)
    segments, deltas = collection._read_snapshot()
    assert len(segments) >= 2 and len(collection._memtable.to_search_snapshot(vector_field="vector")[0]) > 0
    assert fast._winners(tuple(s for s in segments if s.num_rows)) is not None  # the fast path, not its fallback
    for _ in range(20):
        queries = rng.standard_normal((2, DIM)).astype(np.float32)
        args = dict(
            query_vectors=queries, segments=segments, memtable=collection._memtable, delta_index=deltas,
            top_k=60, metric_type="IP", pk_field="pk", vector_field="vector", compiled_filter=compiled,
            output_fields=["gen"], indexed_filter_plan=plan, search_params={"ef": 128},
        )  # fmt: skip
        mine = fast.execute_search_with_index(**args)  # type: ignore[arg-type]
        theirs = fast._original(**args)
        assert [[(h["id"], h["entity"]) for h in q] for q in mine] == [
            [(h["id"], h["entity"]) for h in q] for q in theirs
        ]
        assert np.allclose([h["distance"] for q in mine for h in q], [h["distance"] for q in theirs for h in q])
        found = {h["id"] for q in mine for h in q}
        assert not found & {"p5", "p170", "p171", "p399", "p210", "p405", "p101"}  # deleted, flushed or pending
    for words in ("lease audit", "pension", "margin tariff quorum", "vacation filing"):
        sparse = dict(
            query_vectors=[words], vector_field="sparse", top_k=60, metric_type="BM25", partition_names=None,
            expr=expression, output_fields=["gen", "text"],
        )  # fmt: skip
        mine = fast._search_sparse(collection, **sparse)
        theirs = fast._original_sparse(collection, **sparse)
        assert mine == theirs and mine[0]
        assert not {h["id"] for h in mine[0]} & {"p5", "p170", "p171", "p399", "p210", "p405", "p101"}


def test_other_versions_keep_the_engines_search(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(fast, "SUPPORTED", set())
    monkeypatch.setattr(fast, "_installed", False)
    import milvus_lite.engine.collection as engine

    before = engine.execute_search_with_index
    assert fast.install() is False
    assert engine.execute_search_with_index is before


def test_bm25_scores_are_the_engines_to_the_bit() -> None:
    if not fast.install():
        pytest.skip("the installed Milvus Lite keeps its own search")
    from milvus_lite.index.sparse_inverted import SparseInvertedIndex

    rng = np.random.default_rng(3)
    words = [np.unique(rng.integers(0, 40, rng.integers(0, 12)), return_counts=True) for _ in range(3000)]
    documents = [{int(t): float(c) for t, c in zip(terms, counts, strict=True)} for terms, counts in words]
    index = SparseInvertedIndex(k1=1.5, b=0.75)
    index.build(documents, valid_mask=rng.random(3000) > 0.1)
    for _ in range(30):
        queries = [{int(t): float(rng.integers(1, 3)) for t in rng.integers(0, 45, rng.integers(0, 5))}]
        mask = None if rng.random() < 0.3 else rng.random(3000) > 0.4
        mine = fast._bm25_search(index, queries, 50, valid_mask=mask)
        theirs = fast._original_bm25(index, queries, 50, valid_mask=mask)
        assert np.array_equal(mine[0], theirs[0]) and np.array_equal(mine[1], theirs[1])
    ties = SparseInvertedIndex(k1=1.5, b=0.75)  # equal scores: the engine lists them in the order it met them
    ties.build([{1 + i % 2: 1.0} for i in range(200)])
    mine, theirs = (search(ties, [{2: 1.0, 1: 1.0}], 50) for search in (fast._bm25_search, fast._original_bm25))
    assert np.array_equal(mine[0], theirs[0]) and np.array_equal(mine[1], theirs[1])
