"""Page text cleaned before it is chunked: odd spaces made plain, words broken at line ends joined again,
table cells put back on their row, and page furniture (running headers and footers, page numbers, "Table of
Contents" links) dropped. Chunks index into the cleaned text, so their spans stay exact for citations."""

from __future__ import annotations

import re
from collections import Counter

from .types import Page

#: Bumped whenever cleaning changes what a page reads: documents cleaned by an older version are read again.
TEXT_VERSION = 2

#: Non-breaking, thin, figure and other odd spaces, made plain spaces (one for one, so spans do not move).
_ODD_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f]")
#: Characters that only steer layout: soft hyphens and zero-width spaces and joiners.
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_WORD = re.compile(r"[A-Za-z]+")
_TAIL = re.compile(r"([A-Za-z]+)(-?)$")
_HEAD = re.compile(r"^([A-Za-z]+)")
#: A line that is only table cells: amounts, percentages, dashes, currency signs.
_CELLS = re.compile(r"^[\s$€£%()\-—–.,\d*]+$")
#: A line that is only a page number: `12`, `- 12 -`, `Page 12`, `Page 12 of 40`, `xii`.
_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?[-–—]?\s*(?:\d{1,4}|[ivxlc]{1,6})\s*[-–—]?(?:\s+of\s+\d{1,4})?\s*$", re.I)
#: How many lines at each end of a page may be furniture.
_EDGE_LINES = 3
#: A line at a page's edge is furniture when it (digits aside) opens or closes at least this share of pages.
_REPEATED_SHARE = 0.3


def normalize_spaces(text: str) -> str:
    """Plain spaces for odd ones, and no invisible layout characters."""
    return _INVISIBLE.sub("", _ODD_SPACES.sub(" ", text))


def clean_pages(pages: list[Page], *, layout: bool) -> list[Page]:
    """The pages with their text cleaned. `layout` is for text read from a page layout (PDFs, OCR): there words
    broken at line ends are joined, lines of bare table cells go back on their row, and furniture repeated
    across pages is dropped. Pages holding marked tables keep their lines (their spans must not move)."""
    pages = [_replace(p, normalize_spaces(p.text)) if not p.tables else _spaces_only(p) for p in pages]
    if not layout:
        return pages
    vocabulary = Counter(w.lower() for p in pages for w in _WORD.findall(p.text))
    furniture = _furniture(pages)
    cleaned = []
    for page in pages:
        if page.tables:
            cleaned.append(page)
            continue
        lines = _drop_furniture(page.text.split("\n"), furniture)
        if page.text.strip() and not any(line.strip() for line in lines):
            lines = page.text.split("\n")  # a page of nothing but repeated lines is its own content, not furniture
        text = "\n".join(_join_cells(_join_broken_words(lines, vocabulary)))
        cleaned.append(_replace(page, re.sub(r"\n{3,}", "\n\n", text).strip()))
    return cleaned


def _spaces_only(page: Page) -> Page:
    """Odd spaces made plain one for one (the table spans stay where they are); invisible characters stay."""
    return _replace(page, _ODD_SPACES.sub(" ", page.text))


def _replace(page: Page, text: str) -> Page:
    return Page(text, page.number, page.label, page.ocr, page.tables)


def _key(line: str) -> str:
    """A line as it repeats from page to page: digits aside (`Page 3 of 40`), spaces collapsed, any case."""
    return re.sub(r"\d+", "#", " ".join(line.split())).lower()


def _edges(lines: list[str]) -> list[str]:
    content = [line for line in lines if line.strip()]
    return content[:_EDGE_LINES] + content[-_EDGE_LINES:] if len(content) > 2 * _EDGE_LINES else content


def _furniture(pages: list[Page]) -> set[str]:
    """Keys of the lines that open or close many pages: running headers, footers, "Table of Contents" links."""
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({_key(line) for line in _edges(page.text.split("\n"))})
    least = max(3, _REPEATED_SHARE * len(pages))
    return {key for key, n in counts.items() if n >= least and key.strip("# ")}


def _drop_furniture(lines: list[str], furniture: set[str]) -> list[str]:
    """The page's lines without the furniture at its top and bottom (the same words mid-page are text)."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    edges = set(content[:_EDGE_LINES] + content[-_EDGE_LINES:])
    return [
        line
        for i, line in enumerate(lines)
        if i not in edges or not (_key(line) in furniture or _PAGE_NUMBER.match(line))
    ]


def _join_broken_words(lines: list[str], vocabulary: Counter[str]) -> list[str]:
    """`Cash Flow` + `s` and `RE` + `GISTERED` joined when the whole word occurs elsewhere in the document and the
    piece on the next line is no word of its own there; `regis-` + `tered` alike, its hyphen dropped."""
    out: list[str] = []
    for line in lines:
        head = _HEAD.match(line.lstrip())
        previous = next((i for i in range(len(out) - 1, -1, -1) if out[i].strip()), None)
        if head and previous is not None and len(out) - previous <= 2:
            tail = _TAIL.search(out[previous].rstrip())
            if tail:
                joined, piece = (tail.group(1) + head.group(1)).lower(), head.group(1).lower()
                # `over` + `all`, `with` + `in`: both halves are common words on their own, so they stay apart.
                if vocabulary[joined] and (len(piece) == 1 or vocabulary[piece] <= vocabulary[joined]):
                    kept = out[previous].rstrip()
                    del out[previous + 1 :]
                    out[previous] = (kept[:-1] if tail.group(2) else kept) + line.lstrip()
                    continue
        out.append(line)
    return out


def _join_cells(lines: list[str]) -> list[str]:
    """Lines of bare cells (`$`, `1,488`, `(370)`) put back on the row their label opened, one row a line."""
    out: list[str] = []
    for line in lines:
        if line.strip() and _CELLS.match(line) and out:
            previous = next((i for i in range(len(out) - 1, -1, -1) if out[i].strip()), None)
            if previous is not None and len(out[previous]) < 400:
                del out[previous + 1 :]
                out[previous] = f"{out[previous].rstrip()} {line.strip()}"
                continue
        out.append(line)
    return out


_SENTENCE_BREAK = re.compile(r"[a-z]{3}\. [A-Z]")
#: A page title is at most this many lines, each at most this long.
_TITLE_LINES, _TITLE_CHARS = 3, 90


def page_title(text: str) -> str | None:
    """The lines that open a page as its title (`3M Company and Subsidiaries — Consolidated Statement of Cash
    Flows — Years ended December 31`): short lines with a letter, not ending a sentence, up to the first blank
    line. Every chunk of the page carries it in its header, so a table's rows still say what table they are in.
    A page that opens mid-sentence has none."""
    lines: list[str] = []
    for line in text.split("\n")[:10]:
        line = " ".join(line.split())
        if not line:
            if lines:
                break
            continue
        first = re.search(r"[^\W_]", line)
        sentence = line.endswith((",", ";")) or (line.endswith(".") and len(line.split()) > 6)
        if len(line) > _TITLE_CHARS or sentence or _SENTENCE_BREAK.search(line) or not first:
            break
        if not (first.group(0).isupper() or first.group(0).isdigit()) or not re.search(r"[^\W\d_]", line):
            break
        lines.append(line)
        if len(lines) == _TITLE_LINES:
            break
    return " — ".join(lines) or None
