"""Crash safety: real ingest processes killed with SIGKILL at random moments, concurrent writers, a full disk."""

from __future__ import annotations

import errno
import multiprocessing
import random
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest import (
    Chunk,
    DocumentInfo,
    IndexStoreError,
    Settings,
    collect_sources,
    index_config,
    ingest,
    make_chunker,
    open_store,
)
from ingest.stores import close_stores
from ingest.stores.commits import config_of, read_current
from tests.conftest import BACKENDS, HashEmbedder, backend_overrides

KILLS = 50
_CONTEXT = multiprocessing.get_context("forkserver")
# Children fork from a server that has imported everything but never run FAISS, so they start in milliseconds.
_CONTEXT.set_forkserver_preload(["ingest", "tests.conftest"])


@pytest.fixture(autouse=True)
def _plain_main(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit's AppTest leaves the app script as `__main__`; children must not re-run it on start."""
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


def _write_corpus(folder: Path, version: int, files: int = 6) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        words = " ".join(f"topic{n} fact{version}x{i} detail{(i * 7 + version) % 50}" for i in range(100))
        (folder / f"doc{n}.md").write_text(f"# Document {n} version {version}\n\n{words}\n", encoding="utf-8")


def _churn(settings: Settings, folder: Path, seed: int) -> None:
    """Ingest forever: new versions, syncs that drop files, re-adds. Killed from outside."""
    rng = random.Random(seed)
    embedder = HashEmbedder()
    settings = settings.model_copy(update={"isolate_parsing": False})  # this test is about the store's writes
    version = seed * 1000
    while True:
        version += 1
        for path in folder.glob("*.md"):
            path.unlink()
        _write_corpus(folder, version, files=rng.randint(2, 6))
        ingest(collect_sources([folder]), settings, embedder, sync=rng.random() < 0.5)


def _ingest_once(settings: Settings, paths: list[Path]) -> None:
    ingest(collect_sources(paths), settings, HashEmbedder())


def assert_consistent(settings: Settings) -> Snapshot:
    """The live snapshot loads, and every vector has its chunk, every chunk its vector and its document. Read
    through the store interface, so it holds for every backend; the store is closed afterwards (Milvus Lite
    lets one process at a time open its database)."""
    embedder = HashEmbedder()
    try:
        store = open_store(settings).open(settings.collection, index_config(settings, embedder), create=True)
        chunks, vectors = [], []
        for batch, batch_vectors in store.iter_chunks():
            chunks += batch
            vectors.append(batch_vectors)
        assert len(chunks) == len(store)
        chunker = make_chunker(settings, embedder)
        if chunks:
            expected = embedder.embed_documents([chunker.embedding_text(c) for c in chunks])
            assert np.allclose(np.concatenate(vectors), expected, atol=1e-5), "a vector does not belong to its chunk"
        per_document: dict[str, int] = {}
        for chunk in chunks:
            per_document[chunk.doc_id] = per_document.get(chunk.doc_id, 0) + 1
        assert per_document == {d.doc_id: d.chunks for d in store.documents.values()}
        assert len({c.id for c in chunks}) == len(chunks)
        return Snapshot(store.version, chunks, dict(store.documents), _half_written(settings, store))
    finally:
        close_stores()


@dataclass
class Snapshot:
    version: str
    chunks: list[Chunk]
    documents: dict[str, DocumentInfo]
    half_written: bool
    """A dead writer left part of a commit behind (which readers must not see)."""


def _half_written(settings: Settings, store: Any) -> bool:
    if settings.store == "milvus":
        if not getattr(store, "physical", None):
            return False
        rows = store.store.client.query(
            store.physical, filter=f"gen > {store.gen} or removed > {store.gen}", output_fields=["count(*)"]
        )
        return int(rows[0]["count(*)"]) > 0
    commits = settings.collection_dir / "commits"
    if not commits.exists():
        return False
    current = read_current(settings.collection_dir)
    return any(c.name.startswith(".tmp-") or (current is not None and c.name > current) for c in commits.iterdir())


#: Kills per backend and how long a writer runs before it is killed (Milvus Lite takes longer to start).
_KILLS = {"faiss": (KILLS, 0.05, 0.8), "milvus": (24, 1.0, 3.0)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_at_random_moments_never_leaves_an_inconsistent_index(
    tmp_path: Path, settings: Settings, backend: str
) -> None:
    settings = settings.model_copy(update=backend_overrides(backend, tmp_path))
    kills, shortest, longest = _KILLS[backend]
    folder = tmp_path / "docs"
    rng = random.Random(7)
    versions_seen, leftovers_seen, kill, unchanged = set(), 0, 0, 0
    # At least `kills` kills, and more (up to three times as many) until three of them landed mid-write and more than
    # half saw a new commit: where a kill lands depends on this machine's speed and load, and the test must have
    # caught writers both between commits and in the middle of one.
    while kill < kills or ((leftovers_seen < 3 or len(versions_seen) <= kills // 2) and kill < 3 * kills):
        kill += 1
        worker = _CONTEXT.Process(target=_churn, args=(settings, folder, kill), daemon=True)
        worker.start()
        time.sleep(rng.uniform(shortest, longest))
        worker.kill()  # SIGKILL: no cleanup, no finally blocks
        worker.join(10)
        assert worker.exitcode == -9
        snapshot = assert_consistent(settings)
        leftovers_seen += snapshot.half_written
        unchanged = unchanged + 1 if snapshot.version in versions_seen else 0
        versions_seen.add(snapshot.version)
        if unchanged >= 3:  # writers keep dying before their first commit: this machine is slower (or busier)
            shortest, longest, unchanged = shortest * 1.5, min(longest * 1.5, 20.0), 0
    print(f"{backend}: {kill} kills, {len(versions_seen)} distinct live versions, {leftovers_seen} mid-write")
    # The kills landed both between commits and in the middle of writing one.
    assert len(versions_seen) > kills // 2
    assert leftovers_seen >= 3
    # The next writer cleans up what the dead ones left.
    _ingest_once(settings, [folder])
    assert not assert_consistent(settings).half_written


def test_two_concurrent_ingests_both_land(tmp_path: Path, settings: Settings) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _write_corpus(first, 1, files=4)
    _write_corpus(second, 2, files=4)
    for path in second.iterdir():
        path.rename(second / f"other-{path.name}")
    workers = [_CONTEXT.Process(target=_ingest_once, args=(settings, [folder])) for folder in (first, second)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    store = assert_consistent(settings)  # FAISS: Milvus Lite admits one process per database file
    assert sorted(d.source for d in store.documents.values()) == sorted(
        [f"doc{n}.md" for n in range(4)] + [f"other-doc{n}.md" for n in range(4)]
    )


def test_a_full_disk_keeps_the_previous_state(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "docs"
    _write_corpus(folder, 1, files=2)
    _ingest_once(settings, [folder])
    before = assert_consistent(settings)
    _write_corpus(folder, 2, files=3)

    def disk_full(path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ingest.stores.commits._fsync_file", disk_full)
    with pytest.raises(IndexStoreError, match=r"No space left on device.*previous state is kept"):
        _ingest_once(settings, [folder])
    monkeypatch.undo()
    after = assert_consistent(settings)
    assert after.version == before.version and after.chunks == before.chunks
    assert not [c for c in (settings.collection_dir / "commits").iterdir() if c.name.startswith(".tmp-")]
    assert config_of(settings.collection_dir) == index_config(settings, HashEmbedder())
