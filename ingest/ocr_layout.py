"""Reading order for OCR'd pages: Tesseract's words, with their boxes, put back in the order the text flows.

Tesseract's own page layout (`--psm 3`) finds columns of prose well, but it reads a table column by column and
can run a figure's labels into the lines of the text beside it. So the words come out of Tesseract as TSV (each
with its box, line and confidence) and are ordered here, from their geometry alone:

1. **Segments.** Each Tesseract line is cut where two words are far apart, more than 1.5 times the line's
   height (table cells, or two columns that Tesseract ran together); a segment is a run of words read left to right.
2. **Rows.** Segments that share a height on the page are one row (a table row, or a line in each column).
3. **Zones and columns.** Consecutive rows that leave one vertical band free (nothing crosses it) form a zone. A
   zone is read as two columns, left then right, each ordered again the same way inside, when the two sides are
   columns of prose: both sides read as prose, or the band is the page's central gutter and one side is prose or
   the two sides rarely share a row (independent content, not the cells of one table). Otherwise, and for every
   row outside a zone, rows are read top to bottom, each left to right: a table keeps its rows whole.

Words set vertically (a "Downloaded from …" line up the margin, a rotated axis label) are left out of the flow:
Tesseract reads them as garbage. `ingest.ocr` reads them again, turned upright. Lone table rules read as `|`, and
low-confidence specks without a letter pair or a digit, are dropped.

The page comes out a row a line, with no blank lines (see `page_text`).

Tuned on the scanned set (`scripts/ocr_eval.py`, README "Formats and OCR"): each rule was kept when it lowered
the character error rate over its 31 pages (the zone gap, for a table set apart under two columns, changes none of
them). The thresholds fit those papers' layouts; other layouts may need them revisited.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

#: Words of one Tesseract line farther apart than this many times the line's height are separate segments.
SEGMENT_GAP = 1.5
#: Neighbouring segments of a row closer than this many word heights are one (Tesseract may cut a line in two).
JOIN_GAP = 1.0
#: A column gutter is at least this many word heights wide, and a zone at least this many rows tall.
GUTTER = 1.0
ZONE_ROWS = 3
#: A zone ends at a blank stretch taller than this many word heights (a table set apart under two columns).
ZONE_GAP = 3.0
#: Prose: rows of at least this many words (median), hardly ever cut into cells, spanning most of the side.
PROSE_WORDS = 5
PROSE_SEGMENTS = 1.8
PROSE_SPAN = 0.6
#: A central gutter lies within this share of the width from the middle, with each side at least MIN_SIDE wide.
CENTRE = 0.08
MIN_SIDE = 0.3
#: Two sides sharing fewer rows than this are independent columns, not the halves of one table.
PAIRED = 0.5
#: Columns inside columns, at most this deep.
MAX_DEPTH = 3
#: Words below this confidence with no letter pair and no digit are specks, not text.
SPECK_CONFIDENCE = 20.0
_RULES = frozenset({"|", "||", "|.", "!|"})
_TEXT = re.compile(r"[^\W\d_]{2}|\d")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True, slots=True)
class Word:
    left: int
    top: int
    right: int
    bottom: int
    text: str
    confidence: float
    line: tuple[int, int, int]
    """Tesseract's (block, paragraph, line)."""

    @property
    def vertical(self) -> bool:
        """Set vertically: Tesseract read a rotated line as a tall, narrow "word"."""
        return len(self.text) >= 3 and self.bottom - self.top >= 2 * (self.right - self.left)


@dataclass(frozen=True, slots=True)
class _Segment:
    left: int
    top: int
    right: int
    bottom: int
    words: tuple[Word, ...]

    @classmethod
    def of(cls, words: list[Word] | tuple[Word, ...]) -> _Segment:
        return cls(
            min(w.left for w in words),
            min(w.top for w in words),
            max(w.right for w in words),
            max(w.bottom for w in words),
            tuple(words),
        )

    @property
    def height(self) -> int:
        return self.bottom - self.top


_Row = list[_Segment]


