"""Spreadsheets (XLSX) and CSV: each sheet a section, each row written with its header ("Region: EMEA; Q2
revenue: 1,204"), and pages of a few rows each, so that a citation names the sheet and its rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from ..errors import DocumentError
from ..text import decode_text
from ..types import Page
from .pages import PageBuilder, cell_text, tagged_row
from .registry import Loaded, Loader, LoadOptions, Probe, register
from .safezip import check_archive, check_xml_members

#: Cells read from one workbook at most; a bigger one is refused with the reason rather than half-read.
MAX_CELLS = 2_000_000
#: Characters of rows per page (about one passage), so that a citation's row range stays short.
ROWS_PAGE_CHARS = 700
MAX_COLUMNS = 1_000


def load_xlsx(data: bytes, source: str, options: LoadOptions) -> Loaded:
    import openpyxl  # parses with defusedxml when it is installed, as it is here

    archive = check_archive(data, source, "Excel workbook")
    parts = [n for n in archive.namelist() if n.endswith((".xml", ".rels"))]
    check_xml_members(archive, source, parts, "Excel workbook")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except (MemoryError, DocumentError):
        raise
    except Exception as exc:  # openpyxl, zipfile and the XML parser each fail their own way on a damaged file
        raise DocumentError(source, f"not a readable Excel workbook ({type(exc).__name__}: {str(exc)[:160]}).") from exc
    pages: list[Page] = []
    cells = 0
    try:
        for sheet in workbook.worksheets:
            rows: list[tuple[int, list[str]]] = []
            for number, row in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
                cells += len(row)
                if cells > MAX_CELLS:
                    raise DocumentError(
                        source, f"a workbook of more than {MAX_CELLS:,} cells; split it or export the part you need."
                    )
                rows.append((number, [cell_text(v) for v in row]))
            pages.extend(sheet_pages(sheet.title, rows))
        title = workbook.properties.title or ""
    except (MemoryError, DocumentError):
        raise
    except Exception as exc:
        raise DocumentError(source, f"not a readable Excel workbook ({type(exc).__name__}: {str(exc)[:160]}).") from exc
    finally:
        workbook.close()
    if not pages:
        raise DocumentError(source, "an empty workbook: no sheet holds any value.")
    return pages, title, []


def load_csv(data: bytes, source: str, options: LoadOptions) -> Loaded:
    text, warnings = decode_text(data, source)
    sample = text[:20_000]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(10_000_000)
    try:
        reader = csv.reader(io.StringIO(text), dialect)
        rows = [(n, [cell_text(c) for c in row[:MAX_COLUMNS]]) for n, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise DocumentError(source, f"not readable as CSV ({exc}).") from exc
    pages = list(sheet_pages("", rows))
    if not pages:
        raise DocumentError(source, "the file holds no values.")
    return pages, "", warnings


def sheet_pages(sheet: str, rows: Sequence[tuple[int, list[str]]]) -> Iterator[Page]:
    """Pages of about ROWS_PAGE_CHARS of header-tagged rows, each labelled with its sheet and row numbers. A
    blank row ends a table; the next row with text is its header (sheets often hold sub-tables), after a
    one-cell row above it, which is taken as the table's caption."""
    for table in _tables(rows):
        caption = ""
        if len(table) > 2 and sum(1 for c in table[0][1] if c) == 1:
            caption = next(c for c in table[0][1] if c)
            table = table[1:]
        if len(table) == 1:
            lines = [(table[0][0], " | ".join(c for c in table[0][1] if c))]
            header_note = ""
        else:
            header = _names(table[0][1])
            lines = [(n, tagged_row(header, row)) for n, row in table[1:]]
            header_note = f" (header row {table[0][0]})"
        for group in _groups([(n, line) for n, line in lines if line]):
            first, last = group[0][0], group[-1][0]
            builder = PageBuilder()
            if sheet:
                builder.heading(f"Sheet {sheet}" + (f": {caption}" if caption else ""), 2)
            elif caption:
                builder.heading(caption, 2)
            builder.rows([line for _, line in group])
            rows_label = f"row {first}" if first == last else f"rows {first}–{last}"
            yield builder.page(None, (f"sheet {sheet}, " if sheet else "") + rows_label + header_note)


def _names(header: list[str]) -> list[str]:
    """Column names; a repeated name (merged cells) is kept once, an empty one becomes its column letter."""
    names = []
    for index, name in enumerate(header):
        names.append("" if name in header[:index] and name else name or _column_letter(index))
    return names


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _tables(rows: Iterable[tuple[int, list[str]]]) -> Iterator[list[tuple[int, list[str]]]]:
    table: list[tuple[int, list[str]]] = []
    for number, row in rows:
        if any(row):
            table.append((number, row))
        elif table:
            yield table
            table = []
    if table:
        yield table


def _groups(lines: list[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    group: list[tuple[int, str]] = []
    size = 0
    for number, line in lines:
        if group and size + len(line) > ROWS_PAGE_CHARS:
            yield group
            group, size = [], 0
        group.append((number, line))
        size += len(line) + 1
    if group:
        yield group


def _is_xlsx(probe: Probe) -> bool:
    return "xl/workbook.xml" in probe.members


register(Loader("xlsx", "an Excel workbook", (".xlsx", ".xlsm"), _is_xlsx, load_xlsx, order=22))
register(Loader("csv", "a CSV table", (".csv", ".tsv"), lambda p: p.suffix in (".csv", ".tsv"), load_csv, binary=False))
