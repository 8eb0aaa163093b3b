"""Source cards: the sentences of a passage that match the question, the original file, and its page as an image.

Nothing here trusts a file name: a document's file is found by its content hash (an upload's stored name) or by
the path recorded when it was indexed, and is used only if its bytes still hash to the document's id.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

from ingest import DocumentInfo, Settings

_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]*[A-Z0-9])|\n{2,}|\n(?=\s*[-*•]\s)")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(STOPWORDS_EN_PLUS) | {"many", "much", "per", "get", "gets", "got"}
_stemmer = Stemmer.Stemmer("english")


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    matches: bool
    """True when the sentence shares enough of the question's words to be worth highlighting."""


def _terms(text: str) -> set[str]:
    words = [w.lower() for w in _WORD.findall(text)]
    return set(_stemmer.stemWords([w for w in words if w not in _STOP and (len(w) > 1 or w.isdigit())]))


def split_sentences(text: str) -> list[str]:
    """The passage cut into sentences (and list items), keeping every character in order."""
    pieces, start = [], 0
    for match in _SENTENCE.finditer(text):
        pieces.append(text[start : match.start()] + match.group(0))
        start = match.end()
    pieces.append(text[start:])
    return [p for p in pieces if p.strip()]


def highlight(text: str, question: str) -> list[Sentence]:
    """Split a passage into sentences and mark those that match the question best.

    A sentence matches when it shares at least three quarters as many of the question's content words (stemmed)
    as the best sentence does, and at least one: the best evidence is always marked, passing mentions are not.
    """
    sentences = split_sentences(text)
    wanted = _terms(question)
    overlaps = [len(wanted & _terms(s)) for s in sentences]
    best = max(overlaps, default=0)
    if best == 0:
        return [Sentence(s, False) for s in sentences]
    return [Sentence(s, n >= max(1, math.ceil(0.75 * best))) for s, n in zip(sentences, overlaps, strict=True)]


# The original file --------------------------------------------------------------------------------------

_verified: dict[tuple[str, int, int], str] = {}


def _digest(path: Path) -> str | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
        _verified[key] = hasher.hexdigest()
    return _verified[key]


def locate(document: DocumentInfo, settings: Settings) -> Path | None:
    """The document's file, if one with exactly its content is still on disk; else None."""
    candidates = sorted(settings.upload_dir.glob(f"{document.doc_id}.*")) if settings.upload_dir.is_dir() else []
    if document.path:
        candidates.append(Path(document.path))
    for path in candidates:
        if path.is_file() and _digest(path) == document.doc_id:
            return path
    return None


def is_pdf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(1024).lstrip().startswith(b"%PDF-")


def render_page(path: Path, page: int, width: int = 900) -> bytes:
    """PNG of one 1-based PDF page, `width` pixels wide, rendered by pdfium."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        pdf_page = document[page - 1]
        scale = width / max(pdf_page.get_width(), 1.0)
        image = pdf_page.render(scale=scale).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()
    finally:
        document.close()


def page_pdf(path: Path, page: int) -> bytes:
    """One 1-based page of a PDF as a PDF of its own, for opening the cited page directly (pdfium, which also
    reads the files pypdf gives up on)."""
    import pypdfium2 as pdfium

    source = pdfium.PdfDocument(str(path))
    single = pdfium.PdfDocument.new()
    try:
        single.import_pages(source, [page - 1])
        buffer = io.BytesIO()
        single.save(buffer)
        return buffer.getvalue()
    finally:
        single.close()
        source.close()
