"""Drawing one PDF page as a PNG, and cutting it out as a PDF of its own, with pdfium, within a pixel budget
(and a slide, by `ingest.slide_render`, within the same budget).

These are the pure functions the isolated worker runs (`ingest.isolate`); the app never calls them in its own
process. The worker adds the wall-clock timeout and the memory cap; this module makes sure the bitmap itself is
small whatever the page says about its size: a 1 pt × 1200 pt page, a 14400 pt square, /UserUnit 75000 or a
rotated page is drawn at most `MAX_SIDE_PX` pixels on its longest side and `MAX_PIXELS` pixels in all. The scale
is computed from pdfium's own page size before pdfium is asked to draw anything, and a page whose size is not a
finite positive number is refused with a message.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from .errors import DocumentError

#: Longest side of a drawn page, in pixels (a 900 px wide A4 page is 1273 px tall).
MAX_SIDE_PX = 2000
#: Most pixels a drawn page may have: 4 MP, 16 MB as RGBA, whatever the page's shape.
MAX_PIXELS = 4_000_000
#: The width a page is drawn at unless it is asked for narrower (or its caps make it so).
DEFAULT_WIDTH_PX = 900


def fit_scale(width_pt: float, height_pt: float, width_px: int = DEFAULT_WIDTH_PX) -> float:
    """Pixels per point to draw a page `width_pt` × `height_pt` about `width_px` wide within the pixel caps.

    The bitmap pdfium makes at this scale is ceil(width × scale) × ceil(height × scale) pixels, and that is within
    `MAX_SIDE_PX` and `MAX_PIXELS`. ValueError for a size that is not finite and positive.
    """
    if not all(math.isfinite(v) and v > 0 for v in (width_pt, height_pt, width_px)):
        raise ValueError(f"page size {width_pt!r} × {height_pt!r} pt cannot be drawn at {width_px!r} px")
    scale = min(
        width_px / width_pt,
        MAX_SIDE_PX / max(width_pt, height_pt),
        math.sqrt(MAX_PIXELS / width_pt / height_pt),  # divided one at a time: width × height may overflow
    )
    while True:  # pdfium's bitmap rounds each side up, which may add a column or a row: shave it off
        width, height = bitmap_size(width_pt, height_pt, scale)
        if _fits(width, height) and (width <= width_px or width == 1):
            return scale
        scale *= 1 - 1e-4


def bitmap_size(width_pt: float, height_pt: float, scale: float) -> tuple[int, int]:
    """The bitmap pypdfium2 allocates for a page drawn at `scale`: each side rounded up, at least one pixel."""
    return max(1, math.ceil(width_pt * scale)), max(1, math.ceil(height_pt * scale))


def _fits(width_px: int, height_px: int) -> bool:
    return max(width_px, height_px) <= MAX_SIDE_PX and width_px * height_px <= MAX_PIXELS


#: The kinds of file (`ingest.loaders.sniff`) whose pages `draw_page` draws: PDF pages, and slides.
DRAWN_KINDS = ("pdf", "pptx")


def page_kind(path: str | Path) -> str | None:
    """The file's kind when its pages can be drawn (one of `DRAWN_KINDS`), by `ingest.loaders.kind_of`, the one
    test of a file's type (a ZIP container is read whole: sniffing looks at its members); None for other files."""
    from .loaders import kind_of

    with open(path, "rb") as handle:
        data = handle.read(1024)
        if data.startswith(b"PK\x03\x04"):
            data += handle.read()
    kind = kind_of(data)
    return kind if kind in DRAWN_KINDS else None


def draw_page(path: str, page: int, width_px: int = DEFAULT_WIDTH_PX, source: str = "") -> bytes:
    """PNG of one 1-based page of a PDF (`render_png`) or slide of a deck (`ingest.slide_render`), by the file's
    sniffed type, about `width_px` wide and within the same pixel caps; DocumentError with the reason otherwise."""
    if page_kind(path) == "pptx":
        from .slide_render import render_slide

        return render_slide(path, page, width_px, source or path)
    return render_png(path, page, width_px, source)


def render_png(path: str, page: int, width_px: int = DEFAULT_WIDTH_PX, source: str = "") -> bytes:
    """PNG of one 1-based page of the PDF at `path`, about `width_px` wide and within the pixel caps.

    DocumentError(source, reason) when the page does not exist or its size makes no sense.
    """
    import pypdfium2 as pdfium

    source = source or path
    document = _open(path, source)
    try:
        pdf_page = document[_index(document, page, source)]
        width_pt, height_pt = pdf_page.get_width(), pdf_page.get_height()
        try:
            scale = fit_scale(width_pt, height_pt, width_px)
        except ValueError:
            raise DocumentError(
                source, f"page {page} has no usable size ({width_pt:g} × {height_pt:g} pt), so it cannot be drawn."
            ) from None
        # pypdfium2 sizes the bitmap from the same page size and scale (`bitmap_size`); check it, never trust it.
        bitmap = pdf_page.render(scale=scale, rotation=0, may_draw_forms=True)
        if not _fits(bitmap.width, bitmap.height):
            raise DocumentError(source, f"page {page} came out {bitmap.width} × {bitmap.height} px; not shown.")
        buffer = io.BytesIO()
        bitmap.to_pil().save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()
    except pdfium.PdfiumError as exc:
        raise DocumentError(source, f"pdfium could not draw page {page} ({exc}).") from None
    finally:
        document.close()


def cut_page(path: str, page: int, source: str = "") -> bytes:
    """One 1-based page of the PDF at `path` as a PDF of its own (pdfium also reads files pypdf gives up on)."""
    import pypdfium2 as pdfium

    source = source or path
    document = _open(path, source)
    single = pdfium.PdfDocument.new()
    try:
        single.import_pages(document, [_index(document, page, source)])
        buffer = io.BytesIO()
        single.save(buffer)
        return buffer.getvalue()
    except pdfium.PdfiumError as exc:
        raise DocumentError(source, f"pdfium could not cut out page {page} ({exc}).") from None
    finally:
        single.close()
        document.close()


def _open(path: str, source: str) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise DocumentError(source, f"pdfium could not open it ({exc}).") from None


def _index(document: Any, page: int, source: str) -> int:
    count = len(document)
    if not 1 <= page <= count:
        raise DocumentError(source, f"it has no page {page} (it has {count}).")
    return page - 1
