"""Drawing one slide of a PowerPoint deck as a PNG, for the source card, with python-pptx and Pillow.

Run by the worker process of `ingest.isolate` (through `ingest.render.draw_page`) within its time limit and memory
cap, and within the pixel caps of `ingest.render`: the slide's size in EMU is scaled as a PDF page's is in points.
Each shape is drawn at its place and size: text wrapped in its box (titles large and bold), pictures from their
embedded bytes (never a file the deck links to), tables as a grid with their cells' text, solid and theme fills
and outlines of shapes, groups through their child transform, and the master's and layout's own shapes beneath.
Speaker notes are not on the slide, so they are not drawn. Not pixel-perfect: what is on the slide, where it is.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from .errors import DocumentError
from .loaders.slides import MAX_GROUP_DEPTH, open_deck
from .render import bitmap_size, fit_scale
from .slide_colours import (
    BLACK,
    EMU_PER_PT,
    WHITE,
    A,
    P,
    color,
    fill_of,
    is_dark,
    shape_fill,
    shape_line,
    style_colour,
    theme_colours,
)
from .slide_paint import GREY, Box, Paragraph, bounded, clip, outline, paint_text, paste_picture

#: A deck that does not say its slide size is drawn at PowerPoint's 4:3 default (10 × 7.5 in).
DEFAULT_SLIDE_EMU = (9_144_000, 6_858_000)
_A, _P = A, P
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
#: Text size (pt) and boldness by placeholder type, where the deck leaves them to its layouts.
_TEXT_STYLE = {"CENTER_TITLE": (44, True), "TITLE": (36, True), "SUBTITLE": (24, False), "BODY": (24, False)}
_HEADER_FILL = (222, 228, 238)
#: A bullet from a symbol font (Wingdings' private-use characters, and beyond) is drawn as a dot.
_PRIVATE_USE = "\ue000"
_POLYGONS = {
    "triangle": ((0.5, 0), (1, 1), (0, 1)),
    "rtTriangle": ((0, 0), (1, 1), (0, 1)),
    "diamond": ((0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5)),
    "pentagon": ((0.5, 0), (1, 0.38), (0.81, 1), (0.19, 1), (0, 0.38)),
    "hexagon": ((0.25, 0), (0.75, 0), (1, 0.5), (0.75, 1), (0.25, 1), (0, 0.5)),
    "rightArrow": ((0, 0.25), (0.6, 0.25), (0.6, 0), (1, 0.5), (0.6, 1), (0.6, 0.75), (0, 0.75)),
}


def render_slide(path: str, slide: int, width_px: int, source: str = "") -> bytes:
    """PNG of the 1-based `slide` of the deck at `path`, about `width_px` wide and within the pixel caps;
    DocumentError(source, reason) for a deck that cannot be read, a slide it does not have, or a picture that is
    too big to draw."""
    source = source or path
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        deck = open_deck(data, source)
        count = len(deck.slides)
        if not 1 <= slide <= count:
            raise DocumentError(source, f"it has no slide {slide} (it has {count}).")
        width_emu, height_emu = deck.slide_width or DEFAULT_SLIDE_EMU[0], deck.slide_height or DEFAULT_SLIDE_EMU[1]
        try:
            scale = fit_scale(width_emu, height_emu, width_px)
        except ValueError:
            raise DocumentError(
                source, f"its slide size ({width_emu} × {height_emu} EMU) makes no sense, so it cannot be drawn."
            ) from None
        canvas = _draw(deck.slides[slide - 1], bitmap_size(width_emu, height_emu, scale), scale, source, slide)
    except (MemoryError, DocumentError):
        raise
    except Exception as exc:  # python-pptx, lxml and Pillow each fail their own way on a damaged deck
        raise DocumentError(
            source, f"slide {slide} could not be drawn ({type(exc).__name__}: {str(exc)[:160]})."
        ) from None
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _draw(slide: Any, size: tuple[int, int], scale: float, source: str, number: int) -> Image.Image:
    layout = slide.slide_layout
    master = layout.slide_master
    theme = theme_colours(master)
    fill, picture = _background(slide, theme)
    canvas = Image.new("RGB", size, fill)
    painter = _Painter(canvas, theme, source, number)
    if picture is not None:
        paste_picture(canvas, picture, (0.0, 0.0, *size), (0.0, 0.0, 0.0, 0.0), source, number)
    frame = _Frame(0.0, 0.0, scale, scale)
    if _shows_master(slide):
        if _shows_master(layout):
            painter.shapes([s for s in master.shapes if not s.is_placeholder], frame)
        painter.shapes([s for s in layout.shapes if not s.is_placeholder], frame)
    painter.shapes(slide.shapes, frame)
    return canvas


@dataclass(frozen=True, slots=True)
class _Frame:
    """EMU to canvas pixels: x_px = ox + sx × x_emu (and so for y); a group's children get their own."""

    ox: float
    oy: float
    sx: float
    sy: float

    def box(self, shape: Any) -> Box:
        left, top = shape.left or 0, shape.top or 0
        right, bottom = left + (shape.width or 0), top + (shape.height or 0)
        x0, x1 = sorted((self.ox + self.sx * left, self.ox + self.sx * right))
        y0, y1 = sorted((self.oy + self.sy * top, self.oy + self.sy * bottom))
        return x0, y0, x1, y1

    def inner(self, group: Any) -> _Frame:
        """The frame of a group's children: their child offset and extent map onto the group's own box."""
        xfrm = group._element.grpSpPr.xfrm
        if xfrm is None or xfrm.off is None or xfrm.ext is None or xfrm.chOff is None or xfrm.chExt is None:
            return self
        kx = xfrm.ext.cx / xfrm.chExt.cx if xfrm.chExt.cx else 1.0
        ky = xfrm.ext.cy / xfrm.chExt.cy if xfrm.chExt.cy else 1.0
        return _Frame(
            self.ox + self.sx * (xfrm.off.x - xfrm.chOff.x * kx),
            self.oy + self.sy * (xfrm.off.y - xfrm.chOff.y * ky),
            self.sx * kx,
            self.sy * ky,
        )


