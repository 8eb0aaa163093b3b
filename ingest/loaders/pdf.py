"""PDFs: the text layer page by page (`ingest.pdf`, pypdf with pdfium where pypdf stops), OCR for pages without one
or with a garbage one, and (with `pdf_tables` on) tables found by pdfplumber on pages whose text layer looks tabular
written as rows tagged with their header and kept whole (`ingest.loaders.pdftables`)."""

from __future__ import annotations

import logging
import math
import unicodedata

from .. import ocr
from ..pdf import read_pdf
from ..text import clean_text
from ..types import Page
from . import pdftables
from .registry import Loaded, Loader, LoadOptions, Probe, looks_like_pdf, register

log = logging.getLogger(__name__)

#: A text layer with fewer readable characters than this is treated as missing.
MIN_TEXT_CHARS = 20


def load_pdf(data: bytes, source: str, options: LoadOptions) -> Loaded:
    pages, title, warnings = read_pdf(data, source)
    wanted = [page.number for page in pages if page.number is not None and needs_ocr(page.text)]
    if wanted and options.ocr:
        pages, notes = _ocr_pages(data, pages, wanted, options)
        warnings = warnings + notes
    if options.pdf_tables:
        pages, notes = pdftables.add_tables(data, pages, options.deadline)
        warnings = warnings + notes
    return pages, title, warnings


def needs_ocr(text: str) -> bool:
    """No text layer, or one that reads as garbage: few letters or digits among its characters, or many
    replacement and private-use characters (fonts without a Unicode map)."""
    visible = [c for c in text if not c.isspace()]
    if len(visible) < MIN_TEXT_CHARS:
        return True
    readable = sum(1 for c in visible if c.isalnum() or unicodedata.category(c).startswith("P"))
    broken = sum(1 for c in visible if c == "\ufffd" or unicodedata.category(c) in ("Co", "Cn"))
    return readable / len(visible) < 0.5 or broken / len(visible) > 0.1


def _ocr_pages(data: bytes, pages: list[Page], wanted: list[int], options: LoadOptions) -> tuple[list[Page], list[str]]:
    import pypdfium2

    notes: list[str] = []
    by_number = {page.number: page for page in pages}
    document = pypdfium2.PdfDocument(data, password="")
    try:
        for number in wanted:
            try:
                text = ocr.read_image(_draw(document, number), options.ocr_languages, options.deadline)
            except (ocr.OcrError, ValueError) as exc:
                notes.append(f"page {number}: no text layer, and {exc}")
                continue
            text = clean_text(text)
            if text.strip():
                by_number[number] = Page(text, number, ocr=True)
            else:
                notes.append(f"page {number}: no text layer, and OCR found no text on it")
    finally:
        document.close()
    return [by_number[page.number] for page in pages], notes


def _draw(document: object, number: int) -> object:
    """Page `number` as a PIL image at OCR_DPI, within MAX_OCR_PIXELS whatever size the page claims."""
    page = document[number - 1]  # type: ignore[index]
    try:
        width, height = page.get_size()
        if not all(math.isfinite(v) and v > 0 for v in (width, height)):
            raise ValueError(f"page size {width!r} × {height!r} pt cannot be drawn")
        scale = min(ocr.OCR_DPI / 72, math.sqrt(ocr.MAX_OCR_PIXELS / width / height))
        return page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()


def _is_pdf(probe: Probe) -> bool:
    return looks_like_pdf(probe.head)


register(
    Loader(
        "pdf", "a PDF", (".pdf",), _is_pdf, load_pdf, order=0, ocr=True, options=("ocr", "ocr_languages", "pdf_tables")
    )
)
