"""Tables in PDFs kept whole: on pages whose text layer looks tabular, pdfplumber's words and boxes give the tables,
and the table's lines of the text layer are replaced by its rows tagged with the header (`pages.PageBuilder`), so the
chunker splits it between rows only. Columns come from where the words sit, not from pdfplumber's cells (filings
shade rows without column rules, set "$" apart and stack headers over several lines). A page whose tables fail, or
that is reached after the deadline, keeps its text-layer text, with a warning naming it."""

from __future__ import annotations

import contextlib
import io
import re
import time
from collections.abc import Sequence

from ..types import Page
from .pages import PageBuilder

_NUMBER = re.compile(r"^[(\-–—]?[$€£]?\(?\d[\d,.]*(?<!\.)\)?%?$")
_YEAR = re.compile(r"^(19|20)\d\d$")
_CURRENCY = {"$", "€", "£", "¥"}
_DASHES = {"—", "–", "-", "—%", "-%"}
_TRAILING = {"%", ")", "%)"}
_TOKEN = re.compile(r"[^\s$€£]+|[$€£]")

Phrase = tuple[float, float, float, str]  # x0, x1, top, text


def looks_tabular(text: str) -> bool:
    """The cheap test on the text layer: four lines ending in two or more figures, or twelve lines of figures
    alone (a layer that gives each cell a line); years and numbers in sentences do not count."""
    rows = cells = 0
    for line in text.split("\n"):
        tokens = line.split()
        figures = sum(1 for token in tokens if _amount(token))
        rows += bool(tokens) and _amount(tokens[-1]) and figures >= 2
        cells += bool(tokens) and figures == len(tokens) and not all(t in _DASHES for t in tokens)
        if rows >= 4 or cells >= 12:
            return True
    return False


def add_tables(data: bytes, pages: list[Page], deadline: float | None) -> tuple[list[Page], list[str]]:
    """The pages with their tables as tagged rows, and warnings; never raises (pdfplumber reads untrusted bytes)."""
    wanted = [p.number for p in pages if p.number is not None and not p.ocr and not p.tables and looks_tabular(p.text)]
    if not wanted:
        return pages, []
    notes: list[str] = []
    by_number = {page.number: page for page in pages}
    try:
        import pdfplumber

        document = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:
        return pages, [f"tables not read ({type(exc).__name__}: {str(exc)[:120]}); pages kept as text"]
    try:
        for position, number in enumerate(wanted):
            if deadline is not None and time.monotonic() > deadline:
                left = ", ".join(str(n) for n in wanted[position:])
                notes.append(f"tables not read on pages {left}: out of time; kept as text")
                break
            try:
                page = document.pages[number - 1]
                rebuilt = rebuild_page(page, by_number[number])
                page.close()
            except Exception as exc:
                notes.append(f"page {number}: tables not read ({type(exc).__name__}: {str(exc)[:120]}); kept as text")
                continue
            by_number[number] = rebuilt or by_number[number]
    except Exception as exc:
        notes.append(f"tables not read ({type(exc).__name__}: {str(exc)[:120]}); pages kept as text")
    finally:
        with contextlib.suppress(Exception):
            document.close()
    return [by_number[page.number] for page in pages], notes


