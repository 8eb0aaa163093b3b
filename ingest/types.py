"""Plain data types shared by ingestion and answering: pages, chunks, search hits, reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Page:
    """Text of one page (PDF) or one whole file (Markdown, text), as a loader returns it."""

    text: str
    number: int | None = None
    """1-based page index (PDF page, slide, image frame); None for formats without pages."""
    label: str | None = None
    """How a citation names the place when "p. N" would not: `slide 7`, `sheet Sales, rows 2–9`."""
    ocr: bool = False
    """True when the text was read from the page's image by OCR, not from a text layer."""
    tables: tuple[tuple[int, int], ...] = ()
    """(start, end) character spans of tables in `text`, one row per line: split between rows, never mid-row."""

    def to_json(self) -> list[Any]:
        return [self.text, self.number, self.label, self.ocr, [list(span) for span in self.tables]]

    @classmethod
    def from_json(cls, data: list[Any]) -> Page:
        text, number, *rest = data
        label, ocr, tables = [*rest, None, False, []][:3]
        return cls(text, number, label, bool(ocr), tuple((int(a), int(b)) for a, b in tables or []))


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """A file read into pages, with what the loader noticed along the way."""

    source: str
    """Name shown to the user and used in citations (never used to build a path)."""
    doc_id: str
    """SHA-256 of the file's bytes: the document's identity, whatever its name."""
    title: str
    pages: list[Page]
    size_bytes: int
    warnings: list[str] = field(default_factory=list)
    loader: dict[str, Any] = field(default_factory=dict)
    """The loader settings that changed its text, recorded with the document (see `DocumentInfo.loader`)."""

    @property
    def empty_pages(self) -> list[int]:
        """Page numbers whose text layer is empty (scanned pages, figures)."""
        return [p.number for p in self.pages if p.number is not None and not p.text.strip()]

    @property
    def ocr_pages(self) -> list[int]:
        """Page numbers whose text was read by OCR."""
        return [p.number for p in self.pages if p.number is not None and p.ocr]


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of a document, small enough for the embedder, with where it came from."""

    id: str
    doc_id: str
    source: str
    text: str
    page: int | None
    heading: str | None
    start: int
    """Character offset of the chunk in its page's text (or the file's text, without pages)."""
    end: int
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)
    """Extra JSON-safe fields, e.g. what LangChain callers attach to their documents."""

    def header(self) -> str:
        """Short context line prepended to the text that gets embedded."""
        parts = [self.title or self.source]
        if self.metadata.get("where"):
            parts.append(str(self.metadata["where"]))
        elif self.page is not None:
            parts.append(f"page {self.page}")
        if self.heading:
            parts.append(self.heading)
        return " | ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON data; metadata is JSON data already, so nothing is deep-copied (commits write
        every chunk of a collection, and `asdict` made that the slowest part of adding a file)."""
        return {name: getattr(self, name) for name in _CHUNK_FIELDS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chunk:
        return cls(**data)


_CHUNK_FIELDS = tuple(Chunk.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """A retrieved chunk and its cosine similarity to the query."""

    chunk: Chunk
    score: float

    def citation(self) -> str:
        """`handbook.pdf, p. 3`, `deck.pptx, slide 7`, `prices.xlsx, sheet EMEA, rows 2–9` or
        `notes.md, § Heading`; `(OCR)` after a page whose text was read from its image."""
        where, metadata = self.chunk.source, self.chunk.metadata
        ocr = " (OCR)" if metadata.get("ocr") else ""
        if metadata.get("where"):
            return f"{where}, {metadata['where']}{ocr}"
        if self.chunk.page is not None:
            return f"{where}, p. {self.chunk.page}{ocr}"
        if self.chunk.heading:
            return f"{where}, § {self.chunk.heading}"
        return where


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """One document of a collection, as listed to the user."""

    doc_id: str
    source: str
    pages: int
    chunks: int
    size_bytes: int
    ingested_at: str
    empty_pages: list[int] = field(default_factory=list)
    path: str = ""
    """Where the file was when it was indexed (absolute), so the app can show its pages; checked by hash
    before use, since the file may have moved or changed since."""
    location: str = ""
    """The document's identity beside its content: the absolute path it was found at, or `upload:<sha256>`.
    Two files of the same name in different places are two documents."""
    ocr_pages: list[int] = field(default_factory=list)
    """Pages whose text was read by OCR."""
    loader: dict[str, Any] = field(default_factory=dict)
    """The loader settings that changed this document's text (OCR on or off, its languages), when any did:
    a later ingest with other values re-reads it (`LoadOptions.recorded`)."""
    about: dict[str, Any] = field(default_factory=dict)
    """What the document says it is (`ingest.describe`): `company`, `form`, `fiscal_year`, `fiscal_quarter`,
    `period_end`; empty for documents indexed before it was read, or when nothing was found."""
    text_version: int = 0
    """The text cleaning its passages were made with (`ingest.cleanup.TEXT_VERSION`); an older one is read again."""

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON data, not deep-copied (every commit writes every document's)."""
        return {name: getattr(self, name) for name in _DOCUMENT_FIELDS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentInfo:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "location" not in known:  # written before locations: the recorded path, else the name
            known["location"] = known.get("path") or f"name:{known.get('source', '')}"
        return cls(**known)


_DOCUMENT_FIELDS = tuple(DocumentInfo.__dataclass_fields__)


@dataclass(slots=True)
class FileReport:
    """What ingestion did with one file."""

    source: str
    status: str
    """`indexed`, `unchanged`, `renamed`, `duplicate`, `failed`, or `skipped` (a link, a special file or a
    folder that could not be listed, found while walking a folder)."""
    pages: int = 0
    chunks: int = 0
    empty_pages: list[int] = field(default_factory=list)
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    ocr_pages: list[int] = field(default_factory=list)


@dataclass(slots=True)
class IngestReport:
    """What one ingestion run did, file by file."""

    files: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def indexed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "indexed"]