def parse_tsv(tsv: str) -> list[Word]:
    """The words of Tesseract's TSV output (level 5 rows), empty ones left out."""
    words = []
    for line in tsv.splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) < 12 or fields[0] != "5" or not fields[11].strip():
            continue
        try:
            left, top, width, height = (int(v) for v in fields[6:10])
            words.append(
                Word(
                    left,
                    top,
                    left + width,
                    top + height,
                    fields[11].strip(),
                    float(fields[10]),
                    (int(fields[2]), int(fields[3]), int(fields[4])),
                )
            )
        except ValueError:
            continue
    return words


Box = tuple[int, int, int, int]
"""left, top, right, bottom"""


def vertical_strips(words: list[Word]) -> list[Box]:
    """Where lines are set vertically: the vertical words grouped by the strip of the page they stand in, each
    strip grown over the short words of it that Tesseract boxed on their own ("on", "23"); tallest first."""
    groups: list[list[Word]] = []
    for word in sorted((w for w in words if w.vertical), key=lambda w: w.left):
        if groups and word.left <= max(w.right for w in groups[-1]) + 5:
            groups[-1].append(word)
        else:
            groups.append([word])
    strips = []
    for group in groups:
        left, top = min(w.left for w in group), min(w.top for w in group)
        right, bottom = max(w.right for w in group), max(w.bottom for w in group)
        reach = 2 * (right - left)
        grown = True
        while grown:
            grown = False
            for word in words:
                near = left <= (word.left + word.right) / 2 <= right and top - reach < word.bottom < bottom + reach
                if near and (word.top < top or word.bottom > bottom):
                    top, bottom, grown = min(top, word.top), max(bottom, word.bottom), True
        strips.append((left, top, right, bottom))
    return sorted(strips, key=lambda box: box[1] - box[3])


def page_text(words: list[Word]) -> str:
    """The page's text in reading order, a row a line. Lines set vertically are left out (`vertical_strips`).
    No blank lines between paragraphs or columns: an OCR'd page has the shape of a text layer's page, so both are
    cut into passages alike (with Tesseract's paragraph breaks, recall@5 on the scanned set was 0.941, without
    1.000)."""
    strips = vertical_strips(words)
    words = [w for w in words if _kept(w) and not any(_inside(w, strip) for strip in strips)]
    if not words:
        return ""
    height = statistics.median(w.bottom - w.top for w in words)
    rows = _order(_segments(words), height, 0)
    return "\n".join(_join([w for segment in row for w in segment.words]) for row in rows)


def _inside(word: Word, box: Box) -> bool:
    left, top, right, bottom = box
    return left <= (word.left + word.right) / 2 <= right and top <= (word.top + word.bottom) / 2 <= bottom


def _kept(word: Word) -> bool:
    if word.vertical or word.text in _RULES:
        return False
    return word.confidence >= SPECK_CONFIDENCE or bool(_TEXT.search(word.text))


def _join(words: list[Word]) -> str:
    """Words with a space between them, except between two Chinese or Japanese characters."""
    out = words[0].text
    for word in words[1:]:
        glue = "" if _CJK.match(out[-1]) and _CJK.match(word.text[0]) else " "
        out += glue + word.text
    return out


def _segments(words: list[Word]) -> list[_Segment]:
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    segments = []
    for line in lines.values():
        line.sort(key=lambda w: w.left)
        height = statistics.median(w.bottom - w.top for w in line)
        run = [line[0]]
        for word in line[1:]:
            if word.left - run[-1].right > SEGMENT_GAP * height:
                segments.append(_Segment.of(run))
                run = [word]
            else:
                run.append(word)
        segments.append(_Segment.of(run))
    return segments


def _rows(segments: list[_Segment], height: float) -> list[_Row]:
    """Segments grouped into rows (each overlapping the row's middle by half its height), top to bottom."""
    rows: list[_Row] = []
    for segment in sorted(segments, key=lambda s: ((s.top + s.bottom) / 2, s.left)):
        for row in reversed(rows[-4:]):
            top = statistics.median(s.top for s in row)
            bottom = statistics.median(s.bottom for s in row)
            if min(bottom, segment.bottom) - max(top, segment.top) >= 0.5 * min(segment.height, bottom - top):
                row.append(segment)
                break
        else:
            rows.append([segment])
    return [_joined(sorted(row, key=lambda s: s.left), height) for row in rows]


