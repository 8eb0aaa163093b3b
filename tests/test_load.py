"""Loaders: page numbers, formats, encodings, and clear errors for broken, encrypted and disguised files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingest import DocumentError, load_bytes, load_file
from tests.conftest import HANDBOOK, SHARED, write_pdf

BAD = SHARED / "eval" / "bad-inputs"


def test_pdf_pages_are_one_based_and_keep_their_facts() -> None:
    document = load_file(HANDBOOK)
    assert [p.number for p in document.pages] == list(range(1, 11))
    assert "27 vacation days" in document.pages[2].text
    assert "45 euros" in document.pages[4].text
    assert document.title == "Northwind Analytics Employee Handbook"
    assert len(document.doc_id) == 64


def test_markdown_title_and_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Thermodynamics\n\nEntropy never decreases.\n", encoding="utf-8")
    document = load_file(path)
    assert document.title == "Thermodynamics"
    assert document.pages[0].number is None
    assert "Entropy never decreases." in document.pages[0].text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Café crème à 3 €".encode("cp1252"), "Café crème à 3 €"),
        ("Grüße aus Köln".encode("latin-1"), "Grüße aus Köln"),
        ("Ünïcödé in UTF-16".encode("utf-16"), "Ünïcödé in UTF-16"),
        ("\ufeffUTF-8 with a BOM".encode(), "UTF-8 with a BOM"),
    ],
)
def test_text_in_any_common_encoding(raw: bytes, expected: str) -> None:
    assert load_bytes(raw, "a.txt", suffix=".txt").pages[0].text == expected


def test_html_drops_scripts_and_keeps_headings(tmp_path: Path) -> None:
    html = b"<html><head><title>Policy</title><script>alert(1)</script></head><body><h2>Leave</h2><p>Ten days.</p>"
    document = load_bytes(html, "p.html", suffix=".html")
    assert document.title == "Policy"
    assert "alert" not in document.pages[0].text
    assert "## Leave" in document.pages[0].text


def test_docx_headings_become_markdown() -> None:
    import docx

    doc = docx.Document()
    doc.add_heading("Expenses", level=1)
    doc.add_paragraph("Receipts are due within 30 days.")
    buffer = io.BytesIO()
    doc.save(buffer)
    document = load_bytes(buffer.getvalue(), "policy.docx", suffix=".docx")
    assert "# Expenses" in document.pages[0].text
    assert "30 days" in document.pages[0].text


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "empty.pdf", "empty"),
        (b"   \n\t  ", "blank.txt", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "photo.pdf", "PNG image, not a PDF"),
        (b"PK\x03\x04" + b"\x00" * 100, "archive.pdf", "ZIP archive, not a PDF"),
        (bytes(range(256)) * 50, "blob.txt", "binary"),
        (b"data", "table.xlsx", "not an Excel workbook"),
        (b"data", "table.numbers", "unsupported file type"),
    ],
)
def test_bad_files_get_a_clear_reason(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(DocumentError) as caught:
        load_bytes(data, name, suffix=Path(name).suffix)
    assert caught.value.source == name
    assert reason in caught.value.reason
    assert name in str(caught.value)


def test_truncated_pdf_is_refused_or_partially_read(tmp_path: Path) -> None:
    data = HANDBOOK.read_bytes()
    for cut in (200, len(data) // 3, len(data) // 2, len(data) - 100):
        try:
            document = load_bytes(data[:cut], "cut.pdf", suffix=".pdf")
        except DocumentError as exc:
            assert exc.source == "cut.pdf" and exc.reason
        else:
            assert any(p.text for p in document.pages)


def test_scanned_pdf_has_no_text(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "scan.pdf", ["", ""])
    with pytest.raises(DocumentError, match="no extractable text"):
        load_file(path)


def test_pdf_with_some_empty_pages_reports_them(tmp_path: Path) -> None:
    document = load_file(write_pdf(tmp_path / "mixed.pdf", ["First page text.", "", "Third page text."]))
    assert document.empty_pages == [2]


def test_size_limit(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="over the"):
        load_bytes(b"x" * 2000, "big.txt", suffix=".txt", max_bytes=1000)


@pytest.mark.skipif(not BAD.exists(), reason="shared/eval/bad-inputs not present")
class TestSharedBadInputs:
    def test_empty_password_pdf_is_opened(self) -> None:
        document = load_file(BAD / "pypdf-r2-empty-password.pdf")
        assert any(p.text.strip() for p in document.pages)

    def test_password_protected_pdf_says_so(self) -> None:
        with pytest.raises(DocumentError, match="password-protected"):
            load_file(BAD / "pypdf-libreoffice-writer-password.pdf")

    def test_aes256_pdf_opens_with_cryptography_installed(self) -> None:
        assert load_file(BAD / "pypdf-r6-user-password.pdf").pages[0].text

    def test_image_only_pdf_is_flagged(self) -> None:
        with pytest.raises(DocumentError, match="no extractable text"):
            load_file(BAD / "samplefiles-imagemagick-CCITTFaxDecode-image-only.pdf")

    def test_cyclic_page_tree_is_refused(self) -> None:
        with pytest.raises(DocumentError) as caught:
            load_file(BAD / "qpdf-pages-loop.pdf")
        assert caught.value.source == "qpdf-pages-loop.pdf"

    def test_control_document_loads(self) -> None:
        assert load_file(BAD / "samplefiles-minimal-document-control.pdf").pages


def test_damaged_word_document_is_refused_with_a_reason() -> None:
    """Found by scripts/fuzz_loaders.py: a DOCX whose deflate stream is damaged raised zlib.error."""
    import docx

    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Receipts are due within 30 days. " * 200)
    document.save(buffer)
    data = bytearray(buffer.getvalue())
    member = data.index(b"word/document.xml") + len("word/document.xml")  # its local header, then its data
    for at in range(member + 40, member + 60):
        data[at] ^= 0x55
    with pytest.raises(DocumentError, match="not a readable Word document"):
        load_bytes(bytes(data), "damaged.docx", suffix=".docx")


def test_pdf_text_comes_from_pdfium_with_hyphenated_words_whole() -> None:
    """pdfium marks a word hyphenated across a line end with U+FFFE; the word comes back whole."""
    paper = SHARED / "eval" / "data" / "mmlongbench-doc-papers" / "pdfs" / "2023.acl-long.386.pdf"
    if not paper.exists():
        pytest.skip("the MMLongBench papers are not here")
    text = load_file(paper).pages[3].text
    assert "\ufffe" not in text and "sub-task functions F" in text and "interpreter" in text


def test_pages_pdfium_scatters_one_character_per_line_are_read_by_pypdf() -> None:
    from ingest.pdf import scattered

    assert scattered("\n".join("Item 16. Form 10-K") + "\nNone.") and not scattered(
        "Item 16. Form 10-K Summary.\nNone.\n125"
    )
    filing = SHARED / "eval" / "data" / "financebench-dev" / "pdfs" / "KRAFTHEINZ_2019_10K.pdf"
    if not filing.exists():
        pytest.skip("the financebench filings are not here")
    pages = load_file(filing).pages
    assert pages[129].text.startswith("Item 16. Form 10-K Summary.")
    assert not any(scattered(p.text) for p in pages)


def test_a_pdf_pypdf_stops_on_at_a_limit_is_read_by_pdfium_alone() -> None:
    filing = SHARED / "eval" / "data" / "docugami-sec-10q" / "pdfs" / "2023 Q1 MSFT.pdf"
    if not filing.exists():
        pytest.skip("the docugami filings are not here")
    document = load_file(filing)
    assert len(document.pages) > 50 and "COMPREHENSIVE INCOME STATEMENTS" in document.pages[3].text
    assert any("pypdf stopped at a limit" in w for w in document.warnings)
