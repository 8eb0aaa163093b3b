"""Every file of ../shared/eval/formats is read into text that holds what the file shows (phrases read off the
files by looking at them), or refused with a clear reason; tables keep their header with every row; and the
registry is the one place formats are added."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingest import DocumentError, Settings, collect_sources, ingest, load_bytes, load_file, open_index
from ingest.chunk import Chunker
from ingest.loaders import LoadOptions, kind_of, loaders, sniff
from ingest.types import ScoredChunk
from tests.conftest import HashEmbedder, write_pdf

FORMATS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "formats"
needs_formats = pytest.mark.skipif(not FORMATS.is_dir(), reason="../shared/eval/formats is not here")
needs_ocr = pytest.mark.skipif(not __import__("shutil").which("tesseract"), reason="tesseract is not installed")

#: file -> phrases its text must hold (read off the files), or ("refused", reason).
EXPECTED: dict[str, tuple[str, ...]] = {
    "2023-half-year-analyses-by-segment.xlsx": ("Operating segments: Revenue and results",),
    "all-number-table.pdf": ("1000.01",),
    "csv-with-escaped-commas.csv": ("A,A",),
    "csv-with-long-lines.csv": ("SpearmanCorrelationCoefficient: 1Freq CD161CD8TfrequencyUnstim",),
    "docx-tables.docx": ("Header Col 1: Lorem ipsum",),
    "emoji.xlsx": ("🤠😅",),
    "empty.xlsx": ("refused", "empty workbook"),
    "eng_spa_mult.epub": ("All human beings are born free and equal in dignity and rights",),
    "eng_spa_mult.pptx": ("Testing multiple languages", "Todos los seres humanos nacen libres"),
    "fake-doc.rtf": ("# My First Heading", "My first paragraph.", "Row 2, Cell 1"),
    "fake-power-point-malformed.pptx": ("Test Slide",),
    "fake-power-point-table.pptx": ("Column 1: Tangerine; Column 2: Pink; Column 3: Aqua",),
    "fake.odt": ("Lorem ipsum dolor sit amet.", "Header row: Leader; Mon: Sarah; Wed: Mark; Fri: Ryan"),
    "group-shapes-nested.pptx": tuple("ABCDEFGHIJ"),
    "korean-text-with-tables.pdf": ("적립 제외 대상",),
    "layout-parser-paper-with-table.pdf": ("Current layout detection models",),
    "more-than-1k-cells.xlsx": ("x; x; x",),
    "password_protected.xlsx": ("refused", "password-protected"),
    "picture.pptx": ("refused", "holds no text"),
    "sample-presentation.pptx": ("This one is a sub-sub-bullet", "Table: 2; A: A2; B: B2; C: C2"),
    "science-exploration-1p.pptx": ("Heliophysics Science Division",),
    "semicolon-delimited.csv": ("Lorem, ipsum: sed, do; dolor sit: eiusmod",),
    "stanley-cups-utf-16.csv": ("Team: Maple Leafs; Location: TOR; Stanley Cups: 13",),
    "stanley-cups.xlsx": ("Team: Maple Leafs; Location: TOR; Stanley Cups: 13", "Stanley Cups Since 67"),
    "tables-with-incomplete-rows.docx": ("missing cells from the end",),
    "vodafone.xlsx": ("Topic: Quarterly revenue; Period: Nine quarters to 30 June 2023",),
    "winter-sports.epub": ("Winter Sports in Switzerland", "E. F. Benson"),
    "xlsx-subtable-cases.xlsx": ("a: c; b: d",),
    "README.md": ("Real files in the formats people keep",),
    "LICENSE-unstructured-Apache-2.0.txt": ("Apache License",),
    # Images are read by OCR; these words come out right whatever small errors the rest has.
    "DA-1p.png": ("Abomination", "CREATURES"),
    "english-and-korean.png": ("RULES AND INSTRUCTIONS",),
    "layout-parser-paper-fast.jpg": ("LayoutParser",),
    "layout-parser-paper-fast.tiff": ("LayoutParser",),
    "table-multi-row-column-cells.png": ("Low Vision", "Mobility"),
    "double-column-A.jpg": ("CIVIL SERVICE RULES",),
}
IMAGES = {".png", ".jpg", ".tiff"}


@needs_formats
def test_every_file_of_the_formats_folder_is_expected() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in FORMATS.iterdir())


@needs_formats
@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if Path(n).suffix not in IMAGES))
def test_each_file_gives_its_text_or_a_reason(name: str) -> None:
    _check(name)


@needs_formats
@needs_ocr
@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if Path(n).suffix in IMAGES))
def test_images_are_read_by_ocr(name: str) -> None:
    document = _check(name)
    assert document is not None and document.ocr_pages == [1]
    assert document.loader == {"ocr": True, "ocr_languages": "eng"}


def _check(name: str):  # type: ignore[no-untyped-def]
    expected = EXPECTED[name]
    if expected[0] == "refused":
        with pytest.raises(DocumentError) as caught:
            load_file(FORMATS / name)
        assert caught.value.source == name and expected[1] in caught.value.reason
        return None
    document = load_file(FORMATS / name)
    text = "\n".join(page.text for page in document.pages)
    for phrase in expected:
        assert phrase in text, (name, phrase)
    return document


@needs_formats
def test_slides_are_cited_by_slide_and_sheets_by_sheet_and_rows(settings: Settings, tmp_path: Path) -> None:
    chunker = Chunker(lambda t: len(t.split()), chunk_size=120, chunk_overlap=20, header_tokens=24, max_tokens=256)
    deck = chunker.split(load_file(FORMATS / "sample-presentation.pptx"))
    assert [c.page for c in deck] == [1, 2, 3, 4]
    assert ScoredChunk(deck[3], 1.0).citation() == "sample-presentation.pptx, slide 4"
    assert deck[1].heading == "This is the first content slide"
    sheet = chunker.split(load_file(FORMATS / "stanley-cups.xlsx"))
    citations = [ScoredChunk(c, 1.0).citation() for c in sheet]
    assert "stanley-cups.xlsx, sheet Stanley Cups Since 67, rows 3–5 (header row 2)" in citations


def test_a_long_table_is_split_between_rows_and_every_piece_names_its_columns() -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Prices by region follow.")
    table = document.add_table(rows=1, cols=3)
    for cell, name in zip(table.rows[0].cells, ("Region", "Quarter", "Revenue"), strict=True):
        cell.text = name
    for index in range(80):
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = f"R{index}", "Q2", f"{1000 + index:,}"
    buffer = io.BytesIO()
    document.save(buffer)
    loaded = load_bytes(buffer.getvalue(), "prices.docx", suffix=".docx")
    chunker = Chunker(lambda t: len(t.split()), chunk_size=60, chunk_overlap=10, header_tokens=24, max_tokens=256)
    chunks = chunker.split(loaded)
    rows = [c for c in chunks if "Revenue:" in c.text]
    assert len(rows) > 3 and chunks[0].text == "Prices by region follow."
    for chunk in rows:
        for line in chunk.text.splitlines()[1 if chunk is rows[0] else 0 :]:  # the first piece opens with the names
            assert line.startswith("Region: R") and "; Quarter: Q2; Revenue: " in line, line
    every_row = [line for c in rows for line in c.text.splitlines() if line.startswith("Region: ")]
    assert len(every_row) == 80  # nothing lost, nothing repeated, never cut mid-row
    page = loaded.pages[0].text
    assert all(page[c.start : c.end] == c.text for c in chunks)


def test_a_small_table_stays_in_one_passage() -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Intro. " * 30)
    table = document.add_table(rows=3, cols=2)
    for row, values in zip(table.rows, (("Region", "Q2 revenue"), ("EMEA", "1,204"), ("APAC", "987")), strict=True):
        row.cells[0].text, row.cells[1].text = values
    buffer = io.BytesIO()
    document.save(buffer)
    chunker = Chunker(lambda t: len(t.split()), chunk_size=40, chunk_overlap=10, header_tokens=24, max_tokens=256)
    chunks = chunker.split(load_bytes(buffer.getvalue(), "t.docx", suffix=".docx"))
    tables = [c for c in chunks if "EMEA" in c.text]
    assert len(tables) == 1 and "Region: EMEA; Q2 revenue: 1,204\nRegion: APAC; Q2 revenue: 987" in tables[0].text


def test_one_sniffing_function_serves_ingest_and_the_page_view(tmp_path: Path) -> None:
    from assistant.evidence import is_pdf

    late_header = b"\n" * 500 + write_pdf(tmp_path / "a.pdf", ["Text."]).read_bytes()
    (tmp_path / "late.pdf").write_bytes(late_header)
    assert sniff(late_header, ".pdf") == "pdf" and is_pdf(tmp_path / "late.pdf")
    (tmp_path / "fake.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert kind_of(b"\x89PNG\r\n\x1a\n" + bytes(100), ".pdf") is None and not is_pdf(tmp_path / "fake.pdf")


def test_every_loader_names_its_suffixes_and_reads_only_by_content() -> None:
    kinds = {item.kind for item in loaders()}
    assert {"pdf", "docx", "pptx", "xlsx", "csv", "epub", "odt", "rtf", "image", "html", "markdown", "text"} <= kinds
    assert all(item.suffixes and all(s.startswith(".") for s in item.suffixes) for item in loaders())
    with pytest.raises(DocumentError, match="not a PowerPoint deck"):
        sniff(b"PK\x03\x04" + bytes(200), ".pptx", "deck.pptx")


@needs_formats
def test_a_folder_of_every_format_goes_in_and_each_failure_is_a_reason(
    tmp_path: Path, settings: Settings, embedder: HashEmbedder
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("fake-power-point-table.pptx", "stanley-cups.xlsx", "password_protected.xlsx", "fake.odt"):
        (folder / name).write_bytes((FORMATS / name).read_bytes())
    (folder / "bomb.xlsx").write_bytes(_bomb("xl/workbook.xml"))
    report = ingest(collect_sources([folder]), settings.model_copy(update={"ocr": False}), embedder)
    status = {f.source: (f.status, f.reason) for f in report.files}
    assert status["password_protected.xlsx"][0] == "failed" and "password" in status["password_protected.xlsx"][1]
    assert status["bomb.xlsx"][0] == "failed" and "compression bomb" in status["bomb.xlsx"][1]
    assert {status[n][0] for n in ("fake-power-point-table.pptx", "stanley-cups.xlsx", "fake.odt")} == {"indexed"}
    store = open_index(settings, embedder)
    assert any("Column 1: Tangerine" in c.text for c in store.chunks)


def _bomb(marker: str) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(marker, "<x/>")
        archive.writestr("big.xml", b"\0" * (64 * 1024 * 1024))
    return buffer.getvalue()


def test_ocr_off_refuses_an_image_with_the_reason() -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (50, 50), 255).save(buffer, "PNG")
    with pytest.raises(DocumentError, match="OCR is off"):
        load_bytes(buffer.getvalue(), "scan.png", suffix=".png", options=LoadOptions(ocr=False))
