"""Everything above the store behaves the same on every backend: ingest, rename, delete, sync, collections,
document filters, hybrid retrieval, the LangChain adapter, and migration between backends."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.retrieve import retrieve
from ingest import Settings, collect_sources, ingest, open_index, open_store
from ingest.manage import create_collection, delete_collection, delete_documents, list_collections
from ingest.stores import close_stores, store_at
from ingest.stores.migrate import migrate
from ingest.vectorstore import LocalVectorStore
from tests.conftest import HANDBOOK, ROOT, SAMPLE_DOCS, HashEmbedder

QUESTION = "How many vacation days do employees get?"


def test_ingest_rename_delete_and_sync(backend_settings: Settings, embedder: HashEmbedder, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    shutil.copytree(SAMPLE_DOCS / "course-notes", folder)
    shutil.copy(HANDBOOK, folder / "handbook.pdf")
    first = ingest(collect_sources([folder]), backend_settings, embedder)
    assert [f.status for f in first.files] == ["indexed"] * 4
    store = open_index(backend_settings, embedder)
    assert len(store.documents) == 4 and len(store) == sum(f.chunks for f in first.files)
    hits = retrieve(QUESTION, store, embedder, backend_settings).hits
    assert hits and hits[0].chunk.source == "handbook.pdf" and "vacation" in hits[0].chunk.text.lower()
    # Unchanged: nothing embedded. Renamed: followed without re-embedding.
    embedded = embedder.documents_embedded
    (folder / "handbook.pdf").rename(folder / "employee-handbook.pdf")
    again = ingest(collect_sources([folder]), backend_settings, embedder, sync=True)
    assert sorted(f.status for f in again.files) == ["renamed", "unchanged", "unchanged", "unchanged"]
    assert embedder.documents_embedded == embedded
    store = open_index(backend_settings, embedder)
    assert {c.source for c in store.chunks_of(list(store.documents))} >= {"employee-handbook.pdf"}
    hits = retrieve(QUESTION, store, embedder, backend_settings).hits
    assert hits[0].chunk.source == "employee-handbook.pdf"
    # A document filter, by name, keeps the search inside it.
    asked = "How do decision trees and linear regression differ?"
    notes = retrieve(asked, store, embedder, backend_settings, sources=["01-linear-regression.md"]).candidates
    assert notes and {h.chunk.source for h in notes} == {"01-linear-regression.md"}
    # Delete one; sync removes a file that left the folder.
    delete_documents(backend_settings, ["employee-handbook.pdf"])
    store = open_index(backend_settings, embedder)
    assert len(store.documents) == 3 and all(
        h.chunk.doc_id in store.documents for h in store.keyword_search("vacation", 9)
    )
    (folder / "02-decision-trees.md").unlink()
    (folder / "employee-handbook.pdf").unlink()
    ingest(collect_sources([folder]), backend_settings, embedder, sync=True)
    store = open_index(backend_settings, embedder)
    assert sorted(d.source for d in store.documents.values()) == ["01-linear-regression.md", "03-model-evaluation.md"]
    assert len(store) == sum(d.chunks for d in store.documents.values()) == len(store.all_chunks())


def test_collections_and_rebuild(backend_settings: Settings, embedder: HashEmbedder) -> None:
    course = backend_settings.model_copy(update={"collection": "biology-101"})
    ingest(collect_sources([SAMPLE_DOCS / "course-notes"]), course, embedder)
    ingest(collect_sources([HANDBOOK]), backend_settings, embedder)
    create_collection(backend_settings, "empty-team")
    listed = {c.name: c for c in list_collections(backend_settings)}
    assert listed["biology-101"].documents == 3 and listed["default"].documents == 1
    assert listed["empty-team"].index_kind == "empty"
    rebuilt = ingest(collect_sources([HANDBOOK]), course, embedder, rebuild=True)
    assert [f.status for f in rebuilt.files] == ["indexed"]
    assert [d.source for d in open_index(course, embedder).list_documents()] == ["northwind-handbook.pdf"]
    delete_collection(backend_settings, "biology-101")
    assert [c.name for c in list_collections(backend_settings)] == ["default", "empty-team"]


def test_langchain_adapter(backend_settings: Settings, embedder: HashEmbedder) -> None:
    ingest(collect_sources([HANDBOOK]), backend_settings, embedder)
    vectors = LocalVectorStore.from_settings(backend_settings, embedder)
    docs = vectors.as_retriever(search_kwargs={"k": 2}).invoke(QUESTION)
    assert docs[0].metadata["source"] == "northwind-handbook.pdf"
    ids = vectors.add_texts(["Parking permits cost 40 euros a month."], [{"source": "memo"}], ids=["memo-1"])
    assert vectors.get_by_ids(ids)[0].page_content.startswith("Parking permits")
    assert vectors.similarity_search("parking permits euros", k=1, filter={"source": "memo"})[0].id == "memo-1"
    assert len(vectors.max_marginal_relevance_search(QUESTION, k=2, fetch_k=5)) == 2
    vectors.delete(["memo-1"])
    assert vectors.get_by_ids(["memo-1"]) == []


def test_migration_round_trip_keeps_retrieval(settings: Settings, embedder: HashEmbedder, tmp_path: Path) -> None:
    ingest(collect_sources([SAMPLE_DOCS]), settings, embedder)
    faiss = open_index(settings, embedder)
    asked = [QUESTION, "What is a decision tree?", "How is a model evaluated?", "linear regression loss"]
    before = [[h.chunk.id for h in retrieve(q, faiss, embedder, settings).hits] for q in asked]
    milvus = settings.model_copy(update={"store": "milvus", "milvus_uri": str(tmp_path / "milvus.db")})
    embedded = embedder.documents_embedded
    moved = migrate(open_store(settings), open_store(milvus), "default")
    assert moved.chunks == len(faiss) and moved.documents == len(faiss.documents)
    assert embedder.documents_embedded == embedded  # nothing re-embedded
    there = open_index(milvus, embedder)
    assert there.documents == faiss.documents
    # Nearly the same passages: Milvus's own BM25 (its analyzer, its statistics) ranks a little differently.
    for question, found in zip(asked, before, strict=True):
        assert len({h.chunk.id for h in retrieve(question, there, embedder, milvus).hits} & set(found)) >= 4
    dense = milvus.model_copy(update={"hybrid": False})
    assert [[h.chunk.id for h in retrieve(q, there, embedder, dense).hits] for q in asked] == [
        [h.chunk.id for h in retrieve(q, faiss, embedder, dense).hits] for q in asked
    ]
    back = settings.model_copy(update={"index_dir": tmp_path / "back"})
    migrate(open_store(milvus), store_at(f"faiss:{tmp_path / 'back'}", settings), "default")
    close_stores()
    returned = open_index(back, embedder)
    assert sorted(c.id for c in returned.all_chunks()) == sorted(c.id for c in faiss.all_chunks())
    # The same BM25 again; only the order of chunks (and so of exact ties) may differ from the original.
    assert [{h.chunk.id for h in retrieve(q, returned, embedder, back).hits} for q in asked] == [set(b) for b in before]


def test_cli_migrates_and_lists_a_milvus_collection(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DOCQA_EMBEDDING_MODEL": "hash-bow"}
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.md").write_text("# Notes\n\nThe library opens at nine.\n", encoding="utf-8")
    index = tmp_path / "index"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from tests.conftest import HashEmbedder;"
        " import ingest.__main__ as m; m.embedder_for = lambda settings: HashEmbedder();"
        " sys.exit(m.main(sys.argv[2:]))"
    )

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, str(ROOT), "--index-dir", str(index), *args],
            capture_output=True, text=True, env=env | extra, cwd=tmp_path, timeout=300,
        )  # fmt: skip

    assert run(str(folder)).returncode == 0
    uri = str(tmp_path / "team.db")
    moved = run("--migrate-to", f"milvus:{uri}")
    assert moved.returncode == 0, moved.stderr
    assert "migrated 1 documents" in moved.stdout
    listed = run("--list", DOCQA_STORE="milvus", DOCQA_MILVUS_URI=uri)
    assert listed.returncode == 0 and "notes.md" in listed.stdout


def test_a_milvus_server_serves_several_processes(tmp_path: Path, settings: Settings, embedder: HashEmbedder) -> None:
    """`http://host:port` reaches a Milvus server with the same code: here Milvus Lite served on loopback, so an
    ingest in another process and this reader share one collection (a `.db` path admits one process)."""
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "served.db"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        served = settings.model_copy(update={"store": "milvus", "milvus_uri": f"http://127.0.0.1:{port}"})
        script = (
            "import sys; sys.path.insert(0, sys.argv[1]); from tests.conftest import HashEmbedder;"
            " from ingest import Settings, collect_sources, ingest;"
            " s = Settings(index_dir=sys.argv[2], store='milvus', milvus_uri=sys.argv[3], embedding_model='hash-bow',"
            " chunk_size=120, chunk_overlap=20, header_tokens=24, _env_file=None);"
            " ingest(collect_sources([sys.argv[4]]), s, HashEmbedder())"
        )
        writer = subprocess.run(
            [sys.executable, "-c", script, str(ROOT), str(settings.index_dir), served.milvus_uri, str(HANDBOOK)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert writer.returncode == 0, writer.stderr
        store = open_index(served, embedder)  # this process reads what the other one wrote
        assert [d.source for d in store.list_documents()] == ["northwind-handbook.pdf"]
        assert retrieve(QUESTION, store, embedder, served).hits[0].chunk.source == "northwind-handbook.pdf"
    finally:
        close_stores()
        server.terminate()
        server.wait(30)


@pytest.mark.parametrize("pattern", ["*.inverted.sidx", "*.vector.*.idx", "*_docs/**/*.v.flat.idx"])
def test_milvus_lite_rebuilds_an_index_a_kill_left_empty(
    settings: Settings, embedder: HashEmbedder, tmp_path: Path, pattern: str
) -> None:
    """A Milvus Lite process killed mid-write can leave an INVERTED index file of zero bytes (found by the SIGKILL
    test); the collection must still open, with every row, its index rebuilt from the rows."""
    from tests.conftest import backend_overrides

    milvus = settings.model_copy(update=backend_overrides("milvus", tmp_path))
    ingest(collect_sources([HANDBOOK]), milvus, embedder)
    before = len(open_index(milvus, embedder))
    close_stores()
    emptied = sorted(tmp_path.rglob(pattern))[0]
    emptied.write_bytes(b"")
    store = open_index(milvus, embedder)
    assert len(store) == before
    assert store.keyword_search("vacation days per calendar year", 1)[0].chunk.page == 3
    close_stores()