class _Painter:
    def __init__(self, canvas: Image.Image, theme: dict[str, Any], source: str, slide: int) -> None:
        self.canvas, self.draw, self.theme = canvas, ImageDraw.Draw(canvas, "RGBA"), theme
        self.source, self.slide = source, slide

    def shapes(self, shapes: Any, frame: _Frame, depth: int = 0) -> None:
        for shape in shapes:
            element = shape._element
            if element.xpath("./*[1]/p:cNvPr/@hidden") in (["1"], ["true"]):
                continue
            kind = str(element.tag).removeprefix(_P)
            if kind == "grpSp":
                if depth < MAX_GROUP_DEPTH:
                    self.shapes(shape.shapes, frame.inner(shape), depth + 1)
            elif kind == "pic":
                self.picture(shape, frame.box(shape))
            elif kind == "graphicFrame":
                self.frame(shape, frame)
            elif kind == "cxnSp":
                rgb, width = shape_line(element, self.theme, frame.sx)
                x0, y0, x1, y1 = (
                    frame.ox + frame.sx * shape.begin_x,
                    frame.oy + frame.sy * shape.begin_y,
                    frame.ox + frame.sx * shape.end_x,
                    frame.oy + frame.sy * shape.end_y,
                )
                if clip(frame.box(shape), self.canvas.size) is not None:
                    self.draw.line(bounded((x0, y0, x1, y1), self.canvas.size), fill=rgb or GREY, width=width)
            elif kind == "sp":
                self.autoshape(shape, frame)

    def picture(self, shape: Any, box: Box) -> None:
        rid = shape._element.blip_rId
        if rid is None or shape.part.rels[rid].is_external:  # a linked picture: never read
            outline(self.draw, box, GREY, cross=True)
            return
        crop = (shape.crop_left, shape.crop_top, shape.crop_right, shape.crop_bottom)
        paste_picture(self.canvas, shape.image.blob, box, crop, self.source, self.slide)

    def frame(self, shape: Any, frame: _Frame) -> None:
        box = frame.box(shape)
        if shape.has_table:
            self.table(shape.table, box, frame)
        else:  # a chart, a diagram, an embedded object: its place, marked
            outline(self.draw, box, GREY, cross=not shape.has_chart)
            if shape.has_chart:
                paint_text(self.draw, box, [Paragraph("Chart", 14 * EMU_PER_PT * frame.sy, color=GREY)], "ctr")

    def table(self, table: Any, box: Box, frame: _Frame) -> None:
        xs, ys = [box[0]], [box[1]]
        for column in table.columns:
            xs.append(xs[-1] + column.width * frame.sx)
        for row in table.rows:
            ys.append(ys[-1] + row.height * frame.sy)
        header = table.first_row
        for r, row in enumerate(table.rows):
            for c, cell in enumerate(row.cells):
                if cell.is_spanned or c + 1 >= len(xs):
                    continue
                down, across = (cell.span_height, cell.span_width) if cell.is_merge_origin else (1, 1)
                cell_box = (xs[c], ys[r], xs[min(c + across, len(xs) - 1)], ys[min(r + down, len(ys) - 1)])
                visible = clip(cell_box, self.canvas.size)
                if visible is None:
                    continue
                fill = fill_of(cell._tc.tcPr, self.theme) or (_HEADER_FILL if header and r == 0 else None)
                if fill is not None:
                    self.draw.rectangle(visible, fill=fill)
                outline(self.draw, cell_box, GREY)
                inner = _inset(cell_box, cell, frame)
                self.text(cell.text_frame, inner, frame, (18, header and r == 0), fill)

    def autoshape(self, shape: Any, frame: _Frame) -> None:
        box, element = frame.box(shape), shape._element
        fill, (line, width) = shape_fill(element, self.theme), shape_line(element, self.theme, frame.sx)
        if (fill or line) and clip(box, self.canvas.size) is not None:
            geometry = element.spPr.find(f"{_A}prstGeom")
            preset = geometry.get("prst") if geometry is not None else "rect"
            x0, y0, x1, y1 = outer = bounded(box, self.canvas.size)
            if preset in ("ellipse", "flowChartConnector"):
                self.draw.ellipse(outer, fill=fill, outline=line, width=width)
            elif preset in _POLYGONS:
                points = [(x0 + u * (x1 - x0), y0 + v * (y1 - y0)) for u, v in _POLYGONS[preset]]
                self.draw.polygon(points, fill=fill, outline=line, width=width)
            else:
                radius = min(x1 - x0, y1 - y0) / 6 if preset == "roundRect" else 0
                self.draw.rounded_rectangle(outer, radius, fill=fill, outline=line, width=width)
        if shape.has_text_frame and shape.text_frame.text.strip():
            kind = shape.placeholder_format.type.name if shape.is_placeholder and shape.placeholder_format.type else ""
            style = _TEXT_STYLE.get(kind, _TEXT_STYLE["BODY"] if kind == "OBJECT" else (18, False))
            font = style_colour(element, "fontRef", self.theme)
            self.text(shape.text_frame, _inset(box, shape.text_frame, frame), frame, style, fill, kind, font)

    def text(
        self, body: Any, box: Box, frame: _Frame, style: tuple[int, bool], fill: Any, kind: str = "", font: Any = None
    ) -> None:
        """A text frame's paragraphs, each at its own size, weight, colour and alignment where the deck says; else
        in the shape style's text colour, or white on a dark fill, or the theme's dark colour."""
        default = font or (WHITE if is_dark(fill) else self.theme.get("dk1", BLACK))
        bulleted = kind in ("BODY", "OBJECT")
        paragraphs = []
        for paragraph in body.paragraphs:
            runs = paragraph.runs
            size = next((r.font.size for r in runs if r.font.size), None) or paragraph.font.size
            rgb = next((c for r in runs if (c := fill_of(r._r.rPr, self.theme))), None)
            text = paragraph.text
            p_pr = paragraph._p.pPr
            bullet = None if p_pr is None else p_pr.find(f"{_A}buChar")
            if text.strip() and bullet is not None and bullet.get("char"):
                char = bullet.get("char", "")[:1]
                text = f"{char if char < _PRIVATE_USE else '•'} {text}"
            elif text.strip() and bulleted and (p_pr is None or p_pr.find(f"{_A}buNone") is None):
                text = f"• {text}"
            size_px = (size or style[0] * EMU_PER_PT) * frame.sy
            align = {"CENTER": "ctr", "RIGHT": "r"}.get(getattr(paragraph.alignment, "name", ""), "")
            paragraphs.append(
                Paragraph(
                    text,
                    size_px,
                    style[1] or any(r.font.bold for r in runs) or bool(paragraph.font.bold),
                    rgb or default,
                    align or ("ctr" if kind == "CENTER_TITLE" else "l"),
                    paragraph.level * size_px * 1.2,
                )
            )
        anchor = getattr(body.vertical_anchor, "name", "")
        anchor = {"MIDDLE": "ctr", "BOTTOM": "b", "TOP": "t"}.get(anchor, "ctr" if "TITLE" in kind else "t")
        paint_text(self.draw, box, paragraphs, anchor)