def rebuild_page(page: object, layer: Page) -> Page | None:
    """The page's text with each table found replaced by its tagged rows, or None when no table was usable."""
    lines = _lines(page.extract_words(x_tolerance=1.5, y_tolerance=2.5))  # type: ignore[attr-defined]
    boxes = _merged([table.bbox for table in page.find_tables()])  # type: ignore[attr-defined]
    found, used = [], set()
    regions = []
    for x0, top, x1, bottom in boxes:
        rows = [i for i, line in enumerate(lines) if top - 1 <= line[0][2] <= bottom - 1]
        regions.append([i for i in rows if any(p[0] >= x0 - 2 and p[1] <= x1 + 2 for p in lines[i])])
    for inside in regions + _figure_runs(lines, float(page.width)):  # type: ignore[attr-defined]
        table = _table_rows(lines, inside) if len(inside) > 1 else None
        if table and not used.intersection(table[2]):
            found.append(table[:2])
            used.update(table[2])
    if not found:
        return None
    text_lines = layer.text.split("\n")
    spans = []
    for caption, rows in found:
        span = _span_in_layer(text_lines, set(_TOKEN.findall(" ".join([caption, *(" ".join(r) for r in rows)]))))
        if span is not None and not any(a < span[1] and span[0] < b for a, b, _, _ in spans):
            spans.append((*span, caption, rows))
    if not spans:
        return None
    builder, position = PageBuilder(), 0
    for start, end, caption, rows in sorted(spans, key=lambda item: item[0]):
        builder.add("\n".join([*text_lines[position:start], caption]))
        builder.table(rows, repeated_cells_merged=False)
        position = end
    builder.add("\n".join(text_lines[position:]))
    return builder.page(layer.number, layer.label, ocr=layer.ocr)


def _lines(words: list[dict]) -> list[list[Phrase]]:
    """Words grouped into lines (by their top), each line's words joined into phrases where they sit close."""
    lines: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if lines and abs(lines[-1][0]["top"] - word["top"]) <= 2.5:
            lines[-1].append(word)
        else:
            lines.append([word])
    out = []
    for line in lines:
        phrases: list[Phrase] = []
        for w in sorted(line, key=lambda w: w["x0"]):
            last = phrases[-1] if phrases else None
            if last and w["x0"] - last[1] <= 0.45 * max(w["bottom"] - w["top"], 4.0) and w["text"] not in _CURRENCY:
                phrases[-1] = (last[0], float(w["x1"]), last[2], f"{last[3]} {w['text']}")
            else:
                phrases.append((float(w["x0"]), float(w["x1"]), float(w["top"]), str(w["text"])))
        out.append(phrases)
    return out


