"""The ingestion run: per-file report, skip unchanged, replace changed, bad files never block the batch."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from ingest import Settings, SourceFile, collect_sources, ingest, open_index
from tests.conftest import HANDBOOK, HashEmbedder, write_pdf


def manifest_hash(settings: Settings) -> str:
    current = (settings.collection_dir / "CURRENT").read_text().strip()
    return hashlib.sha256((settings.collection_dir / "commits" / current / "manifest.json").read_bytes()).hexdigest()


def test_folder_sources_are_named_relative_to_the_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text("# A\ntext")
    (tmp_path / ".hidden.md").write_text("secret")
    (tmp_path / "image.gif").write_bytes(b"GIF89a")  # not a supported type
    assert [s.source for s in collect_sources([tmp_path])] == ["sub/a.md"]


def test_report_lists_pages_chunks_and_failures(tmp_path: Path, settings: Settings, embedder: HashEmbedder) -> None:
    good = write_pdf(tmp_path / "good.pdf", ["Holiday policy: 27 days.", "", "Expense policy: 30 days."])
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n garbage")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    progress: list[tuple[str, int, int]] = []
    report = ingest(
        collect_sources([good, broken, empty]), settings, embedder, on_progress=lambda *call: progress.append(call)
    )
    assert [c for c in progress if c[0] == "reading"] == [("reading", i, 3) for i in (1, 2, 3)]
    assert progress[-1][0] == "embedding" and progress[-1][1] == progress[-1][2] > 0
    by_name = {f.source: f for f in report.files}
    assert by_name["good.pdf"].status == "indexed"
    assert by_name["good.pdf"].pages == 3 and by_name["good.pdf"].empty_pages == [2]
    assert by_name["broken.pdf"].status == "failed" and "PDF" in by_name["broken.pdf"].reason
    assert by_name["empty.txt"].status == "failed" and "empty" in by_name["empty.txt"].reason
    store = open_index(settings, embedder)
    assert {c.source for c in store.chunks} == {"good.pdf"}
    assert {c.page for c in store.chunks} == {1, 3}


def test_unchanged_files_are_not_embedded_again(tmp_path: Path, settings: Settings, embedder: HashEmbedder) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(HANDBOOK.parent, docs)
    ingest(collect_sources([docs]), settings, embedder)
    embedded, before = embedder.documents_embedded, manifest_hash(settings)
    report = ingest(collect_sources([docs]), settings, embedder)
    assert {f.status for f in report.files} == {"unchanged"}
    assert embedder.documents_embedded == embedded
    assert manifest_hash(settings) == before


def test_changed_file_replaces_its_chunks(tmp_path: Path, settings: Settings, embedder: HashEmbedder) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\nThe exam is on Monday.")
    ingest(collect_sources([notes]), settings, embedder)
    notes.write_text("# Notes\nThe exam moved to Friday.")
    report = ingest(collect_sources([notes]), settings, embedder)
    assert report.files[0].status == "indexed"
    store = open_index(settings, embedder)
    assert len(store.documents) == 1
    assert all("Friday" in c.text for c in store.chunks)


def test_same_content_under_another_name_is_recognized(
    tmp_path: Path, settings: Settings, embedder: HashEmbedder
) -> None:
    first = tmp_path / "a.md"
    first.write_text("# Same\nidentical content")
    copy = tmp_path / "b.md"
    copy.write_text("# Same\nidentical content")
    report = ingest([SourceFile(first, "a.md"), SourceFile(copy, "b.md")], settings, embedder)
    assert [f.status for f in report.files] == ["indexed", "duplicate"]
    assert "a.md" in report.files[1].reason


def test_rejected_file_leaves_the_index_unchanged(tmp_path: Path, settings: Settings, embedder: HashEmbedder) -> None:
    ingest(collect_sources([HANDBOOK]), settings, embedder)
    before = manifest_hash(settings)
    bad = tmp_path / "fake.pdf"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    report = ingest(collect_sources([bad]), settings, embedder)
    assert report.files[0].status == "failed" and "PNG" in report.files[0].reason
    assert manifest_hash(settings) == before


def test_sync_removes_documents_gone_from_the_folder(
    tmp_path: Path, settings: Settings, embedder: HashEmbedder
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "keep.md").write_text("# Keep\nstays")
    (folder / "drop.md").write_text("# Drop\ngoes")
    ingest(collect_sources([folder]), settings, embedder)
    (folder / "drop.md").unlink()
    ingest(collect_sources([folder]), settings, embedder, sync=True)
    assert {d.source for d in open_index(settings, embedder).list_documents()} == {"keep.md"}


def test_rebuild_with_other_settings(tmp_path: Path, settings: Settings, embedder: HashEmbedder) -> None:
    ingest(collect_sources([HANDBOOK]), settings, embedder)
    bigger = settings.model_copy(update={"chunk_size": 150})
    report = ingest(collect_sources([HANDBOOK]), bigger, embedder, rebuild=True)
    assert report.files[0].status == "indexed"
    assert open_index(bigger, embedder).config.chunk_size == 150
