"""The loader seam: each format registers how to recognise its bytes and how to read them; `sniff` asks them all.

A new format is one module in `ingest/loaders/` that calls `register(Loader(...))`; nothing else changes. The type
is always taken from the content. The file name's suffix only breaks ties between text formats, and a binary
suffix that disagrees with the content is refused: a PNG named `.pdf` is suspicious, not a picture to read.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from ..errors import DocumentError
from ..types import Page

#: What a loader returns: pages, a title (may be empty) and warnings about what it could not read.
Loaded = tuple[list[Page], str, list[str]]


#: The options that only OCR'd pages (or pages OCR could read) depend on: recorded only by the documents they touched.
OCR_OPTIONS = ("ocr", "ocr_languages")

#: What a document recorded without an option was read with: the option did not exist yet (PDF tables).
_BEFORE = {"pdf_tables": False}


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """The settings that change what text a file gives. Recorded per document, so changing one re-reads the
    documents it affects on the next ingest."""

    ocr: bool = True
    ocr_languages: str = "eng"
    deadline: float | None = None
    """`time.monotonic()` by which a loader should stop optional slow work (OCR, tables) and report what is left."""
    pdf_tables: bool = False
    """Find tables in PDFs with pdfplumber and write them as header-tagged rows (`loaders.pdftables`)."""

    def recorded(self, names: tuple[str, ...] = OCR_OPTIONS) -> dict[str, object]:
        """The named fields as a document records them (OCR's languages only while OCR is on)."""
        values = {
            "ocr": self.ocr,
            "ocr_languages": self.ocr_languages if self.ocr else "",
            "pdf_tables": self.pdf_tables,
        }
        return {name: values[name] for name in names if name in values}

    def changes(self, recorded: dict[str, object], names: tuple[str, ...]) -> bool:
        """Whether these options would read a document otherwise than those it recorded did: a recorded field
        differs, or one of `names` (its loader's options beyond OCR's) was not recorded and now reads otherwise
        than before it existed."""
        if any(self.recorded((key,)).get(key, value) != value for key, value in recorded.items()):
            return True
        return any(
            name not in recorded and name in _BEFORE and self.recorded((name,))[name] != _BEFORE[name]
            for name in names
            if name not in OCR_OPTIONS
        )

    def to_json(self) -> dict[str, object]:
        return {"ocr": self.ocr, "ocr_languages": self.ocr_languages, "pdf_tables": self.pdf_tables}

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> LoadOptions:
        data = data or {}
        return cls(
            ocr=bool(data.get("ocr", True)),
            ocr_languages=str(data.get("ocr_languages", "eng")),
            pdf_tables=bool(data.get("pdf_tables", cls.__dataclass_fields__["pdf_tables"].default)),
        )


class Probe:
    """What sniffing looks at: the first bytes, the suffix, and (for ZIP containers) the member names."""

    def __init__(self, data: bytes, suffix: str) -> None:
        self.data, self.head, self.suffix = data, data[:1024], suffix

    @cached_property
    def members(self) -> frozenset[str]:
        if not self.head.startswith(b"PK\x03\x04"):
            return frozenset()
        try:
            with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
                return frozenset(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return frozenset()

    def zip_mimetype(self) -> bytes:
        """The `mimetype` member OpenDocument and EPUB store first, uncompressed."""
        if "mimetype" not in self.members:
            return b""
        with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
            return archive.read("mimetype")[:100].strip() if archive.getinfo("mimetype").file_size < 200 else b""


@dataclass(frozen=True)
class Loader:
    """One format: `matches(probe)` recognises its content; `load(data, source, options)` reads it."""

    kind: str
    """Short name: `pdf`, `docx`, `xlsx`, ... (also the key recorded for uploads)."""
    what: str
    """How a message names it: "a PDF", "a PowerPoint deck"."""
    suffixes: tuple[str, ...]
    """File name endings this format goes by (the first is the one uploads are stored under)."""
    matches: Callable[[Probe], bool]
    load: Callable[[bytes, str, LoadOptions], Loaded]
    binary: bool = True
    """Binary formats are recognised by content alone; text formats (`binary=False`) by suffix, after them."""
    ocr: bool = False
    """Whether OCR settings can change this format's text (so documents record them)."""
    order: int = 50
    """Lower runs first among formats of the same kind (binary or text)."""
    options: tuple[str, ...] = field(default=())
    """Names of the LoadOptions fields the loader reads, for the README and for what a document records."""


_REGISTRY: dict[str, Loader] = {}


def register(loader: Loader) -> Loader:
    _REGISTRY[loader.kind] = loader
    return loader


def loaders() -> list[Loader]:
    """Registered loaders, binary ones first, each group in `order`."""
    return sorted(_REGISTRY.values(), key=lambda item: (not item.binary, item.order, item.kind))


def loader(kind: str) -> Loader:
    return _REGISTRY[kind]


def supported_suffixes() -> set[str]:
    return {suffix for item in _REGISTRY.values() for suffix in item.suffixes}


def looks_like_pdf(head: bytes) -> bool:
    """A PDF header within the first 1,024 bytes, where readers (pypdf, pdfium, Acrobat) look for it. Part of
    `sniff`, which ingestion and the app's page view both use."""
    return b"%PDF-" in head[:1024]


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")

#: Names for messages, more precise than a loader's `what` ("a PNG image" rather than "an image").
_CONTENT_NAMES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
}

_BINARY_SIGNATURES = {
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive",
    b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "an executable",
    b"MZ": "a Windows executable",
}


def sniff(data: bytes, suffix: str, source: str = "") -> str:
    """The file's real type, a registered loader's `kind`; DocumentError naming the reason for anything else.
    The one test of a file's type, for ingestion, uploads and the app's page view alike."""
    probe = Probe(data, suffix)
    if data.startswith(_OLE2):
        raise DocumentError(source, _ole2_reason(data))
    by_suffix = next((item for item in _REGISTRY.values() if suffix in item.suffixes), None)
    for item in loaders():
        if item.binary and item.matches(probe):
            if by_suffix is not None and by_suffix.binary and by_suffix.kind != item.kind:
                what = next((n for sig, n in _CONTENT_NAMES.items() if probe.head.startswith(sig)), item.what)
                raise DocumentError(source, f"named {suffix} but the content is {what}, not {by_suffix.what}.")
            return item.kind
    described = describe(probe.head)
    if by_suffix is not None and by_suffix.binary:
        raise DocumentError(
            source, f"named {suffix} but the content is {described or 'something else'}, not {by_suffix.what}."
        )
    if described is not None:
        raise DocumentError(source, f"the content is {described}, which is not a supported document type.")
    for item in loaders():
        if not item.binary and item.matches(probe):
            return item.kind
    raise DocumentError(
        source, f"unsupported file type {suffix!r}; supported: {', '.join(sorted(supported_suffixes()))}."
    )


def kind_of(data: bytes, suffix: str = "") -> str | None:
    """`sniff`, or None where it refuses."""
    try:
        return sniff(data, suffix)
    except DocumentError:
        return None


def describe(head: bytes) -> str | None:
    """What known, unsupported binary format the content is, or None."""
    for signature, what in _BINARY_SIGNATURES.items():
        if head.startswith(signature):
            return what
    return None


def _ole2_reason(data: bytes) -> str:
    if _ENCRYPTION_STREAM in data[:1_000_000]:
        return "a password-protected (encrypted) Office file: open it, remove the password, save, and add it again."
    return "a legacy Office file (.doc, .xls or .ppt): save it as .docx, .xlsx or .pptx and add it again."
