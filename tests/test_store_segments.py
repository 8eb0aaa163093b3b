"""FAISS segments: adding a few documents writes only their rows and links the rest; search and reads see one
collection; merges, removals, document-only commits, damage and old (version 1) commits behave."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest.stores import segments
from ingest.stores.commits import read_current
from ingest.stores.faiss_collection import FaissCollection

from .test_store import CONFIG, chunks_and_vectors, info


def grown(tmp_path: Path, sizes: list[int]) -> tuple[FaissCollection, np.ndarray]:
    """A collection built by one commit per size: a document of that many chunks each."""
    store = FaissCollection.open(tmp_path, CONFIG, create=True)
    everything = []
    for n, size in enumerate(sizes):
        chunks, vectors = chunks_and_vectors(size, f"d{n}", seed=n)
        store = store.commit(add_chunks=chunks, add_vectors=vectors, add_documents=[info(f"d{n}", size)])
        everything.append(vectors)
    return store, np.concatenate(everything)


def folder(tmp_path: Path, store: FaissCollection) -> Path:
    return tmp_path / "commits" / str(store.commit_name)


def test_a_small_addition_is_a_new_segment_and_the_rest_is_linked(tmp_path: Path) -> None:
    store, _ = grown(tmp_path, [200])
    first = folder(tmp_path, store)
    added, vectors = grown_more(store, 10)
    second = folder(tmp_path, added)
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["format_version"] == 2
    assert [s["count"] for s in manifest["segments"]] == [200, 10]
    for name in ("vectors.faiss", "chunks.jsonl"):  # the same file, not a copy
        assert (second / name).stat().st_ino == (first / name).stat().st_ino
    assert (second / f"chunks-{added.commit_name}.jsonl").read_bytes().count(b"\n") == 10
    reopened = FaissCollection.open(tmp_path, CONFIG)
    assert reopened.chunks == added.chunks and len(reopened) == 210
    np.testing.assert_allclose(reopened.vectors()[200:], vectors, atol=1e-6)


def grown_more(store: FaissCollection, size: int, name: str = "more", seed: int = 9):  # type: ignore[no-untyped-def]
    chunks, vectors = chunks_and_vectors(size, name, seed=seed)
    return store.commit(add_chunks=chunks, add_vectors=vectors, add_documents=[info(name, size)]), vectors


def test_search_across_segments_equals_brute_force(tmp_path: Path) -> None:
    _store, vectors = grown(tmp_path, [300, 10, 12, 5])
    reopened = FaissCollection.open(tmp_path, CONFIG)
    assert len(reopened._index.indexes) == 4
    rng = np.random.default_rng(5)
    for _ in range(20):
        query = rng.normal(size=CONFIG.dimension).astype(np.float32)
        query /= np.linalg.norm(query)
        expected = np.argsort(-(vectors @ query), kind="stable")[:15]
        hits = reopened.search(query, 15)
        assert [reopened.chunks.index(h.chunk) for h in hits] == expected.tolist()
        assert hits[0].score == pytest.approx(float(vectors[expected[0]] @ query), abs=1e-5)
    ids = [reopened.chunks[r].id for r in (3, 305, 320, 326)]
    np.testing.assert_allclose(reopened.vectors_of(ids), vectors[[3, 305, 320, 326]], atol=1e-6)
    within = reopened.search(vectors[301], 3, doc_ids={"d1"})  # restricted to a document in a later segment
    assert within[0].chunk.id == "d1-1"


def test_too_many_added_rows_merge_into_one_segment(tmp_path: Path) -> None:
    store, vectors = grown(tmp_path, [100, 8])
    assert len(store._index.indexes) == 2
    merged, more = grown_more(store, 5)  # 13 added rows > 10 % of 100: merged
    manifest = json.loads((folder(tmp_path, merged) / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and "segments" not in manifest
    reopened = FaissCollection.open(tmp_path, CONFIG)
    assert len(reopened._index.indexes) == 1 and len(reopened) == 113
    np.testing.assert_allclose(reopened.vectors(), np.concatenate([vectors, more]), atol=1e-6)
    assert [c.id for c in reopened.chunks] == [c.id for c in merged.chunks]


def test_the_segment_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segments, "DELTA_SHARE", 100.0)
    store, vectors = grown(tmp_path, [20] + [1] * (segments.MAX_SEGMENTS + 3))
    assert 1 <= len(store._index.indexes) <= segments.MAX_SEGMENTS
    np.testing.assert_allclose(FaissCollection.open(tmp_path, CONFIG).vectors(), vectors, atol=1e-6)


def test_removal_and_document_only_commits(tmp_path: Path) -> None:
    store, _ = grown(tmp_path, [100, 5, 5])
    before = folder(tmp_path, store)
    corrected = store.commit(add_documents=[info("d1", 5)])  # details only: nothing rewritten
    after = folder(tmp_path, corrected)
    assert {p.name for p in after.iterdir()} == {p.name for p in before.iterdir()}
    assert all((after / p.name).stat().st_ino == p.stat().st_ino for p in before.iterdir() if p.suffix != ".json")
    smaller = corrected.commit(remove_doc_ids={"d1"})  # a removal writes one segment again
    reopened = FaissCollection.open(tmp_path, CONFIG)
    assert len(reopened._index.indexes) == 1
    assert [c.doc_id for c in reopened.chunks] == [c.doc_id for c in smaller.chunks]
    assert {c.doc_id for c in reopened.chunks} == {"d0", "d2"}


def test_a_damaged_segment_falls_back_to_the_commit_before(tmp_path: Path) -> None:
    store, _ = grown(tmp_path, [100])
    added, _ = grown_more(store, 4)
    (folder(tmp_path, added) / f"vectors-{added.commit_name}.faiss").write_bytes(b"garbage")
    reopened = FaissCollection.open(tmp_path, CONFIG)
    assert reopened.commit_name == store.commit_name and len(reopened) == 100
    assert read_current(tmp_path) == added.commit_name
