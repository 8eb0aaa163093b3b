"""Building a page's text from paragraphs, headings and tables, keeping where each table is so the chunker splits
tables between rows only. A table row is written with its header ("Region: EMEA; Q2 revenue: 1,204"), so any
piece of a long table still says what each value is."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..text import clean_text
from ..types import Page

#: Longest cell kept, in characters; the rest is cut (a cell is context for its row, not a document).
MAX_CELL_CHARS = 2_000


def cell_text(value: object) -> str:
    """One cell as text on one line."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:,.10g}" if abs(value) >= 1000 else f"{value:.10g}"
    elif isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}" if abs(value) >= 10_000 else str(value)
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
        text = text[:-9] if text.endswith("T00:00:00") else text
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def tagged_row(header: Sequence[str], row: Sequence[str]) -> str:
    """`Header: value; Header: value`, skipping empty cells; a cell without a header is given as it is."""
    parts = []
    for index, value in enumerate(row):
        if not value:
            continue
        name = header[index] if index < len(header) else ""
        parts.append(f"{name}: {value}" if name and name != value else value)
    return "; ".join(parts)


def table_lines(rows: Sequence[Sequence[str]], *, repeated_cells_merged: bool = True) -> list[str]:
    """A table's rows as lines tagged with its header: the first row with any text. A table of one row, or
    whose first row repeats in every row, is given as plain rows. `repeated_cells_merged`: a value repeated
    along a row is one merged cell (python-docx, python-pptx), given once; PDFs draw each cell, so two equal
    figures in a row stay two."""
    rows = [[cell_text(c) for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    if not body:
        return [" | ".join(c for c in header if c)]
    # Cells merged across columns repeat in python-docx and python-pptx: name each column once.
    names = [name if name not in header[:i] else "" for i, name in enumerate(header)]
    lines = [" | ".join(dict.fromkeys(c for c in header if c))]
    for row in body:
        deduplicated = [c if c not in row[:i] else "" for i, c in enumerate(row)] if repeated_cells_merged else row
        line = tagged_row(names, deduplicated)
        if line:
            lines.append(line)
    return lines


class PageBuilder:
    """Appends blocks of text and tables to one page, recording table spans."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._tables: list[tuple[int, int]] = []

    def add(self, text: str) -> None:
        text = clean_text(text).strip()
        if text:
            self._append(text)

    def heading(self, text: str, level: int = 1) -> None:
        text = " ".join(text.split())
        if text:
            self._append(f"{'#' * max(1, min(level, 6))} {text}")

    def table(self, rows: Iterable[Sequence[object]], *, repeated_cells_merged: bool = True) -> None:
        rows = [list(r) for r in rows]
        lines = [clean_text(line).strip() for line in table_lines(rows, repeated_cells_merged=repeated_cells_merged)]
        lines = [line for line in lines if line]
        if lines:
            start = self._append("\n".join(lines))
            self._tables.append((start, self._length))

    def rows(self, lines: list[str]) -> None:
        """Rows already written with their header, one a line, kept as a table."""
        lines = [" ".join(line.split()) for line in lines]
        lines = [line for line in lines if line]
        if lines:
            start = self._append("\n".join(lines))
            self._tables.append((start, self._length))

    def _append(self, text: str) -> int:
        if self._parts:
            self._parts.append("\n\n")
            self._length += 2
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        return start

    @property
    def empty(self) -> bool:
        return not self._parts

    def page(self, number: int | None = None, label: str | None = None, *, ocr: bool = False) -> Page:
        return Page("".join(self._parts), number, label, ocr, tuple(self._tables))
