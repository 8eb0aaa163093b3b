"""Chunking: split pages into overlapping passages measured in the embedder's tokens, keeping page, heading, span."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .cleanup import page_title
from .errors import DocumentError
from .types import Chunk, LoadedDocument

# Only the marker is matched by a pattern; the title is cut with str methods, so a heading line of any length
# (`# ###...###x`) costs linear time. (The former `(.+?)[ \t#]*$` backtracked quadratically.)
_HEADING_MARK = re.compile(r"(#{1,6})[ \t]+")
_FENCE = re.compile(r"^\s*(```|~~~)")
# Pieces longer than this (in characters) are cut before the token-aware splitter sees them, so that one
# enormous line costs linear time instead of one tokenizer call per character.
_MAX_PIECE_CHARS = 20_000
# A heading is context, not content: one longer than this is cut, so that a hostile heading line is neither
# copied into every chunk's header nor counted again for each of them.
MAX_HEADING_CHARS = 200


@dataclass(frozen=True, slots=True)
class Section:
    """A run of a page's text under one heading path, with its offset in the page."""

    text: str
    start: int
    heading: str | None


class Chunker:
    """Splits documents into chunks of at most `chunk_size` tokens, as counted by `count_tokens`.

    `max_tokens` is the embedder's maximum sequence length without special tokens: the header plus the
    chunk text, which is what gets embedded, never exceeds it, so nothing is silently truncated.
    """

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        *,
        chunk_size: int,
        chunk_overlap: int,
        header_tokens: int,
        max_tokens: int,
        max_chunks: int | None = None,
    ) -> None:
        if chunk_size + header_tokens + 1 > max_tokens:
            raise ValueError(
                f"chunk_size ({chunk_size}) + header_tokens ({header_tokens}) must stay below the embedder's "
                f"limit of {max_tokens} tokens; lower DOCQA_CHUNK_SIZE."
            )
        self.count_tokens = count_tokens
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.header_tokens = header_tokens
        self.max_tokens = max_tokens
        self.max_chunks = max_chunks
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            length_function=count_tokens,
            separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
            keep_separator="end",
            strip_whitespace=True,
        )

    def split(self, document: LoadedDocument, *, deadline: float | None = None) -> list[Chunk]:
        """The document's chunks, in order. DocumentError when it would make more than `max_chunks` chunks,
        or when splitting is still going at `deadline` (a `time.monotonic()` value): the same time limit as
        parsing, so no file can hold an ingest (and its writer lock) for longer."""
        chunks: list[Chunk] = []
        for page in document.pages:
            metadata: dict[str, object] = {}
            if page.label:
                metadata["where"] = page.label
            if page.ocr:
                metadata["ocr"] = True
            place = page.number if page.number is not None else page.label  # sheets, chapters: by their label
            # A numbered page (PDF, scan) without headings of its own is headed by its opening lines (a table's
            # title), so each of its passages says what it is part of.
            title = page_title(page.text) if page.number is not None and not page.label else None
            for section in split_sections(page.text):
                for start, text in self._split_section(section, page.tables):
                    if self.max_chunks is not None and len(chunks) >= self.max_chunks:
                        raise DocumentError(
                            document.source,
                            f"it would make more than {self.max_chunks:,} passages (max_chunks_per_file); split "
                            "the file, or raise the limit if it really is that long.",
                        )
                    if deadline is not None and time.monotonic() > deadline:
                        raise DocumentError(
                            document.source,
                            "splitting it into passages took longer than the parsing time limit, so it was "
                            "stopped (a degenerate or hostile file?). Raise parse_timeout_s if it is just large.",
                        )
                    begin = section.start + start
                    chunks.append(
                        Chunk(
                            id=chunk_id(document.doc_id, place, begin, begin + len(text)),
                            doc_id=document.doc_id,
                            source=document.source,
                            text=text,
                            page=page.number,
                            heading=section.heading or title,
                            start=begin,
                            end=begin + len(text),
                            title=document.title,
                            metadata=dict(metadata),
                        )
                    )
        return chunks

    def embedding_text(self, chunk: Chunk) -> str:
        """Header and text, as embedded; the header is cut to its budget so the whole fits the embedder."""
        if self.header_tokens == 0:
            return chunk.text
        header = chunk.header()[: self.header_tokens * 16]  # no token is longer than that many characters
        while header and self.count_tokens(header) > self.header_tokens:
            header = header[: int(len(header) * 0.8)].rstrip()
        text = f"{header}\n{chunk.text}" if header else chunk.text
        if self.count_tokens(text) > self.max_tokens:
            return chunk.text
        return text

    def _split_section(self, section: Section, tables: tuple[tuple[int, int], ...]) -> Iterator[tuple[int, str]]:
        """(offset in the section, text) of its chunks: prose by the splitter, each table on its own, cut
        between rows only (rows carry their header, so every piece of a long table still names its columns)."""
        end = section.start + len(section.text)
        position = section.start
        for table_start, table_end in sorted(tables):
            low, high = max(table_start, section.start), min(table_end, end)
            if low >= high:
                continue
            before = section.text[position - section.start : low - section.start]
            if all(not line.strip() or _heading(line) for line in before.splitlines()):
                low = position  # only headings before it: they open the table's first passage
            elif before:
                for start, text in self._split_text(before):
                    yield position - section.start + start, text
            for start, text in self._split_rows(section.text[low - section.start : high - section.start]):
                yield low - section.start + start, text
            position = high
        if position < end:
            for start, text in self._split_text(section.text[position - section.start :]):
                yield position - section.start + start, text

    def _split_rows(self, text: str) -> Iterator[tuple[int, str]]:
        """A table's rows (one a line) packed into chunks of at most `chunk_size` tokens, never cut mid-row
        unless one row alone is longer than a chunk."""
        first, last, used, offset = -1, -1, 0, 0
        for line in text.split("\n"):
            begin, offset = offset, offset + len(line) + 1
            if not line.strip():
                continue
            tokens = self.count_tokens(line) + 1
            if first >= 0 and used + tokens > self.chunk_size:
                yield first, text[first:last]
                first, used = -1, 0
            if tokens > self.chunk_size:
                yield from self._enforce_limit(begin, line)
                continue
            if first < 0:
                first = begin
            last, used = begin + len(line), used + tokens
        if first >= 0:
            yield first, text[first:last]

    def _split_text(self, text: str) -> Iterator[tuple[int, str]]:
        """(start offset, chunk text) pairs; every chunk fits in `chunk_size` tokens and is non-empty."""
        overlap_share = self.chunk_overlap / self.chunk_size
        for piece_start, piece in _pieces(text, _MAX_PIECE_CHARS):
            previous_start, previous_end = -1, 0
            for part in self._splitter.split_text(piece):
                offset = _locate(piece, part, previous_start, previous_end, overlap_share)
                previous_start, previous_end = offset, offset + len(part)
                yield from self._enforce_limit(piece_start + offset, part)

    def _enforce_limit(self, start: int, text: str) -> Iterator[tuple[int, str]]:
        """The splitter sums token counts of pieces, which can differ from counting the joined text;
        halve any chunk that came out too long, at whitespace where possible."""
        if not text.strip():
            return
        if len(text) <= 1 or self.count_tokens(text) <= self.chunk_size:
            yield start, text
            return
        middle = len(text) // 2
        cut = text.rfind(" ", 0, middle)
        if cut <= 0:
            cut = middle
        left, right = text[:cut], text[cut:]
        yield from self._enforce_limit(start, left.rstrip())
        stripped = right.lstrip()
        yield from self._enforce_limit(start + cut + (len(right) - len(stripped)), stripped)


