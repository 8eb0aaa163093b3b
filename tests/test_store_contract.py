"""The store contract: every backend (FAISS folders, Milvus Lite) passes the same tests through the interface
only. The kill test and the state machine run per backend too (`test_crash.py`, `test_store_stateful.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ingest import Chunk, DocumentInfo, IndexConfig, IndexStoreError, Store
from ingest.stores.faiss_store import FaissStore
from tests.conftest import BACKENDS, make_store

CONFIG = IndexConfig("contract-test", 16, 100, 10, 8)
RNG = np.random.default_rng(3)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = make_store(request.param, tmp_path)
    yield backend
    backend.close()


def _unit(n: int, dimension: int = 16) -> np.ndarray:
    vectors = RNG.standard_normal((n, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _document(name: str, count: int, words: str = "") -> tuple[list[Chunk], np.ndarray, DocumentInfo]:
    doc_id = f"{name}-id"
    chunks = [
        Chunk(f"{doc_id}-{i}", doc_id, f"{name}.md", f"{name} passage {i} {words}".strip(), i // 3 + 1, None, i, i + 1)
        for i in range(count)
    ]
    info = DocumentInfo(doc_id, f"{name}.md", count // 3 + 1, count, 100, "2026-01-01T00:00:00", location=f"/x/{name}")
    return chunks, _unit(count), info


def _add(store: Store, *documents: tuple[list[Chunk], np.ndarray, DocumentInfo], name: str = "team") -> None:
    with store.writer_lock(name):
        snapshot = store.open(name, CONFIG, create=True)
        snapshot.commit(
            add_chunks=[c for d in documents for c in d[0]],
            add_vectors=np.concatenate([d[1] for d in documents]),
            add_documents=[d[2] for d in documents],
        )


def test_commit_search_and_fetch(store: Store) -> None:
    alpha, beta = _document("alpha", 40, "zebra"), _document("beta", 30, "quokka")
    _add(store, alpha, beta)
    snapshot = store.open("team", CONFIG)
    assert len(snapshot) == 70 and sorted(snapshot.documents) == ["alpha-id", "beta-id"]
    assert [d.source for d in snapshot.list_documents()] == ["alpha.md", "beta.md"]
    vectors = np.concatenate([alpha[1], beta[1]])
    chunks = alpha[0] + beta[0]
    # Brute force is the reference: the nearest chunks and their cosine similarities.
    for row in range(0, 70, 7):
        exact = np.argsort(-(vectors @ vectors[row]))[:10]
        hits = snapshot.search(vectors[row], 10)
        assert hits[0].chunk == chunks[row] and hits[0].score == pytest.approx(1.0, abs=1e-4)
        assert len({h.chunk.id for h in hits} & {chunks[r].id for r in exact}) >= 9
        assert [h.chunk.id for h in snapshot.exact_search(vectors[row], 10)] == [chunks[r].id for r in exact]
    only_beta = snapshot.search(vectors[0], 5, doc_ids={"beta-id"})
    assert {h.chunk.doc_id for h in only_beta} == {"beta-id"} and len(only_beta) == 5
    assert snapshot.search(vectors[0], 5, doc_ids=set()) == []
    assert snapshot.get_chunks(["beta-id-2", "nope", "alpha-id-1"]) == [beta[0][2], alpha[0][1]]
    assert snapshot.chunks_of(["beta-id"]) == beta[0]
    assert snapshot.chunks_on_pages([("beta-id", 2), ("alpha-id", 1), ("beta-id", 99)]) == alpha[0][:3] + beta[0][3:6]
    np.testing.assert_allclose(snapshot.vectors_of(["beta-id-2", "alpha-id-1"]), [beta[1][2], alpha[1][1]], atol=1e-6)
    similarities = snapshot.similarities(vectors[3], ["alpha-id-3", "beta-id-0"])
    np.testing.assert_allclose(similarities, [1.0, vectors[40] @ vectors[3]], atol=1e-5)
    everything = sorted(
        (c.id, tuple(v)) for chunks_, vs in snapshot.iter_chunks(batch=16) for c, v in zip(chunks_, vs, strict=True)
    )
    assert [i for i, _ in everything] == sorted(c.id for c in chunks)
    profiles = snapshot.document_profiles()
    assert profiles["alpha-id"].startswith("alpha md") and "alpha passage 0 zebra" in profiles["alpha-id"]


def test_documents_keep_what_they_say_they_are(store: Store) -> None:
    chunks, vectors, info = _document("filing", 6)
    about = {"company": "Corning Incorporated", "form": "10-K", "fiscal_year": 2020, "period_end": "2020-12-31"}
    _add(store, (chunks, vectors, replace(info, about=about, text_version=1)))
    kept = store.open("team", CONFIG).documents["filing-id"]
    assert kept.about == about and kept.text_version == 1


def test_a_document_profile_is_corrected_alone_keeping_chunks_vectors_and_readers(store: Store) -> None:
    alpha, beta = _document("alpha", 9, "zebra"), _document("beta", 6, "quokka")
    about = {"company": "Alpha Corp", "form": "10-K", "fiscal_year": 2019}
    _add(store, (alpha[0], alpha[1], replace(alpha[2], about=about)), beta)
    before = store.open("team", CONFIG)
    profiles = before.document_profiles()
    fixed = replace(before.documents["alpha-id"], about={**about, "fiscal_year": 2020, "corrected": ["fiscal_year"]})
    with store.writer_lock("team"):
        after = store.open("team", CONFIG).commit(add_documents=[fixed])  # the info alone: no chunk, no vector
    assert after.documents == {"alpha-id": fixed, "beta-id": beta[2]} and after.version != before.version
    assert len(after) == 15 and after.chunks_of(["alpha-id"]) == alpha[0] and after.chunks_of(["beta-id"]) == beta[0]
    np.testing.assert_allclose(after.vectors_of([c.id for c in alpha[0]]), alpha[1], atol=1e-6)
    assert after.search(alpha[1][4], 1)[0].chunk == alpha[0][4]
    assert {h.chunk.doc_id for h in after.keyword_search("zebra", 5)} == {"alpha-id"}
    assert after.document_profiles() == profiles
    # A reader of the earlier snapshot still sees the old info, until it reloads; a new reader sees the new one.
    assert before.documents["alpha-id"].about == about and before.is_stale()
    assert before.reload_if_stale().documents["alpha-id"] == fixed
    assert store.open("team", CONFIG).documents["alpha-id"] == fixed


def test_keyword_search_matches_words_in_text_and_header(store: Store) -> None:
    _add(store, _document("alpha", 12, "zebra"), _document("beta", 12, "quokka"))
    snapshot = store.open("team", CONFIG)
    hits = snapshot.keyword_search("quokka", 5)
    assert len(hits) == 5 and {h.chunk.doc_id for h in hits} == {"beta-id"} and all(h.score > 0 for h in hits)
    assert snapshot.keyword_search("quokka", 5, doc_ids={"alpha-id"}) == []
    assert {h.chunk.doc_id for h in snapshot.keyword_search("beta.md", 3)} == {"beta-id"}  # the header: file name
    assert snapshot.keyword_search("absentword", 5) == []


def test_removals_replacements_and_snapshot_isolation(store: Store) -> None:
    alpha, beta = _document("alpha", 9), _document("beta", 9)
    _add(store, alpha, beta)
    before = store.open("team", CONFIG)
    replacement = Chunk("beta-id-0", "beta-id", "beta.md", "beta rewritten", 1, None, 0, 1)
    with store.writer_lock("team"):
        after = store.open("team", CONFIG).commit(
            remove_doc_ids={"alpha-id"},
            add_chunks=[replacement],
            add_vectors=_unit(1),
            add_documents=[DocumentInfo("beta-id", "renamed.md", 4, 9, 100, "2026-01-02", location="/x/renamed")],
        )
    assert sorted(after.documents) == ["beta-id"] and after.documents["beta-id"].source == "renamed.md"
    assert len(after) == 9 and after.get_chunks(["beta-id-0"]) == [replacement]
    assert after.keyword_search("alpha", 5) == [] and after.get_chunks(["alpha-id-0"]) == []
    # A reader of the earlier snapshot still sees exactly what it saw, until it reloads.
    assert before.is_stale() and not after.is_stale()
    assert len(before) == 18 and before.get_chunks(["alpha-id-0", "beta-id-0"]) == [alpha[0][0], beta[0][0]]
    assert len(before.reload_if_stale()) == 9
    with store.writer_lock("team"), pytest.raises(IndexStoreError, match="changed since"):
        before.commit(remove_doc_ids={"beta-id"})
    assert len(store.open("team", CONFIG)) == 9


def test_configs_are_enforced_and_rebuild_replaces_everything(store: Store) -> None:
    with pytest.raises(IndexStoreError, match="python -m ingest"):
        store.open("team", CONFIG)
    _add(store, _document("alpha", 6))
    assert store.config_of("team") == CONFIG
    other = IndexConfig("another-model", 8, 100, 10, 8)
    with pytest.raises(IndexStoreError, match="--rebuild"):
        store.open("team", other)
    with store.writer_lock("team"):
        fresh = store.open_for_rebuild("team", other)
        assert len(fresh) == 0 and sorted(fresh.documents) == ["alpha-id"]
        chunks, _, info = _document("gamma", 3)
        fresh.commit(add_chunks=chunks, add_vectors=_unit(3, 8), add_documents=[info], remove_doc_ids={"alpha-id"})
    rebuilt = store.open("team", other)
    assert store.config_of("team") == other and sorted(rebuilt.documents) == ["gamma-id"] and len(rebuilt) == 3
    with store.writer_lock("team"), pytest.raises(IndexStoreError, match="cannot go into"):
        rebuilt.commit(add_chunks=chunks[:1], add_vectors=_unit(1, 16))


def test_collections_are_listed_created_and_deleted(store: Store) -> None:
    _add(store, _document("alpha", 3), name="biology-101")
    store.create_collection("empty-team")
    store.create_collection("empty-team")  # again: not an error
    assert store.collection_names() == ["biology-101", "empty-team"]
    assert store.config_of("empty-team") is None
    store.delete_collection("biology-101")
    assert store.collection_names() == ["empty-team"]
    with pytest.raises(IndexStoreError, match="no collection"):
        store.delete_collection("biology-101")
    with pytest.raises(IndexStoreError, match="not a valid collection name"):
        store.create_collection("../escape")


def test_the_writer_lock_is_exclusive(store: Store) -> None:
    with (
        store.writer_lock("team"),
        pytest.raises(IndexStoreError, match="Another ingest"),
        store.writer_lock("team", timeout=0.2),
    ):
        pass
    with store.writer_lock("team", timeout=0.2):  # released: the next writer gets it at once
        pass


def test_faiss_store_is_the_default_and_keeps_its_layout(tmp_path: Path) -> None:
    store = FaissStore(tmp_path)
    _add(store, _document("alpha", 3))
    assert (tmp_path / "team" / "CURRENT").is_file()


def test_int8_vectors_are_never_mixed_with_full_precision_ones(store: Store) -> None:
    from ingest import Settings
    from ingest.pipeline import index_config
    from tests.conftest import HashEmbedder

    settings = Settings(embedding_model="hash-bow", embedding_backend="onnx", _env_file=None)  # type: ignore[call-arg]
    full = index_config(settings, HashEmbedder(16))
    int8 = index_config(settings.model_copy(update={"embedding_backend": "onnx-int8"}), HashEmbedder(16))
    assert int8.quantization == "int8" and full.quantization == "" and full == replace(int8, quantization="")
    assert index_config(settings.model_copy(update={"embedding_backend": "torch"}), HashEmbedder(16)) == full
    chunks, vectors, info = _document("alpha", 3)
    with store.writer_lock("team"):
        store.open("team", int8, create=True).commit(add_chunks=chunks, add_vectors=vectors, add_documents=[info])
    with pytest.raises(IndexStoreError, match=r"int8 weights.*--rebuild"):
        store.open("team", full)


def test_a_collection_keeps_the_precision_it_was_built_with() -> None:
    """int8 became the default after float collections were built: those are searched and extended with float
    weights (and an int8 one with int8 whatever the setting), not refused."""
    from ingest import Settings, with_collection_embedder
    from ingest.pipeline import index_config
    from tests.conftest import HashEmbedder

    default = Settings(embedding_model="hash-bow", _env_file=None)  # type: ignore[call-arg]
    assert default.embedding_backend == "onnx-int8"
    floats = index_config(default.model_copy(update={"embedding_backend": "onnx"}), HashEmbedder(16))
    assert with_collection_embedder(default, floats).embedding_backend == "onnx"
    int8 = index_config(default, HashEmbedder(16))
    assert with_collection_embedder(default, int8) is default
    for configured in ("onnx", "torch"):
        settings = default.model_copy(update={"embedding_backend": configured})
        assert with_collection_embedder(settings, int8).embedding_backend == "onnx-int8"
        assert with_collection_embedder(settings, floats) is settings
