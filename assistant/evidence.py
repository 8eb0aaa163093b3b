"""Source cards: the sentences of a passage that match the question, the original file, and its page as an image.

The page is drawn (and cut out as a one-page PDF) by pdfium, and a slide by python-pptx and Pillow, in the worker
process of `ingest.isolate`, with a time limit and a memory cap, and within the pixel caps of `ingest.render`: a
hostile PDF or deck costs the app a message, never its memory or its responsiveness.

Nothing here trusts a file name: a document's file is found by its content hash (an upload's stored name) or by
the path recorded when it was indexed, and is used only if its bytes still hash to the document's id.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

from ingest import DocumentInfo, Settings
from ingest.files import sha256_file
from ingest.isolate import IsolatedParser, shared_parser
from ingest.render import DEFAULT_WIDTH_PX
from ingest.render import page_kind as _sniffed_page_kind

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
        digest = sha256_file(path)
        if digest is None:
            return None
        _verified[key] = digest
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


def page_kind(path: Path) -> str | None:
    """The file's kind when its pages (or slides) can be drawn for its source card ("pdf" or "pptx"), else None:
    by the same sniffing function ingestion uses (`ingest.loaders.sniff`, through `ingest.render.page_kind`), once
    per version of the file."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _sniffed(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _sniffed(path: str, size: int, mtime_ns: int) -> str | None:  # size and mtime key the cache by version
    return _sniffed_page_kind(path)


def is_pdf(path: Path) -> bool:
    """Whether the file is a PDF, by the same sniffing function ingestion uses (`ingest.loaders.sniff`)."""
    return page_kind(path) == "pdf"


def _renderer(settings: Settings) -> IsolatedParser:
    """The worker process that draws and cuts pages (one for the whole app, apart from the parsing worker):
    pdfium reads the untrusted PDF there, within `render_timeout_s` and `parse_memory_mb`, never in the app."""
    return shared_parser(settings.render_timeout_s, settings.parse_memory_mb, role="render")


def _in_worker(op: str, path: Path, page: int, settings: Settings, doing: str, **request: object) -> bytes:
    _, blob = _renderer(settings).call(
        op,
        {"path": str(path), "page": page, "source": path.name, **request},
        source=path.name,
        doing=doing,
        worker="the page renderer",
        timeout_setting="render_timeout_s",
    )
    return blob


def render_page(path: Path, page: int, settings: Settings, *, width: int = DEFAULT_WIDTH_PX) -> bytes:
    """PNG of one 1-based PDF page (or slide of a deck: `ingest.slide_render`), `width` pixels wide or less: never
    more than `ingest.render.MAX_SIDE_PX` on its longest side nor `MAX_PIXELS` in all, whatever size the page
    claims. Drawn in the worker process; DocumentError, whose `reason` says why, when the page cannot be drawn in
    time, in memory, or at all."""
    return _in_worker("render_page", path, page, settings, f"drawing page {page}", width=width)


def page_pdf(path: Path, page: int, settings: Settings) -> bytes:
    """One 1-based page of a PDF as a PDF of its own, for opening the cited page directly, cut by pdfium (which
    also reads the files pypdf gives up on) in the worker process; DocumentError when it cannot be."""
    return _in_worker("page_pdf", path, page, settings, f"cutting out page {page}")