def _inset(box: Box, holder: Any, frame: _Frame) -> Box:
    """`box` less a text frame's (or table cell's) margins."""
    left, top = (holder.margin_left or 0) * frame.sx, (holder.margin_top or 0) * frame.sy
    right, bottom = (holder.margin_right or 0) * frame.sx, (holder.margin_bottom or 0) * frame.sy
    return box[0] + left, box[1] + top, max(box[0] + left, box[2] - right), max(box[1] + top, box[3] - bottom)


def _shows_master(owner: Any) -> bool:
    return owner._element.get("showMasterSp") not in ("0", "false")


def _background(slide: Any, theme: dict[str, Any]) -> tuple[Any, bytes | None]:
    """The slide's background, from the slide, its layout or its master: a solid colour (a gradient's first
    stop), and the picture embedded in the deck when it is one."""
    for owner in (slide, slide.slide_layout, slide.slide_layout.slide_master):
        background = owner._element.find(f"{_P}cSld/{_P}bg")
        if background is None:
            continue
        properties = background.find(f"{_P}bgPr")
        if properties is None:
            return (color(background.find(f"{_P}bgRef"), theme) or WHITE)[:3], None
        stop = properties.find(f"{_A}gradFill/{_A}gsLst/{_A}gs")
        blip = properties.find(f"{_A}blipFill/{_A}blip")
        rid = blip.get(f"{_R}embed") if blip is not None else None
        picture = owner.part.related_part(rid).blob if rid and not owner.part.rels[rid].is_external else None
        return (fill_of(properties, theme) or color(stop, theme) or WHITE)[:3], picture
    return WHITE, None