def _joined(row: _Row, height: float) -> _Row:
    out = [row[0]]
    for segment in row[1:]:
        if segment.left - out[-1].right < JOIN_GAP * height and segment.left >= out[-1].left:
            out[-1] = _Segment.of(out[-1].words + segment.words)
        else:
            out.append(segment)
    return out


def _free(row: _Row, low: float, high: float) -> list[tuple[float, float]]:
    """The stretches of [low, high] that no segment of the row covers."""
    out, reach = [], low
    for segment in row:
        if segment.left > reach:
            out.append((reach, float(segment.left)))
        reach = max(reach, segment.right)
    if high > reach:
        out.append((reach, high))
    return out


_Band = tuple[float, float]


def _common(bands: list[_Band], free: list[_Band], width: float) -> list[_Band]:
    out = []
    for a, b in bands:
        for c, d in free:
            low, high = max(a, c), min(b, d)
            if high - low >= width:
                out.append((low, high))
    return out


def _order(segments: list[_Segment], height: float, depth: int) -> list[_Row]:
    """Rows in reading order."""
    if not segments:
        return []
    rows = _rows(segments, height)
    low, high = float(min(s.left for s in segments)), float(max(s.right for s in segments))
    out: list[_Row] = []
    i = 0
    while i < len(rows):
        bands = [(a, b) for a, b in _free(rows[i], low, high) if a > low and b < high and b - a >= GUTTER * height]
        j = i + 1
        while bands and j < len(rows):
            common = _common(bands, _free(rows[j], low, high), GUTTER * height)
            gap = min(s.top for s in rows[j]) - max(s.bottom for s in rows[j - 1])
            if not common or gap > ZONE_GAP * height:
                break
            bands, j = common, j + 1
        split = None
        if bands and j - i >= ZONE_ROWS and depth < MAX_DEPTH:
            zone = rows[i:j]
            for a, b in sorted(bands, key=lambda band: band[0] - band[1]):  # the widest first
                left = [s for row in zone for s in row if s.right <= a]
                right = [s for row in zone for s in row if s.left >= b]
                if left and right and _columns(left, right, (a, b), (low, high), height):
                    split = left, right
                    break
        if split is None:
            out.append(rows[i])
            i += 1
            continue
        for side in split:
            out += _order(side, height, depth + 1)
        i = j
    return out


def _columns(
    left: list[_Segment], right: list[_Segment], band: tuple[float, float], span: tuple[float, float], height: float
) -> bool:
    """Whether the two sides of a free band are columns read one after the other (not one table's halves)."""
    (a, b), (low, high) = band, span
    left_prose = _prose(left, a - min(s.left for s in left), height)
    right_prose = _prose(right, max(s.right for s in right) - b, height)
    if left_prose and right_prose:
        return True
    width = high - low
    central = abs((a + b) / 2 - (low + high) / 2) <= CENTRE * width and min(a - low, high - b) >= MIN_SIDE * width
    if not central:
        return False
    if left_prose or right_prose:
        return True
    rows = _rows(left + right, height)
    paired = sum(1 for row in rows if any(s.right <= a for s in row) and any(s.left >= b for s in row))
    return paired < PAIRED * len(rows)


def _prose(segments: list[_Segment], width: float, height: float) -> bool:
    rows = _rows(segments, height)
    if len(rows) < ZONE_ROWS or width <= 0:
        return False
    words = statistics.median(sum(len(s.words) for s in row) for row in rows)
    cells = statistics.mean(len(row) for row in rows)
    span = statistics.median(max(s.right for s in row) - min(s.left for s in row) for row in rows)
    return words >= PROSE_WORDS and cells <= PROSE_SEGMENTS and span >= PROSE_SPAN * width
