"""What one ingestion run decides, file by file: skip, rename or move, replace, remove under --sync, and the
names documents go by. Documents are known by where they are and by their content, never by a bare name."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .chunk import Chunker
from .cleanup import TEXT_VERSION
from .embed import Embedder
from .errors import DocumentError
from .files import read_file, sha256_bytes
from .instructions import mark_instructions
from .isolate import shared_parser
from .load import check_bytes, load_bytes
from .loaders import LoadOptions, kind_of, loader
from .loaders.registry import OCR_OPTIONS
from .names import unique_names
from .prepare import chunker_request
from .settings import Settings
from .sources import SourceFile
from .stores import Collection
from .types import Chunk, DocumentInfo, FileReport, IngestReport, LoadedDocument

log = logging.getLogger(__name__)


def make_chunker(settings: Settings, embedder: Embedder) -> Chunker:
    return Chunker(
        embedder.count_tokens,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        header_tokens=settings.header_tokens,
        max_tokens=embedder.max_tokens,
        max_chunks=settings.max_chunks_per_file,
    )


@dataclass(frozen=True, slots=True)
class Move:
    """An indexed document that now lives elsewhere, or goes by another name: relabelled, not re-embedded."""

    location: str
    source: str


class Run:
    """What one ingestion run has decided so far, file by file. Documents are known by where they are
    (`location`) and by their content (`doc_id`); a display name is only ever shown."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: Collection,
        rebuild: bool,
        sync: bool,
        sources: Sequence[SourceFile],
    ) -> None:
        self.settings, self.embedder, self.store = settings, embedder, store
        self.rebuild, self.sync = rebuild, sync
        self.batch_locations = {s.location for s in sources}
        self.by_location = {} if rebuild else {d.location: d for d in store.documents.values()}
        self.seen: dict[str, str] = {}  # doc_id -> source, for this batch
        self.remove: set[str] = set(store.documents) if rebuild else set()
        self.pending: list[tuple[LoadedDocument, list[Chunk]]] = []
        self.renames: dict[str, Move] = {}  # doc_id -> where and what it is now
        self.providers: dict[str, tuple[FileReport, SourceFile]] = {}  # doc_id -> first other file holding it
        self.paths: dict[str, str] = {}  # doc_id -> where its file is now (real path, for the app's page view)
        self.locations: dict[str, str] = {}  # doc_id -> location, for what this run adds
        self.reports: dict[str, FileReport] = {}  # doc_id -> the report of the file that added it
        self._chunker: Chunker | None = None
        self._chunker_request: dict[str, Any] | None = None

    def chunker(self) -> Chunker:
        """Built on first need: it loads the embedder's tokenizer, which an unchanged re-ingest never needs."""
        if self._chunker is None:
            self._chunker = make_chunker(self.settings, self.embedder)
        return self._chunker

    def prepare(self, item: SourceFile) -> FileReport:
        """Skip, rename or load and chunk one file; its bytes are hashed before anything parses them."""
        try:
            data = read_file(item.path, item.source, max_bytes=self._max_bytes(), within=item.within)
        except DocumentError as exc:
            log.warning("Skipped %s", exc)
            return FileReport(item.source, "failed", reason=exc.reason)
        doc_id = sha256_bytes(data)
        if doc_id in self.seen:
            self._drop_previous(item.location, doc_id)
            return FileReport(item.source, "duplicate", reason=f"same content as {self.seen[doc_id]}")
        self.paths[doc_id] = os.path.realpath(item.path)
        existing = None if self.rebuild else self.store.documents.get(doc_id)
        reread = existing is not None and self._read_differently(existing, kind_of(data, item.path.suffix.lower()))
        why = ""
        if reread and existing is not None:  # same bytes, but what made its text changed (OCR, tables, cleaning)
            why = "read again: " + self._why(existing)
            existing = None
        if existing is not None:
            self.seen[doc_id] = item.source
            if existing.location != item.location:
                self._drop_previous(item.location, doc_id)
            return self._known(item, existing)
        try:
            document, chunks = self._parse_and_chunk(data, item)
        except DocumentError as exc:
            log.warning("Skipped %s", exc)
            return FileReport(item.source, "failed", reason=exc.reason)
        self.seen[doc_id] = item.source
        self._drop_previous(item.location, doc_id)
        if reread:  # its old passages go in the same commit (a failed re-read keeps them)
            self.remove.add(doc_id)
        self.pending.append((document, chunks))
        self.locations[doc_id] = item.location
        report = self.reports[doc_id] = FileReport(
            item.source,
            "indexed",
            pages=len(document.pages),
            chunks=len(chunks),
            empty_pages=document.empty_pages,
            warnings=document.warnings,
            ocr_pages=document.ocr_pages,
            reason=why,
        )
        return report

    def _read_differently(self, existing: DocumentInfo, kind: str | None) -> bool:
        """Whether the loader settings now in force would give this document another text: those it recorded
        differ (or its loader's options it could not record, being older), or it was indexed with pages left
        empty that OCR, now on, would read."""
        options = self.load_options()
        if existing.text_version != TEXT_VERSION:  # read before the text cleaning it would now get
            return True
        if options.changes(existing.loader, loader(kind).options if kind else ()):
            return True
        return "ocr" not in existing.loader and bool(options.ocr and existing.empty_pages)

    def _why(self, existing: DocumentInfo) -> str:
        if existing.text_version != TEXT_VERSION:
            return "the text cleaning changed"
        current, recorded = self.load_options(), existing.loader
        ocr = any(key in recorded and current.recorded((key,))[key] != recorded[key] for key in OCR_OPTIONS)
        ocr = ocr or ("ocr" not in recorded and current.ocr and bool(existing.empty_pages))
        return "the OCR settings changed" if ocr else "the PDF table setting changed"

    def load_options(self) -> LoadOptions:
        return LoadOptions(
            ocr=self.settings.ocr, ocr_languages=self.settings.ocr_languages, pdf_tables=self.settings.pdf_tables
        )

    def _options_request(self) -> dict[str, Any]:
        """The loader options for the worker, with the time it may spend on OCR before reporting pages unread."""
        return {**self.load_options().to_json(), "budget_s": self.settings.parse_timeout_s * 0.85}

    def _max_bytes(self) -> int:
        return int(self.settings.max_file_mb * 1e6)

    def _drop_previous(self, location: str, doc_id: str) -> None:
        """The file changed and its new content is accounted for: its old chunks go in the same commit.
        (A changed file that fails to load keeps its old version, so a bad file never costs the index.)"""
        previous = self.by_location.get(location)
        if previous is not None and previous.doc_id != doc_id:
            self.remove.add(previous.doc_id)

    def _parse_and_chunk(self, data: bytes, item: SourceFile) -> tuple[LoadedDocument, list[Chunk]]:
        suffix, max_bytes = item.path.suffix.lower(), self._max_bytes()
        deadline = time.monotonic() + self.settings.parse_timeout_s
        if not self.settings.isolate_parsing:
            options = replace(self.load_options(), deadline=deadline)
            document = load_bytes(data, item.source, suffix=suffix, max_bytes=max_bytes, options=options)
            return document, mark_instructions(self.chunker().split(document, deadline=deadline))
        check_bytes(data, item.source, max_bytes)  # no worker round trip for what is refused anyway
        parser = shared_parser(self.settings.parse_timeout_s, self.settings.parse_memory_mb)
        if self._chunker_request is None:
            self._chunker_request = chunker_request(self.settings, self.embedder) or {}
        if self._chunker_request:  # the whole per-file work under the worker's time limit and memory cap
            return parser.prepare(
                data,
                item.source,
                suffix=suffix,
                max_bytes=max_bytes,
                chunker=self._chunker_request,
                options=self._options_request(),
            )
        document = parser.load(data, item.source, suffix=suffix, max_bytes=max_bytes, options=self._options_request())
        return document, mark_instructions(self.chunker().split(document, deadline=deadline))

    def _known(self, item: SourceFile, existing: DocumentInfo) -> FileReport:
        """Content already in the index: unchanged, a copy of another file, or that file moved or renamed."""
        if existing.location == item.location:
            status, reason = "unchanged", ""
        elif existing.location not in self.batch_locations and (self.sync or _gone(existing.location)):
            status, reason = "renamed", f"was {existing.source}; not re-embedded"
            self.renames[existing.doc_id] = Move(item.location, item.source)
        else:
            status, reason = "duplicate", f"same content as {existing.source}, already indexed"
        report = FileReport(
            item.source,
            status,
            pages=existing.pages,
            chunks=existing.chunks,
            reason=reason,
            empty_pages=existing.empty_pages,
        )
        if status == "duplicate":
            self.providers.setdefault(existing.doc_id, (report, item))
        if status == "renamed":
            self.reports[existing.doc_id] = report
        return report

    def sync_removals(self, roots: list[str] | None, unknown: list[str]) -> list[FileReport]:
        """With sync: documents whose file is no longer under the paths named go; those under a folder that
        could not be listed stay. A named folder that now holds nothing keeps its documents too: an unmounted
        drive or a dropped share looks just like that, and is no reason to delete."""
        notes: list[FileReport] = []
        candidates = [
            d
            for d in self.store.documents.values()
            if d.location not in self.batch_locations and (roots is None or _under(d.location, roots))
        ]
        kept = [d for d in candidates if _under(d.location, unknown)]
        for root in roots or []:
            found_any = any(_under(location, [root]) for location in self.batch_locations)
            orphans = [d for d in candidates if _under(d.location, [root]) and d not in kept]
            if orphans and not found_any and root not in unknown:
                kept.extend(orphans)
                notes.append(
                    FileReport(
                        root,
                        "skipped",
                        reason=f"nothing was found there, so its {len(orphans)} indexed document(s) are kept "
                        "(an unmounted drive or a dropped share looks the same); remove them with --delete.",
                    )
                )
        self.remove |= {d.doc_id for d in candidates if d not in kept}
        return notes

    def keep_provided(self) -> None:
        """Content about to leave the index (its file changed or is gone) that another file of this batch still
        holds stays, under that file's name, with the vectors it has."""
        for doc_id, (report, item) in self.providers.items():
            if doc_id in self.remove and doc_id not in self.renames:
                self.remove.discard(doc_id)
                self.renames[doc_id] = Move(item.location, item.source)
                self.reports[doc_id] = report
                report.status = "renamed"
                report.reason = f"holds the content {self.store.documents[doc_id].source} had; not re-embedded"

    def name_documents(self, report: IngestReport) -> None:
        """Give every document of the next commit a name no other document has (`A/notes.md`, `B/notes.md`),
        relabelling those already indexed whose name must grow, without re-embedding them."""
        staying = {d: info for d, info in self.store.documents.items() if d not in self.remove}
        wanted = {d: info.source for d, info in staying.items()}
        where = {d: info.location for d, info in staying.items()}
        for doc_id, move in self.renames.items():
            wanted[doc_id], where[doc_id] = move.source, move.location
        for document, _ in self.pending:
            wanted[document.doc_id], where[document.doc_id] = document.source, self.locations[document.doc_id]
        names = unique_names(wanted, where, established={d for d, info in staying.items() if d not in self.renames})
        for index, (document, chunks) in enumerate(self.pending):
            name = names[document.doc_id]
            if name != document.source:
                self.pending[index] = (replace(document, source=name), [replace(c, source=name) for c in chunks])
        for doc_id, name in names.items():
            if doc_id in self.renames:
                self.renames[doc_id] = Move(self.renames[doc_id].location, name)
            elif doc_id in staying and staying[doc_id].source != name:
                self.renames[doc_id] = Move(staying[doc_id].location, name)
                info = staying[doc_id]
                reason = f"was {info.source}; now told apart from a document of the same name, not re-embedded"
                report.files.append(FileReport(name, "renamed", info.pages, info.chunks, reason=reason))
        for doc_id, file_report in self.reports.items():
            file_report.source = names.get(doc_id, file_report.source)

    def relabel_renamed(self) -> tuple[list[Chunk], np.ndarray, list[DocumentInfo]]:
        """Renamed or moved documents' chunks under their new name, with the vectors they already have."""
        kept = self.store.chunks_of(set(self.renames))
        chunks = [replace(c, source=self.renames[c.doc_id].source) for c in kept]
        vectors = self.store.vectors_of([c.id for c in kept])
        documents = [
            replace(
                self.store.documents[d],
                source=move.source,
                location=move.location,
                path=self.paths.get(d, self.store.documents[d].path),
            )
            for d, move in self.renames.items()
        ]
        return chunks, vectors, documents


def _under(location: str, folders: list[str]) -> bool:
    """True when `location` is one of `folders` or lies inside one of them."""
    return any(location == f or location.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def _gone(location: str) -> bool:
    """A document's file is known to be gone from where it was (uploads and legacy names never are)."""
    return os.path.isabs(location) and not os.path.lexists(location)
