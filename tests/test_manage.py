"""Managing the index: delete and list documents, collections, renames, re-ingest without loading a model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ingest import Embedder, IndexStoreError, Settings, collect_sources, ingest, open_index, open_store
from ingest.manage import (
    collection_names,
    create_collection,
    delete_collection,
    delete_documents,
    list_collections,
    list_documents,
)
from tests.conftest import HANDBOOK, ROOT, SAMPLE_DOCS, HashEmbedder


class NeverLoads(Embedder):
    """An embedder that fails if anything asks it for a model: an unchanged re-ingest must not."""

    name = "hash-bow"

    @property
    def dimension(self) -> int:  # type: ignore[override]
        raise AssertionError("the embedder was loaded")

    @property
    def max_tokens(self) -> int:  # type: ignore[override]
        raise AssertionError("the embedder was loaded")

    def count_tokens(self, text: str) -> int:
        raise AssertionError("the tokenizer was used")

    def embed_documents(self, texts: list[str], on_progress=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        raise AssertionError("documents were embedded")

    def embed_query(self, text: str) -> np.ndarray:
        raise AssertionError("a query was embedded")


def test_unchanged_reingest_never_loads_the_embedder(tmp_path: Path, settings: Settings) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLE_DOCS, docs)
    ingest(collect_sources([docs]), settings, HashEmbedder())
    report = ingest(collect_sources([docs]), settings, NeverLoads(), sync=True)
    assert {f.status for f in report.files} == {"unchanged"}


def test_renamed_file_keeps_its_vectors_under_the_new_name(tmp_path: Path, settings: Settings) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(HANDBOOK, docs / "handbook.pdf")
    embedder = HashEmbedder()
    ingest(collect_sources([docs]), settings, embedder)
    before = open_index(settings, embedder)
    (docs / "handbook.pdf").rename(docs / "employee-handbook.pdf")
    report = ingest(collect_sources([docs]), settings, NeverLoads(), sync=True)
    assert [(f.source, f.status) for f in report.files] == [("employee-handbook.pdf", "renamed")]
    after = open_index(settings, embedder)
    assert [d.source for d in after.list_documents()] == ["employee-handbook.pdf"]
    assert {c.source for c in after.chunks} == {"employee-handbook.pdf"}
    assert sorted(c.id for c in after.chunks) == sorted(c.id for c in before.chunks)
    assert after.search(embedder.embed_query("vacation days"), 1)[0].chunk.source == "employee-handbook.pdf"


def test_delete_a_document_by_name_or_hash(settings: Settings, embedder: HashEmbedder) -> None:
    ingest(collect_sources([SAMPLE_DOCS]), settings, embedder)
    documents = list_documents(settings)
    assert len(documents) == 4 and all(d.pages and d.chunks and d.size_bytes and d.ingested_at for d in documents)
    notes = next(d for d in documents if d.source.startswith("course-notes/01-"))
    removed = delete_documents(settings, ["northwind-handbook.pdf", notes.doc_id[:10]])
    assert sorted(d.source for d in removed) == sorted(["northwind-handbook.pdf", notes.source])
    store = open_index(settings, embedder)
    assert {c.source for c in store.chunks} == {d.source for d in store.documents.values()}
    assert len(store.documents) == 2
    with pytest.raises(IndexStoreError, match="python -m ingest --list"):
        delete_documents(settings, ["nothing-like-this.pdf"])


def test_collections_are_separate_and_managed(settings: Settings, embedder: HashEmbedder) -> None:
    course = settings.model_copy(update={"collection": "biology-101"})
    ingest(collect_sources([SAMPLE_DOCS / "course-notes"]), course, embedder)
    ingest(collect_sources([HANDBOOK]), settings, embedder)
    create_collection(settings, "empty-team")
    listed = {c.name: c for c in list_collections(settings)}
    assert listed["biology-101"].documents == 3 and listed["default"].documents == 1
    assert listed["empty-team"].index_kind == "empty"
    assert {c.source for c in open_index(course, embedder).chunks}.isdisjoint({"northwind-handbook.pdf"})
    delete_collection(settings, "biology-101")
    assert [c.name for c in list_collections(settings)] == ["default", "empty-team"]
    assert collection_names(settings) == ["default", "empty-team"]
    with pytest.raises(IndexStoreError, match="not a valid collection name"):
        create_collection(settings, "../escape")


def test_cli_lists_deletes_and_manages_collections(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ingest", "--index-dir", str(tmp_path / "index"), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )

    assert run("--create-collection", "team").returncode == 0
    listed = run("--collections")
    assert "team" in listed.stdout and "empty" in listed.stdout
    assert "has no documents" in run("--list", "--collection", "team").stdout
    missing = run("--delete", "x.pdf", "--collection", "team")
    assert missing.returncode == 1 and "no index yet" in missing.stderr
    assert run("--delete-collection", "team").returncode == 0
    assert "No collections" in run("--collections").stdout
    bad = run("--collection", "../up", "--list")
    assert bad.returncode == 2 and "collection" in bad.stderr


@pytest.mark.real_models
def test_cli_extends_a_float_collection_with_float_weights_under_the_int8_default(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.md").write_text("# Leave\nEmployees get 27 vacation days a year.", encoding="utf-8")
    (docs / "parking.md").write_text("# Parking\nThe garage is free with a badge.", encoding="utf-8")

    def run(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ingest", "--index-dir", str(tmp_path / "index"), "--quiet", str(path)]
        environment = {k: v for k, v in os.environ.items() if k != "DOCQA_EMBEDDING_BACKEND"} | env
        return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600, env=environment)

    assert run(docs / "leave.md", DOCQA_EMBEDDING_BACKEND="onnx").returncode == 0
    added = run(docs / "parking.md")  # the default: int8
    assert added.returncode == 0, added.stderr
    assert "adding with the embedder it was built with" in added.stderr and "--rebuild" in added.stderr
    settings = Settings(index_dir=tmp_path / "index", _env_file=None)  # type: ignore[call-arg]
    config = open_store(settings).config_of(settings.collection)
    assert config is not None and config.quantization == ""  # still float: nothing mixed
    assert len(list_documents(settings)) == 2
