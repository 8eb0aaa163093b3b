"""PDF text extraction. pypdf opens the file (its structure, encryption and metadata: the checks that refuse a
broken or password-protected file by name); pdfium extracts each page's text, about 20 times faster than pypdf's
content-stream parser in pure Python and with the same words (word F1 0.9993 against pypdf's text over docugami's
891 pages, `scripts/bench_ingest.py`); pypdf extracts the text where pdfium cannot."""

from __future__ import annotations

import io
import logging

from .errors import DocumentError
from .text import clean_text
from .types import Page

log = logging.getLogger(__name__)

# pypdf and pdfium parse untrusted bytes and raise a wide, undocumented range of exceptions on damaged
# files (PdfReadError, KeyError, ValueError, RecursionError, zlib errors, ...). This module is the one
# boundary where any of them is turned into a DocumentError naming the file and the reason.
_PARSER_ERRORS = (Exception,)

#: What pdfium writes where a word is hyphenated across a line end (the hyphen and the line break dropped):
#: U+FFFE in current pdfium, 0x02 in older builds. Removed, the word is whole again.
_PDFIUM_HYPHEN = str.maketrans("", "", "\ufffe\x02")


def read_pdf(data: bytes, source: str) -> tuple[list[Page], str, list[str]]:
    """Pages (1-based numbers), the title from the metadata, and warnings.

    A file pypdf cannot open, or cannot decrypt with the empty password, is refused with the reason, unless pypdf
    stopped at one of its own resource limits (large but valid files, such as some SEC filings): then pdfium alone
    reads it. The text comes from pdfium, or from pypdf where pdfium fails (then a page pypdf cannot extract is
    reported).
    """
    from pypdf.errors import LimitReachedError

    try:
        reader, title = _open_with_pypdf(data, source)
    except LimitReachedError as exc:
        reason = _reason(exc)
        try:
            pages, title = _read_with_pdfium(data)
        except _PARSER_ERRORS as fallback_exc:
            raise DocumentError(source, f"unreadable PDF ({reason}; pdfium: {_reason(fallback_exc)}).") from exc
        return pages, title, [f"pypdf stopped at a limit ({reason}); text extracted with pdfium alone"]
    try:
        pages, pdfium_title = _read_with_pdfium(data)
        return _scattered_pages_by_pypdf(pages, reader), title or pdfium_title, []
    except _PARSER_ERRORS as exc:
        log.info("pdfium could not read %s (%s); extracting with pypdf", source, _reason(exc))
    try:
        pages, warnings = _read_with_pypdf(reader)
    except _PARSER_ERRORS as exc:
        raise DocumentError(source, f"damaged or unreadable PDF ({_reason(exc)}).") from exc
    return pages, title, warnings


def _scattered_pages_by_pypdf(pages: list[Page], reader: object) -> list[Page]:
    """`pages` with those pdfium read as one character per line (a font placing each glyph on its own, 5 of the
    3,405 financebench pages) taken from pypdf instead, where it reads them whole."""
    for index, page in enumerate(pages):
        if not scattered(page.text):
            continue
        try:
            text = clean_text(reader.pages[index].extract_text() or "")  # type: ignore[attr-defined]
        except _PARSER_ERRORS as exc:
            log.info("page %d: pypdf could not extract its text either (%s)", index + 1, _reason(exc))
            continue
        if text.strip() and not scattered(text):
            pages[index] = Page(text, page.number)
    return pages


def scattered(text: str) -> bool:
    """Whether most of a page's lines (ten or more) hold one or two characters."""
    lines = [line for line in text.split("\n") if line.strip()]
    return len(lines) >= 10 and sum(len(line.strip()) <= 2 for line in lines) > len(lines) / 2


def _open_with_pypdf(data: bytes, source: str) -> tuple[object, str]:
    """pypdf's reader of the file, decrypted with the empty password where it is encrypted, and its title. The
    file's structure (cross-references, page tree) is checked here; the pages' content is not parsed."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except LimitReachedError:
        raise
    except _PARSER_ERRORS as exc:
        raise DocumentError(source, f"damaged or unreadable PDF ({_reason(exc)}).") from exc
    if encrypted:
        try:
            opened = reader.decrypt("")
        except DependencyError as exc:
            raise DocumentError(
                source, "encrypted with AES; install the `cryptography` package (`pip install cryptography`)."
            ) from exc
        except (FileNotDecryptedError, NotImplementedError, ValueError, KeyError) as exc:
            raise DocumentError(source, f"encrypted, and it cannot be opened ({_reason(exc)}).") from exc
        if not opened:
            raise DocumentError(source, "password-protected: remove the password and add the file again.")
    title = ""
    try:
        metadata = reader.metadata
        title = str(metadata.title or "").strip() if metadata else ""
    except _PARSER_ERRORS as exc:
        log.debug("no metadata in %s: %s", source, exc)
    try:
        len(reader.pages)  # walks the page tree: a broken one (a page loop, say) is refused, not half-read
    except LimitReachedError:
        raise
    except _PARSER_ERRORS as exc:
        raise DocumentError(source, f"damaged or unreadable PDF ({_reason(exc)}).") from exc
    return reader, title


def _read_with_pypdf(reader: object) -> tuple[list[Page], list[str]]:
    """Each page's text by pypdf, and a warning for each page it could not extract (left empty, so it is counted
    as empty or read by OCR)."""
    pages: list[Page] = []
    warnings: list[str] = []
    for number, page in enumerate(reader.pages, start=1):  # type: ignore[attr-defined]
        try:
            text = page.extract_text() or ""
        except _PARSER_ERRORS as exc:
            warnings.append(f"page {number}: text could not be extracted ({_reason(exc)})")
            text = ""
        pages.append(Page(clean_text(text), number))
    return pages, warnings


def _read_with_pdfium(data: bytes) -> tuple[list[Page], str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(data, password="")
    try:
        pages = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            pages.append(Page(clean_text(textpage.get_text_range().translate(_PDFIUM_HYPHEN)), index + 1))
            textpage.close()
            page.close()
        title = str(document.get_metadata_dict().get("Title", "") or "").strip()
    finally:
        document.close()
    return pages, title


def _reason(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {message[:160]}" if message else name