def split_sections(text: str) -> list[Section]:
    """Cut Markdown-style text at headings (outside code fences), tracking the heading path `A > B`."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    in_fence = False
    section_start = 0
    offset = 0
    heading: str | None = None
    body = False  # whether the open section has text besides its heading lines
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        found = None if in_fence else _heading(line)
        if found:
            # A heading with no text of its own stays with the next one (a run of headings is one section,
            # not one chunk per line), so degenerate structure cannot multiply the chunks.
            if body and text[section_start:offset].strip():
                sections.append(Section(text[section_start:offset], section_start, heading))
                section_start = offset
            level, title = found
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, title)]
            heading = " > ".join(t for _, t in path)
            body = False
        elif line.strip():
            body = True
        offset += len(line)
    if text[section_start:].strip():
        sections.append(Section(text[section_start:], section_start, heading))
    return sections


def _heading(line: str) -> tuple[int, str] | None:
    """(level, title) of a Markdown ATX heading line, or None; linear in the line's length."""
    match = _HEADING_MARK.match(line)
    if match is None:
        return None
    rest = line[match.end() :].rstrip("\r\n")
    title = rest.rstrip(" \t#").strip() or rest.strip()
    if len(title) > MAX_HEADING_CHARS:
        title = title[: MAX_HEADING_CHARS - 1] + "…"
    return (len(match.group(1)), title) if title else None


def _locate(piece: str, part: str, previous_start: int, previous_end: int, overlap_share: float) -> int:
    """Where the splitter took `part` from. Chunks come in order, each overlapping the previous one or
    following it after whitespace, and each adds text past the end of the previous one. In repetitive text
    (tables of zeros, long runs of one character) the same string occurs at many offsets: among those that
    advance past the previous chunk and leave no gap of non-whitespace, take the one nearest to where the
    overlap predicts, so spans advance and cover the text."""
    if previous_start < 0:
        expected = 0
    else:
        length = previous_end - previous_start
        expected = previous_start + max(1, length - round(length * overlap_share))
    gap_end = previous_end
    while gap_end < len(piece) and piece[gap_end].isspace():
        gap_end += 1
    best = -1
    position = piece.find(part, max(previous_start + 1, previous_end - len(part) + 1))
    while position != -1 and position <= gap_end:
        if best < 0 or abs(position - expected) < abs(best - expected):
            best = position
        if position >= expected:
            break  # later occurrences are only farther from the expected place
        position = piece.find(part, position + 1)
    return best if best >= 0 else piece.find(part, previous_start + 1)


def _pieces(text: str, limit: int) -> Iterator[tuple[int, str]]:
    """Cut text into pieces of at most `limit` characters, at paragraph or line breaks where possible."""
    start = 0
    while len(text) - start > limit:
        window = text[start : start + limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        yield start, text[start : start + cut]
        start += cut
    yield start, text[start:]


def chunk_id(doc_id: str, page: int | str | None, start: int, end: int) -> str:
    """Stable id from the document's content hash and the chunk's span."""
    return hashlib.sha256(f"{doc_id}:{page}:{start}:{end}".encode()).hexdigest()[:32]
