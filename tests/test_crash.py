"""Crash safety: real ingest processes killed with SIGKILL at random moments, concurrent writers, a full disk."""

from __future__ import annotations

import errno
import multiprocessing
import random
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from ingest import IndexStore, IndexStoreError, Settings, collect_sources, index_config, ingest, make_chunker
from ingest.store import config_of, read_current
from tests.conftest import HashEmbedder

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


def assert_consistent(settings: Settings) -> IndexStore:
    """The live commit loads, and every vector has its chunk, every chunk its vector and its document."""
    embedder = HashEmbedder()
    store = IndexStore.open(settings.collection_dir, index_config(settings, embedder), create=True)
    assert store._index.ntotal == len(store.chunks)
    chunker = make_chunker(settings, embedder)
    if store.chunks:
        expected = embedder.embed_documents([chunker.embedding_text(c) for c in store.chunks])
        assert np.allclose(store.vectors(), expected, atol=1e-5), "a vector does not belong to its chunk"
    per_document: dict[str, int] = {}
    for chunk in store.chunks:
        per_document[chunk.doc_id] = per_document.get(chunk.doc_id, 0) + 1
    assert per_document == {d.doc_id: d.chunks for d in store.documents.values()}
    assert len({c.id for c in store.chunks}) == len(store.chunks)
    return store


def test_sigkill_at_random_moments_never_leaves_an_inconsistent_index(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "docs"
    rng = random.Random(7)
    commits_seen, leftovers_seen, kill = set(), 0, 0
    # At least KILLS kills, and more (up to twice as many) until three of them landed mid-write: where a kill lands
    # depends on this machine's speed, and the test must have caught a writer in the middle of a commit.
    while kill < KILLS or (leftovers_seen < 3 and kill < 2 * KILLS):
        kill += 1
        worker = _CONTEXT.Process(target=_churn, args=(settings, folder, kill), daemon=True)
        worker.start()
        time.sleep(rng.uniform(0.05, 0.8))
        worker.kill()  # SIGKILL: no cleanup, no finally blocks
        worker.join(10)
        assert worker.exitcode == -9
        commits = settings.collection_dir / "commits"
        if commits.exists():
            current = read_current(settings.collection_dir)
            leftovers_seen += any(
                c.name.startswith(".tmp-") or (current is not None and c.name > current) for c in commits.iterdir()
            )
        store = assert_consistent(settings)
        commits_seen.add(store.commit_name)
    print(f"{kill} kills: {len(commits_seen)} distinct live commits, {leftovers_seen} left a half-written commit")
    # The kills landed both between commits and in the middle of writing one.
    assert len(commits_seen) > KILLS // 2
    assert leftovers_seen >= 3
    # The next writer cleans up what the dead ones left.
    _ingest_once(settings, [folder])
    assert not [c for c in (settings.collection_dir / "commits").iterdir() if c.name.startswith(".tmp-")]
    assert_consistent(settings)


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
    store = assert_consistent(settings)
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

    monkeypatch.setattr("ingest.store._fsync_file", disk_full)
    with pytest.raises(IndexStoreError, match=r"No space left on device.*previous state is kept"):
        _ingest_once(settings, [folder])
    monkeypatch.undo()
    after = assert_consistent(settings)
    assert after.commit_name == before.commit_name and after.chunks == before.chunks
    assert not [c for c in (settings.collection_dir / "commits").iterdir() if c.name.startswith(".tmp-")]
    assert config_of(settings.collection_dir) == before.config
