"""Loading: read PDF, Markdown, text, DOCX and HTML files into pages, sniffing the type from the content."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import DocumentError
from .files import check_size, read_file, sha256_bytes
from .pdf import read_pdf
from .text import clean_text, decode_text
from .types import LoadedDocument, Page

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".docx"}

_BINARY_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive",
    b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "an executable",
    b"MZ": "a Windows executable",
}


def load_file(path: Path, source: str | None = None, *, max_bytes: int | None = None) -> LoadedDocument:
    """Read one file. `source` is the name shown in citations (defaults to the file name).

    Raises DocumentError naming the file and the reason when it cannot be read.
    """
    source = source or path.name
    data = read_file(path, source, max_bytes=max_bytes)
    return load_bytes(data, source, suffix=path.suffix.lower(), max_bytes=max_bytes)


def load_bytes(data: bytes, source: str, *, suffix: str, max_bytes: int | None = None) -> LoadedDocument:
    """Read a file's bytes; the type comes from the content, the suffix only breaks ties between text formats."""
    check_bytes(data, source, max_bytes)
    kind = sniff(data, suffix, source)
    loader: Callable[[bytes, str], tuple[list[Page], str, list[str]]] = _LOADERS[kind]
    pages, title, warnings = loader(data, source)
    if not any(p.text.strip() for p in pages):
        if kind != "pdf":
            raise DocumentError(source, "the file holds no text.")
        if warnings:
            raise DocumentError(source, f"no text could be extracted ({'; '.join(warnings[:3])}).")
        raise DocumentError(source, "no extractable text (scanned or image-only PDF? OCR it first).")
    return LoadedDocument(
        source=source,
        doc_id=sha256_bytes(data),
        title=_short(title.strip() or Path(source).stem),
        pages=pages,
        size_bytes=len(data),
        warnings=warnings,
    )


def _short(title: str, limit: int = 200) -> str:
    """A title is shown and embedded with every chunk: a hostile one is cut to a sane length."""
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1] + "…"


def check_bytes(data: bytes, source: str, max_bytes: int | None) -> None:
    """Refuse empty files and files over the size limit before anything parses them."""
    if not data.strip():
        raise DocumentError(source, "the file is empty.")
    check_size(len(data), source, max_bytes)


def looks_like_pdf(head: bytes) -> bool:
    """A PDF header within the first 1,024 bytes, where readers (pypdf, pdfium, Acrobat) look for it. The one
    test of "is this a PDF", for ingestion and for the app's page view alike."""
    return b"%PDF-" in head[:1024]


def sniff(data: bytes, suffix: str, source: str = "") -> str:
    """The file's real type: `pdf`, `docx`, `html`, `markdown` or `text`; DocumentError for anything else."""
    head = data[:1024]
    if looks_like_pdf(head):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            pass
    if suffix == ".pdf":
        raise DocumentError(source, f"named .pdf but the content is {_describe(head) or 'something else'}, not a PDF.")
    if suffix == ".docx":
        raise DocumentError(
            source, f"named .docx but the content is {_describe(head) or 'something else'}, not a Word document."
        )
    binary = _describe(head)
    if binary is not None:
        raise DocumentError(source, f"the content is {binary}, which is not a supported document type.")
    if suffix in HTML_SUFFIXES or re.match(rb"\s*(<!doctype html|<html)", head, re.IGNORECASE):
        return "html"
    if suffix in {".md", ".markdown"}:
        return "markdown"
    if suffix in TEXT_SUFFIXES or suffix == "":
        return "text"
    raise DocumentError(
        source, f"unsupported file type {suffix!r}; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}."
    )


def _describe(head: bytes) -> str | None:
    """What a known binary format the content is, or None."""
    for signature, what in _BINARY_SIGNATURES.items():
        if head.startswith(signature):
            return what
    return None


def _load_text(data: bytes, source: str) -> tuple[list[Page], str, list[str]]:
    text, warnings = _decode_for(data, source)
    return [Page(clean_text(text))], "", warnings


def _load_markdown(data: bytes, source: str) -> tuple[list[Page], str, list[str]]:
    text, warnings = _decode_for(data, source)
    text = clean_text(text)
    match = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    return [Page(text)], match.group(1).strip() if match else "", warnings


def _decode_for(data: bytes, source: str) -> tuple[str, list[str]]:
    return decode_text(data, source)


def _load_html(data: bytes, source: str) -> tuple[list[Page], str, list[str]]:
    from bs4 import BeautifulSoup

    text, warnings = _decode_for(data, source)
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg"]):
        tag.decompose()
    # Headings become Markdown headings so the chunker can track them.
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    title = soup.title.get_text(strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    return [Page(clean_text(soup.get_text("\n")))], title, warnings


def _load_docx(data: bytes, source: str) -> tuple[list[Page], str, list[str]]:
    """Paragraphs (headings as Markdown) and tables of a Word document."""
    import docx

    try:
        return _read_docx(docx.Document(io.BytesIO(data)))
    except MemoryError:
        raise  # the parsing worker reports it as a decompression bomb
    except Exception as exc:  # python-docx, zipfile, zlib and lxml each fail their own way on a damaged file
        raise DocumentError(source, f"not a readable Word document ({type(exc).__name__}: {str(exc)[:160]}).") from exc


def _read_docx(document: Any) -> tuple[list[Page], str, list[str]]:
    lines = []
    for paragraph in document.paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        text = paragraph.text.strip()
        if not text:
            continue
        level = re.match(r"Heading (\d)", style)
        lines.append(f"{'#' * int(level.group(1))} {text}" if level else text)
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    return [Page(clean_text("\n\n".join(lines)))], document.core_properties.title or "", []


_LOADERS: dict[str, Callable[[bytes, str], tuple[list[Page], str, list[str]]]] = {
    "pdf": read_pdf,
    "docx": _load_docx,
    "html": _load_html,
    "markdown": _load_markdown,
    "text": _load_text,
}