def _merged(boxes: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """pdfplumber's tables one close above the other joined: each shaded row of a filing is a table to it."""
    out: list[list[float]] = []
    for x0, top, x1, bottom in sorted(boxes, key=lambda b: b[1]):
        last = out[-1] if out else None
        if last and top - last[3] < 30 and _overlap(last[::2], x0, x1) > 0.5 * min(x1 - x0, last[2] - last[0]):
            last[:] = [min(last[0], x0), last[1], max(last[2], x1), max(last[3], bottom)]
        else:
            out.append([x0, top, x1, bottom])
    return [(a, b, c, d) for a, b, c, d in out]


def _figure_runs(lines: list[list[Phrase]], width: float) -> list[list[int]]:
    """Tables without boxes: runs of 3+ lines of a label and figures (to the right half), labels alone between."""
    runs: list[list[int]] = []
    for i, line in enumerate(lines):
        if len(line) < 2 or line[-1][1] <= width / 2 or not _figure_line(line):
            continue
        between = lines[runs[-1][-1] + 1 : i] if runs else [[]] * 3
        near = runs and lines[i][0][2] - lines[runs[-1][-1]][0][2] < 30 * (len(between) + 1)
        if near and len(between) <= 2 and all(len(b) == 1 and _is_label(b[0]) for b in between):
            runs[-1].append(i)
        else:
            runs.append([i])
    return [run for run in runs if len(run) >= 3]


def _figure_line(line: list[Phrase], value_x0: float | None = None) -> bool:
    """A label, then only figures and currency signs (all right of `value_x0`, when given)."""
    label, rest = line[0], line[1:]
    if not _is_label(label) or (value_x0 is not None and label[1] >= value_x0 + 2):
        return False
    return all((value_x0 is None or p[0] >= value_x0) and (_amount(p[3]) or p[3] in _CURRENCY) for p in rest)


def _table_rows(lines: list[list[Phrase]], inside: list[int]) -> tuple[str, list[list[str]], range] | None:
    """The caption beside the header (`(In millions)`), [header, *rows] for the table on lines `inside` (label
    column first, then one column per run of figures or cells), and the lines it took."""
    # Columns from where the cells sit: every phrase but a line's first when that is its label.
    columns = _columns([p for i in inside for j, p in enumerate(lines[i]) if j or not _is_label(p)])
    if not columns:
        return None
    value_x0 = columns[0][0] - 2
    # Upward from the table: rows and label-only lines belong to it until header lines (words over the columns
    # only) start; downward, rows pdfplumber left out of its box.
    first, last, header_lines, captions = inside[0], inside[-1], [], []
    for i in range(inside[0] - 1, max(-1, inside[0] - 9), -1):
        line, below = lines[i], lines[i + 1]
        if below[0][2] - line[0][2] > 40:
            break
        # A header line may open with the table's caption in the label column: `(In millions)  2022  2021`.
        caption = line[:1] if len(line) > 1 and _is_label(line[0]) and line[0][1] < value_x0 + 2 else []
        heads = line[len(caption) :]
        if all(p[0] >= value_x0 for p in heads) and not all(_amount(p[3]) or p[3] in _CURRENCY for p in heads):
            header_lines.insert(0, heads)
            captions[:0] = [p[3] for p in caption]
        elif not header_lines and _figure_line(line, value_x0):
            first = i
        else:
            break
    while last + 1 < len(lines) and lines[last + 1][0][2] - lines[last][0][2] < 20 and len(lines[last + 1]) > 1:
        if not _figure_line(lines[last + 1], value_x0):
            break
        last += 1
    body = lines[first : last + 1]
    header = [""] * (len(columns) + 1)
    extents = [list(c) for c in columns]
    for line in reversed(header_lines):  # bottom up: a phrase over two columns' headers names both
        targets = [_header_columns(extents, x_start, x_end) for x_start, x_end, _, _ in line]
        for c in set(range(len(columns))) - {c for t in targets for c in t}:
            # A column no phrase of a group line stands over belongs to the group on its right (headers over
            # a group are set flush right: `Three Months Ended` over `2022  2021`), else to the nearest.
            right = [k for k, p in enumerate(line) if p[0] >= extents[c][1]]
            k = right[0] if right else min(range(len(line)), key=lambda k: abs(line[k][1] - extents[c][0]))
            targets[k].append(c)
        for (x_start, x_end, _, text), columns_named in zip(line, targets, strict=True):
            for c in sorted(set(columns_named)):
                header[c + 1] = f"{text} {header[c + 1]}".strip()
                if len(columns_named) == 1:
                    extents[c] = [min(extents[c][0], x_start), max(extents[c][1], x_end)]
    rows = [_cells(line, columns, value_x0) for line in body]
    if not any(header) and rows and not any(_amount(c) for c in rows[0] if c):
        header, rows = rows[0], rows[1:]  # a grid table with its header inside the rules
    if not any(header[1:]) or sum(1 for row in rows if any(row[1:])) < 2:
        return None
    _name_sections(rows, [line[0][0] for line in body][-len(rows) :])
    keep = [c for c in range(len(header)) if c == 0 or header[c] or any(row[c] for row in rows)]
    taken = range(first - len(header_lines), last + 1)
    return " ".join(captions), [[header[c] for c in keep]] + [[row[c] for c in keep] for row in rows], taken


def _amount(text: str) -> bool:
    """A figure or a dash for none, not a year (`2022` heads a column; `2,022` and `(393)` are amounts)."""
    text = text.replace(" ", "")
    return text in _DASHES or (bool(_NUMBER.match(text)) and not _YEAR.match(text))


def _is_label(phrase: Phrase) -> bool:
    """A line's first phrase names its row when it has letters (a figure opening a line is a cell)."""
    return bool(re.search(r"[A-Za-z]", phrase[3])) and not _amount(phrase[3])


def _columns(phrases: list[Phrase]) -> list[tuple[float, float]]:
    """Runs of x covered by the cells; one of "$" alone joins the run to its right, one of `%` or `)` its left."""
    runs: list[list] = []
    for x0, x1, _, text in sorted(phrases):
        if runs and x0 <= runs[-1][1] + 1:
            runs[-1][1:] = [max(runs[-1][1], x1), runs[-1][2] | {text}]
        else:
            runs.append([x0, x1, {text}])
    columns: list[list[float]] = []
    carry: float | None = None
    for x0, x1, texts in runs:
        if texts <= _TRAILING and columns:
            columns[-1][1] = x1
        elif texts <= _CURRENCY:
            carry = x0 if carry is None else carry
        else:
            columns.append([x0 if carry is None else carry, x1])
            carry = None
    return [(a, b) for a, b in columns]


def _header_columns(columns: Sequence[Sequence[float]], x0: float, x1: float) -> list[int]:
    """The columns a header phrase names: all it overlaps by more than a few points, else the nearest."""
    spanned = [c for c, column in enumerate(columns) if _overlap(column, x0, x1) > 3]
    if spanned:
        return spanned
    middle = (x0 + x1) / 2
    return [min(range(len(columns)), key=lambda c: abs(sum(columns[c]) / 2 - middle))]


def _overlap(column: Sequence[float], x0: float, x1: float) -> float:
    return max(0.0, min(column[1], x1) - max(column[0], x0))


def _cells(line: list[Phrase], columns: list[tuple[float, float]], value_x0: float) -> list[str]:
    cells = [""] * (len(columns) + 1)
    for x0, x1, _, text in line:
        if x0 < value_x0 and not (_NUMBER.match(text.replace(" ", "")) or text in _CURRENCY):
            cells[0] = f"{cells[0]} {text}".strip()
            continue
        column = 1 + max(range(len(columns)), key=lambda c: (_overlap(columns[c], x0, x1), -abs(columns[c][1] - x1)))
        glue = "" if cells[column] in _CURRENCY or text in _TRAILING else " "
        cells[column] = f"{cells[column]}{glue}{text}".strip()
    return cells


def _name_sections(rows: list[list[str]], starts: list[float]) -> None:
    """A label wrapped onto the next line (its figures there) joined to it; a row indented under a label-only row
    ending in ":" named after it: `Cost of sales — Products`."""
    for i in range(len(rows) - 2, -1, -1):
        row, after = rows[i], rows[i + 1]
        if row[0] and not any(row[1:]) and not row[0].endswith(":") and after[0][:1].islower():
            after[0] = f"{row[0]} {after[0]}"
            del rows[i], starts[i]
    section: tuple[str, float] | None = None
    for row, x0 in zip(rows, starts, strict=False):
        if row[0] and not any(row[1:]):
            section = (row[0].rstrip(":").strip(), x0) if row[0].endswith(":") else None
        elif section is not None and row[0] and x0 > section[1] + 2:
            total = row[0].lower().startswith("total")
            row[0] = f"{section[0]} — {row[0]}"
            section = None if total else section  # `Total cost of sales` closes its section
        elif section is not None and x0 <= section[1] + 2:
            section = None


def _span_in_layer(lines: list[str], tokens: set[str]) -> tuple[int, int] | None:
    """The longest run of text-layer lines [start, end) made (mostly) of the table's words, or None if too short."""
    best, run_start, run_tokens, found = None, None, 0, 0
    for i, line in enumerate([*lines, "\x00"]):
        words = set(_TOKEN.findall(line))
        inside = bool(words) and len(words & tokens) >= 0.8 * len(words)
        if inside:
            run_start = i if run_start is None else run_start
            run_tokens += len(words)
            last = i
        elif line.strip() or i == len(lines):
            if run_start is not None and run_tokens > found:
                best, found = (run_start, last + 1), run_tokens
            run_start, run_tokens = None, 0
    return best if best is not None and found >= 0.5 * len(tokens) else None
