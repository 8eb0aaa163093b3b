"""Bad and hostile input: every case gets a clear outcome, the batch goes on, and a rejected file changes nothing."""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path

import pytest

from ingest import DocumentError, Settings, SourceFile, ingest, open_index, save_upload
from ingest.isolate import IsolatedParser
from tests.conftest import HANDBOOK, HashEmbedder
from tests.hostile import HOSTILE_NAMES, Case, big_pdf, docx_bomb, generated_cases, shared_cases

IN_INDEX = {"indexed", "unchanged", "duplicate", "renamed"}


@pytest.fixture(scope="module")
def two_thousand_pages() -> bytes:
    return big_pdf(2000)


def index_fingerprint(settings: Settings) -> tuple[str, str]:
    directory = settings.collection_dir
    current = (directory / "CURRENT").read_text().strip()
    return current, hashlib.sha256((directory / "commits" / current / "manifest.json").read_bytes()).hexdigest()


def write_cases(folder: Path, cases: list[Case]) -> list[SourceFile]:
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    for number, case in enumerate(cases):
        path = folder / f"{number:03d}{Path(case.name).suffix}"
        path.write_bytes(case.data)
        sources.append(SourceFile(path, case.name))
    return sources


def check_outcomes(cases: list[Case], report_files: list) -> list[str]:  # type: ignore[type-arg]
    """What went wrong, case by case; empty when every case was handled as it should be."""
    problems = []
    for case, result in zip(cases, report_files, strict=True):
        assert result.source == case.name
        if case.expect == "indexed" and result.status not in IN_INDEX:
            problems.append(f"{case.name}: expected to be indexed, got {result.status} ({result.reason})")
        if case.expect == "failed" and result.status != "failed":
            problems.append(f"{case.name}: expected a refusal, got {result.status}")
        if result.status == "failed" and (not result.reason or case.reason not in result.reason):
            problems.append(f"{case.name}: reason {result.reason!r} does not say {case.reason!r}")
    return problems


def test_every_bad_input_is_handled_and_the_batch_goes_on(
    tmp_path: Path, settings: Settings, two_thousand_pages: bytes
) -> None:
    embedder = HashEmbedder()
    ingest([SourceFile(HANDBOOK, "northwind-handbook.pdf")], settings, embedder)
    before = {c.id for c in open_index(settings, embedder).chunks}
    cases = shared_cases() + generated_cases(two_thousand_pages)
    report = ingest(write_cases(tmp_path / "batch", cases), settings, embedder)
    assert check_outcomes(cases, report.files) == []
    store = open_index(settings, embedder)
    assert before <= {c.id for c in store.chunks}, "the existing index lost chunks"
    big = next(d for d in store.documents.values() if d.source == "two-thousand-pages.pdf")
    assert big.pages == 2000
    assert any(c.page == 1999 and "13993" in c.text for c in store.chunks if c.doc_id == big.doc_id)
    for result in report.failed:
        assert result.reason.endswith((".", ")")), result.reason


def test_rejected_files_leave_the_index_byte_identical(tmp_path: Path, settings: Settings) -> None:
    embedder = HashEmbedder()
    ingest([SourceFile(HANDBOOK, "northwind-handbook.pdf")], settings, embedder)
    before = index_fingerprint(settings)
    rejected = [c for c in shared_cases() + generated_cases() if c.expect == "failed"]
    report = ingest(write_cases(tmp_path / "bad", rejected), settings, embedder)
    assert {f.status for f in report.files} == {"failed"}
    assert index_fingerprint(settings) == before


def test_text_no_encoding_reads_is_refused_and_changes_nothing(tmp_path: Path, settings: Settings) -> None:
    """Bytes that are neither binary nor text in any encoding are refused, not indexed as mojibake."""
    embedder = HashEmbedder()
    ingest([SourceFile(HANDBOOK, "northwind-handbook.pdf")], settings, embedder)
    before = index_fingerprint(settings)
    noise = random.Random(17)
    path = tmp_path / "notes.txt"
    path.write_bytes(bytes(noise.randrange(0x80, 0x100) for _ in range(20_000)))
    report = ingest([SourceFile(path, "notes.txt")], settings, embedder)
    assert [(f.status, f.reason.split(":")[0]) for f in report.files] == [
        ("failed", "the text encoding could not be recognised")
    ]
    assert index_fingerprint(settings) == before


def test_hostile_upload_names_never_reach_a_path(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    for name in HOSTILE_NAMES:
        stored = save_upload(HANDBOOK.read_bytes(), name, uploads, 10_000_000)
        assert (
            stored.path.parent == uploads
            and stored.path.name == hashlib.sha256(HANDBOOK.read_bytes()).hexdigest() + ".pdf"
        )
        shown = stored.source
        assert shown and len(shown) <= 120
        assert not set(shown) & {"/", "\\", "\x00", "\u202e"}
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [stored.path.name]


def test_a_hanging_parse_is_stopped_and_the_worker_replaced(two_thousand_pages: bytes) -> None:
    parser = IsolatedParser(timeout=120)
    try:
        parser.load(b"# warm\nup", "warm.md", suffix=".md")  # the worker is up
        parser.timeout = 0.3
        started = time.monotonic()
        with pytest.raises(DocumentError, match="took longer than"):
            parser.load(two_thousand_pages, "slow.pdf", suffix=".pdf")
        assert time.monotonic() - started < 30
        parser.timeout = 120  # a fresh worker takes the next file (with room for a busy machine)
        assert parser.load(HANDBOOK.read_bytes(), "after.pdf", suffix=".pdf").pages
    finally:
        parser.close()


def test_a_decompression_bomb_hits_the_memory_cap_not_the_app() -> None:
    parser = IsolatedParser(timeout=120, memory_mb=1024)
    try:
        # Refused from the ZIP directory before inflating; the memory cap stays the backstop for what that misses.
        with pytest.raises(DocumentError, match=r"compression bomb|more than 1024 MB of memory"):
            parser.load(docx_bomb(800), "bomb.docx", suffix=".docx")
        assert parser.load(HANDBOOK.read_bytes(), "after.pdf", suffix=".pdf").pages
    finally:
        parser.close()
