"""PDF text extraction: pypdf page by page, with pypdfium2 as a fallback for files pypdf cannot read."""

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


def read_pdf(data: bytes, source: str) -> tuple[list[Page], str, list[str]]:
    """Pages (1-based numbers), the title from the metadata, and warnings.

    pdfium takes over only where pypdf stopped at one of its own resource limits (large but valid files,
    such as some SEC filings); a structurally broken file is refused rather than half-read.
    """
    from pypdf.errors import LimitReachedError

    try:
        return _read_with_pypdf(data, source)
    except DocumentError:
        raise
    except LimitReachedError as exc:
        reason = _reason(exc)
        log.info("pypdf hit a limit on %s (%s); extracting with pdfium", source, reason)
        try:
            pages, title = _read_with_pdfium(data)
        except _PARSER_ERRORS as fallback_exc:
            raise DocumentError(source, f"unreadable PDF ({reason}; pdfium: {_reason(fallback_exc)}).") from exc
        return pages, title, [f"pypdf stopped at a limit ({reason}); text extracted with pdfium instead"]
    except _PARSER_ERRORS as exc:
        raise DocumentError(source, f"damaged or unreadable PDF ({_reason(exc)}).") from exc


def _read_with_pypdf(data: bytes, source: str) -> tuple[list[Page], str, list[str]]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
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
    pages: list[Page] = []
    warnings: list[str] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except _PARSER_ERRORS as exc:
            warnings.append(f"page {number}: text could not be extracted ({_reason(exc)})")
            text = ""
        pages.append(Page(clean_text(text), number))
    return pages, title, warnings


def _read_with_pdfium(data: bytes) -> tuple[list[Page], str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(data, password="")
    try:
        pages = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            pages.append(Page(clean_text(textpage.get_text_range()), index + 1))
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
