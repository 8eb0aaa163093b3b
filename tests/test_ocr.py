"""OCR: scanned PDF pages and images are read offline by Tesseract in the parsing worker, in reading order
(columns in turn, tables by rows, a margin line and a page on its side turned upright), marked as OCR'd in
citations and the library, reported page by page when they cannot be read, and re-read when OCR is turned on."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pytest

from ingest import DocumentError, Settings, SourceFile, ingest, load_bytes, open_index
from ingest.loaders import LoadOptions
from ingest.types import ScoredChunk
from tests.conftest import HashEmbedder, write_pdf
from tests.test_app import app_env, button, run_app, show  # noqa: F401  (app_env: the app on fakes)

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")

PAGES = [
    "Employees are entitled to twenty seven vacation days per calendar year.",
    "Expense reports are due within thirty days of travel.",
]


def scanned_pdf(tmp_path: Path, pages: list[str] = PAGES) -> bytes:
    """A PDF whose pages are only pictures of text: drawn by pdfium, saved as images in a PDF."""
    import pypdfium2

    original = pypdfium2.PdfDocument(write_pdf(tmp_path / "text.pdf", pages).read_bytes())
    images = [original[i].render(scale=200 / 72, grayscale=True).to_pil() for i in range(len(original))]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def test_a_scanned_pdf_is_read_and_marked(tmp_path: Path) -> None:
    document = load_bytes(scanned_pdf(tmp_path), "scan.pdf", suffix=".pdf")
    assert document.ocr_pages == [1, 2] and not document.empty_pages
    assert "vacation days" in document.pages[0].text and "Expense reports" in document.pages[1].text
    assert document.loader == {"ocr": True, "ocr_languages": "eng", "pdf_tables": LoadOptions().pdf_tables}


def test_a_scanned_pdf_with_ocr_off_says_how_to_read_it(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="turn OCR on"):
        load_bytes(scanned_pdf(tmp_path), "scan.pdf", suffix=".pdf", options=LoadOptions(ocr=False))


def test_a_multi_page_tiff_is_a_page_per_frame(tmp_path: Path) -> None:
    import pypdfium2

    original = pypdfium2.PdfDocument(write_pdf(tmp_path / "t.pdf", PAGES).read_bytes())
    frames = [original[i].render(scale=200 / 72, grayscale=True).to_pil() for i in range(2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_deflate")
    document = load_bytes(buffer.getvalue(), "scan.tiff", suffix=".tiff")
    assert [p.number for p in document.pages] == [1, 2] and document.ocr_pages == [1, 2]
    assert "thirty days" in document.pages[1].text


def mixed_pdf(tmp_path: Path) -> bytes:
    """A typed page, then a scanned one."""
    import pypdf

    writer = pypdf.PdfWriter()
    typed = write_pdf(tmp_path / "typed.pdf", ["A typed page about parking permits."]).read_bytes()
    for data in (typed, scanned_pdf(tmp_path, PAGES[:1])):
        for page in pypdf.PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pages_past_the_time_limit_are_reported_and_the_rest_goes_in(tmp_path: Path) -> None:
    options = LoadOptions(deadline=time.monotonic() - 1)
    document = load_bytes(mixed_pdf(tmp_path), "mixed.pdf", suffix=".pdf", options=options)
    assert "parking permits" in document.pages[0].text and document.empty_pages == [2]
    assert document.warnings == [
        "page 2: no text layer, and not read by OCR: the file's time limit (parse_timeout_s) was reached first"
    ]


def test_ocr_on_rereads_the_files_it_affects_and_citations_say_ocr(
    tmp_path: Path, settings: Settings, embedder: HashEmbedder
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    mixed = folder / "mixed.pdf"
    mixed.write_bytes(mixed_pdf(tmp_path))
    (folder / "notes.md").write_text("# Notes\nNothing scanned here.")
    notes = folder / "notes.md"
    sources = [SourceFile(mixed, "mixed.pdf", str(mixed)), SourceFile(notes, "notes.md", str(notes))]

    report = ingest(sources, settings.model_copy(update={"ocr": False}), embedder)
    assert [f.empty_pages for f in report.files] == [[2], []]
    report = ingest(sources, settings, embedder)  # OCR on: only the PDF with an unread page is read again
    status = {f.source: f for f in report.files}
    assert status["mixed.pdf"].status == "indexed" and "OCR settings changed" in status["mixed.pdf"].reason
    assert status["mixed.pdf"].ocr_pages == [2] and status["notes.md"].status == "unchanged"
    store = open_index(settings, embedder)
    info = next(d for d in store.documents.values() if d.source == "mixed.pdf")
    assert info.ocr_pages == [2]
    assert info.loader == {"ocr": True, "ocr_languages": "eng", "pdf_tables": settings.pdf_tables}
    scanned = [c for c in store.chunks if c.page == 2]
    assert scanned and "vacation days" in scanned[0].text
    assert ScoredChunk(scanned[0], 1.0).citation() == "mixed.pdf, p. 2 (OCR)"
    assert {f.status for f in ingest(sources, settings, embedder).files} == {"unchanged"}
    report = ingest(sources, settings.model_copy(update={"ocr_languages": "eng+deu"}), embedder)
    assert {f.source: f.status for f in report.files} == {"mixed.pdf": "indexed", "notes.md": "unchanged"}


LEFT_COLUMN = (
    "Harbour cranes load the cargo ships at dawn, and the first shift ends before the tide turns back. "
    "Each crane lifts forty containers an hour when the wind stays calm over the quay."
)
RIGHT_COLUMN = (
    "Mountain railways climb through tunnels cut by hand a century ago, and their timetables still follow "
    "the seasons of snow. Winter trains run twice a day from the valley station."
)


def two_column_scan(tmp_path: Path) -> bytes:
    """A scanned page of two columns of prose, a table under them, and a line set up the right margin."""
    import pypdfium2
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.set_xy(15, 20)
    pdf.multi_cell(85, 6, LEFT_COLUMN)
    pdf.set_xy(110, 20)
    pdf.multi_cell(85, 6, RIGHT_COLUMN)
    for n, cells in enumerate([("Station", "Trains", "Minutes"), ("Valley", "12", "40"), ("Summit", "4", "95")]):
        for cell, x in zip(cells, (30, 90, 150), strict=True):
            pdf.text(x, 90 + 8 * n, cell)
    with pdf.rotation(90, 203, 200):
        pdf.text(203, 200, "Downloaded from the archive on 23 May 2024")
    path = tmp_path / "columns.pdf"
    pdf.output(str(path))
    image = pypdfium2.PdfDocument(str(path))[0].render(scale=200 / 72, grayscale=True).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=200)
    return buffer.getvalue()


def test_columns_are_read_in_turn_tables_by_row_and_margin_lines_upright(tmp_path: Path) -> None:
    text = " ".join(load_bytes(two_column_scan(tmp_path), "columns.pdf", suffix=".pdf").pages[0].text.split())
    assert "forty containers an hour when the wind stays calm over the quay. Mountain railways" in text
    assert "Valley 12 40" in text and "Summit 4 95" in text
    assert text.endswith("Downloaded from the archive on 23 May 2024")


def test_a_page_scanned_on_its_side_is_read_turned(tmp_path: Path) -> None:
    import pypdfium2

    text = " ".join([PAGES[0], PAGES[1], LEFT_COLUMN])
    page = pypdfium2.PdfDocument(write_pdf(tmp_path / "side.pdf", [text]).read_bytes())[0]
    image = page.render(scale=200 / 72, grayscale=True).to_pil().rotate(90, expand=True)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    read = " ".join(load_bytes(buffer.getvalue(), "side.png", suffix=".png").pages[0].text.split())
    assert "twenty seven vacation days" in read and "Harbour cranes load the cargo ships" in read


@pytest.mark.usefixtures("app_env")
def test_the_library_shows_which_pages_were_read_by_ocr(tmp_path: Path) -> None:
    """The upload's report and the documents table both name the pages read by OCR."""
    app = show(run_app(), "Library")
    app.file_uploader[0].set_value([("mixed.pdf", mixed_pdf(tmp_path), "application/pdf")]).run()
    button(app, "Add to index").click().run()
    assert not app.exception, app.exception
    reports = " ".join(s.value for s in app.success).replace("\\", "")
    assert "mixed.pdf: indexed, 2 pages" in reports and "read by OCR: page 2" in reports
    assert list(app.dataframe[0].value["pages read by OCR"]) == ["2"]


def test_ocr_pages_are_listed_as_runs() -> None:
    from assistant.app.library_page import page_ranges

    assert page_ranges([]) == "" and page_ranges([4]) == "4"
    assert page_ranges([7, 1, 2, 3, 9, 10]) == "1–3, 7, 9–10"
    assert page_ranges(list(range(1, 40, 2)), limit=3) == "1, 3, 5, …"
