"""Index store: exact search against brute force, atomic commits, damage fallback, config checks, no pickle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest import Chunk, DocumentInfo, IndexConfig, IndexStoreError
from ingest.stores.commits import read_current, writer_lock
from ingest.stores.faiss_collection import FaissCollection

CONFIG = IndexConfig("test-embedder", 16, 100, 10, 8)


def chunks_and_vectors(n: int, doc_id: str = "doc", seed: int = 0) -> tuple[list[Chunk], np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, CONFIG.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(f"{doc_id}-{i}", doc_id, f"{doc_id}.pdf", f"text {i}", i + 1, None, 0, 6) for i in range(n)]
    return chunks, vectors


def info(doc_id: str, chunks: int) -> DocumentInfo:
    return DocumentInfo(doc_id, f"{doc_id}.pdf", chunks, chunks, 100, "2026-01-01T00:00:00+00:00")


def committed(tmp_path: Path, n: int = 50) -> tuple[FaissCollection, np.ndarray]:
    chunks, vectors = chunks_and_vectors(n)
    store = FaissCollection.open(tmp_path, CONFIG, create=True).commit(
        add_chunks=chunks, add_vectors=vectors, add_documents=[info("doc", n)]
    )
    return store, vectors


def test_search_equals_brute_force(tmp_path: Path) -> None:
    store, vectors = committed(tmp_path, 200)
    query = vectors[17] + 0.3 * vectors[42]
    query /= np.linalg.norm(query)
    expected = np.argsort(-(vectors @ query))[:10]
    hits = store.search(query, 10)
    assert [int(h.chunk.id.split("-")[1]) for h in hits] == expected.tolist()
    assert hits[0].score == pytest.approx(float(vectors[expected[0]] @ query), abs=1e-5)


def test_reopen_gives_the_same_snapshot(tmp_path: Path) -> None:
    store, vectors = committed(tmp_path)
    again = FaissCollection.open(tmp_path, CONFIG)
    assert again.chunks == store.chunks
    assert np.allclose(again.vectors(), vectors)
    assert again.list_documents() == store.list_documents()


def test_adding_copies_the_previous_chunk_file_and_appends(tmp_path: Path) -> None:
    store, vectors = committed(tmp_path, 20)
    first = (tmp_path / "commits" / store.commit_name / "chunks.jsonl").read_bytes()  # type: ignore[operator]
    more, more_vectors = chunks_and_vectors(5, "more", seed=1)
    added = store.commit(add_chunks=more, add_vectors=more_vectors, add_documents=[info("more", 5)])
    second = (tmp_path / "commits" / added.commit_name / "chunks.jsonl").read_bytes()  # type: ignore[operator]
    assert second.startswith(first) and second.count(b"\n") == 25
    reopened = FaissCollection.open(tmp_path, CONFIG)
    assert reopened.chunks == store.chunks + more
    np.testing.assert_allclose(reopened.vectors(), np.concatenate([vectors, more_vectors]), atol=1e-6)
    # A removal writes the file again from the snapshot.
    smaller = reopened.commit(remove_doc_ids={"doc"})
    assert FaissCollection.open(tmp_path, CONFIG).chunks == smaller.chunks == more


def test_files_on_disk_are_json_and_faiss_only(tmp_path: Path) -> None:
    committed(tmp_path)
    folder = tmp_path / "commits" / read_current(tmp_path)  # type: ignore[operator]
    assert sorted(p.name for p in folder.iterdir()) == ["chunks.jsonl", "manifest.json", "vectors.faiss"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["config"]["embedding_model"] == "test-embedder"
    for path in tmp_path.rglob("*"):
        assert path.suffix not in {".pkl", ".pickle"}


def test_remove_and_replace_in_one_commit(tmp_path: Path) -> None:
    store, _ = committed(tmp_path, 10)
    new_chunks, new_vectors = chunks_and_vectors(4, "other", seed=1)
    store = store.commit(
        add_chunks=new_chunks, add_vectors=new_vectors, add_documents=[info("other", 4)], remove_doc_ids={"doc"}
    )
    reopened = FaissCollection.open(tmp_path, CONFIG)
    assert {c.doc_id for c in reopened.chunks} == {"other"}
    assert set(reopened.documents) == {"other"}
    assert reopened.search(new_vectors[2], 1)[0].chunk.id == "other-2"


def test_other_embedder_is_refused_with_the_rebuild_command(tmp_path: Path) -> None:
    committed(tmp_path)
    other = IndexConfig("another-model", 16, 100, 10, 8)
    with pytest.raises(IndexStoreError, match="--rebuild"):
        FaissCollection.open(tmp_path, other)


def test_missing_index_names_the_ingest_command(tmp_path: Path) -> None:
    with pytest.raises(IndexStoreError, match="python -m ingest"):
        FaissCollection.open(tmp_path / "nothing", CONFIG)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete"])
def test_damaged_commit_falls_back_to_the_previous_one(tmp_path: Path, damage: str) -> None:
    first, _ = committed(tmp_path, 5)
    more, more_vectors = chunks_and_vectors(3, "more", seed=2)
    second = first.commit(add_chunks=more, add_vectors=more_vectors, add_documents=[info("more", 3)])
    target = tmp_path / "commits" / second.commit_name / "vectors.faiss"  # type: ignore[operator]
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "garbage":
        target.write_bytes(b"\x80\x04garbage that is not a faiss index")
    else:
        target.unlink()
    reopened = FaissCollection.open(tmp_path, CONFIG)
    assert reopened.commit_name == first.commit_name
    assert len(reopened) == 5


def test_dead_writer_leftovers_are_ignored_and_cleaned(tmp_path: Path) -> None:
    store, _ = committed(tmp_path, 5)
    leftover = tmp_path / "commits" / ".tmp-999-dead"
    leftover.mkdir()
    (leftover / "vectors.faiss").write_bytes(b"half written")
    orphan = tmp_path / "commits" / "99999999"
    orphan.mkdir()
    assert len(FaissCollection.open(tmp_path, CONFIG)) == 5
    extra, vectors = chunks_and_vectors(2, "x", seed=3)
    store.commit(add_chunks=extra, add_vectors=vectors, add_documents=[info("x", 2)])
    assert not leftover.exists() and not orphan.exists()


def test_stale_snapshot_cannot_overwrite_a_newer_commit(tmp_path: Path) -> None:
    store, _ = committed(tmp_path, 5)
    extra, vectors = chunks_and_vectors(2, "x", seed=3)
    newer = FaissCollection.open(tmp_path, CONFIG).commit(
        add_chunks=extra, add_vectors=vectors, add_documents=[info("x", 2)]
    )
    assert store.is_stale()
    with pytest.raises(IndexStoreError, match="changed since"):
        store.commit(remove_doc_ids={"doc"})
    assert store.reload_if_stale().commit_name == newer.commit_name


def test_a_second_writer_waits_then_fails_clearly(tmp_path: Path) -> None:
    with (
        writer_lock(tmp_path),
        pytest.raises(IndexStoreError, match="Another ingest"),
        writer_lock(tmp_path, timeout=0.2),
    ):
        pass
    with writer_lock(tmp_path, timeout=0.2):  # released: the next writer gets it at once
        pass


def test_past_the_threshold_the_store_switches_to_hnsw_and_back(tmp_path: Path) -> None:
    chunks, vectors = chunks_and_vectors(400)
    with writer_lock(tmp_path):
        store = FaissCollection.open(tmp_path, CONFIG, create=True, ann_threshold=300)
        store = store.commit(add_chunks=chunks[:250], add_vectors=vectors[:250], add_documents=[info("doc", 400)])
        assert store.index_kind == "exact"
        store = store.commit(add_chunks=chunks[250:], add_vectors=vectors[250:])
        assert store.index_kind == "hnsw"
        reopened = FaissCollection.open(tmp_path, CONFIG, ann_threshold=300)
        assert reopened.index_kind == "hnsw"
        hits = 0
        for row in range(0, 400, 20):
            exact = {h.chunk.id for h in reopened.exact_search(vectors[row], 10)}
            hits += len(exact & {h.chunk.id for h in reopened.search(vectors[row], 10)})
        assert hits / (20 * 10) >= 0.95
        smaller = reopened.commit(remove_chunk_ids={c.id for c in chunks[:200]})
        assert smaller.index_kind == "exact" and len(smaller) == 200
        np.testing.assert_allclose(smaller.vectors(), vectors[200:], atol=1e-6)


def test_chunks_can_be_removed_and_replaced_by_id(tmp_path: Path) -> None:
    store, vectors = committed(tmp_path, 5)
    with writer_lock(tmp_path):
        replacement = Chunk("doc-1", "doc", "doc.pdf", "new text", 2, None, 0, 8)
        store = store.commit(add_chunks=[replacement], add_vectors=vectors[4:5], remove_chunk_ids={"doc-0", "missing"})
    assert sorted(c.id for c in store.chunks) == ["doc-1", "doc-2", "doc-3", "doc-4"]
    assert store.get_chunks(["doc-1", "nope"]) == [replacement]
    assert store.search(vectors[4], 1)[0].chunk.id in {"doc-1", "doc-4"}


def test_vectors_of_another_size_are_refused(tmp_path: Path) -> None:
    store, _ = committed(tmp_path, 3)
    chunks, _ = chunks_and_vectors(1, doc_id="other")
    with writer_lock(tmp_path), pytest.raises(IndexStoreError, match="cannot go into"):
        store.commit(add_chunks=chunks, add_vectors=np.zeros((1, 8), np.float32))
