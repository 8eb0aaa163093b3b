"""Loading: read any supported file into pages, the type sniffed from the content (`ingest.loaders`)."""

from __future__ import annotations

import logging
from pathlib import Path

from .cleanup import clean_pages
from .errors import DocumentError
from .files import check_size, read_file, sha256_bytes
from .loaders import LoadOptions, loader, looks_like_pdf, sniff, supported_suffixes
from .loaders.registry import OCR_OPTIONS
from .loaders.text import HTML_SUFFIXES, MARKDOWN_SUFFIXES
from .loaders.text import TEXT_SUFFIXES as _PLAIN_SUFFIXES
from .types import LoadedDocument

log = logging.getLogger(__name__)

TEXT_SUFFIXES = set(_PLAIN_SUFFIXES) | set(MARKDOWN_SUFFIXES)
SUPPORTED_SUFFIXES = supported_suffixes()
#: Formats whose text is read off a page layout: words broken at line ends, cells apart from their row, furniture.
_LAYOUT_KINDS = ("pdf", "image")

__all__ = [
    "SUPPORTED_SUFFIXES",
    "TEXT_SUFFIXES",
    "HTML_SUFFIXES",
    "LoadOptions",
    "check_bytes",
    "load_bytes",
    "load_file",
    "looks_like_pdf",
    "sniff",
]


def load_file(
    path: Path, source: str | None = None, *, max_bytes: int | None = None, options: LoadOptions | None = None
) -> LoadedDocument:
    """Read one file. `source` is the name shown in citations (defaults to the file name).

    Raises DocumentError naming the file and the reason when it cannot be read.
    """
    source = source or path.name
    data = read_file(path, source, max_bytes=max_bytes)
    return load_bytes(data, source, suffix=path.suffix.lower(), max_bytes=max_bytes, options=options)


def load_bytes(
    data: bytes, source: str, *, suffix: str, max_bytes: int | None = None, options: LoadOptions | None = None
) -> LoadedDocument:
    """Read a file's bytes; the type comes from the content, the suffix only breaks ties between text formats."""
    options = options or LoadOptions()
    check_bytes(data, source, max_bytes)
    kind = sniff(data, suffix, source)
    chosen = loader(kind)
    pages, title, warnings = chosen.load(data, source, options)
    pages = clean_pages(pages, layout=kind in _LAYOUT_KINDS)
    if not any(p.text.strip() for p in pages):
        if chosen.ocr and not options.ocr:
            raise DocumentError(source, "no extractable text (scanned or image-only? turn OCR on: DOCQA_OCR=true).")
        if warnings:
            raise DocumentError(source, f"no extractable text ({'; '.join(warnings[:3])}).")
        if kind == "pdf":
            raise DocumentError(source, "no extractable text (scanned or image-only PDF? OCR it first).")
        raise DocumentError(source, "the file holds no text.")
    # What changed the text is recorded: OCR'd pages, or pages OCR could have read.
    touched = chosen.ocr and any(p.ocr or (p.number is not None and not p.text.strip()) for p in pages)
    return LoadedDocument(
        source=source,
        doc_id=sha256_bytes(data),
        title=_short(title.strip() or Path(source).stem),
        pages=pages,
        size_bytes=len(data),
        warnings=warnings,
        loader=_recorded(options, chosen.options, touched or kind == "image"),
    )


def _recorded(options: LoadOptions, names: tuple[str, ...], ocr: bool) -> dict[str, object]:
    """What a document records of the options that made its text: OCR's when it touched the document, the
    loader's others (PDF tables) always."""
    record = options.recorded() if ocr else {}
    return record | options.recorded(tuple(name for name in names if name not in OCR_OPTIONS))


def _short(title: str, limit: int = 200) -> str:
    """A title is shown and embedded with every chunk: a hostile one is cut to a sane length."""
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1] + "…"


def check_bytes(data: bytes, source: str, max_bytes: int | None) -> None:
    """Refuse empty files and files over the size limit before anything parses them."""
    if not data.strip():
        raise DocumentError(source, "the file is empty.")
    check_size(len(data), source, max_bytes)
