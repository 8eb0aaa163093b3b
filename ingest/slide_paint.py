"""Painting what a slide holds onto a Pillow canvas: wrapped text in a box, pictures pasted, outlines.

The helpers `ingest.slide_render` draws a slide with. Nothing here opens a file: a picture is the bytes embedded in
the deck, checked before it is decoded (its size in bytes, then its pixel count, within Pillow's own
`Image.MAX_IMAGE_PIXELS` and the image loader's cap). A picture Pillow cannot decode (EMF, WMF, a damaged blob) is
drawn as a crossed box; one that would be a decompression bomb refuses the slide with the reason.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from .errors import DocumentError
from .loaders.images import MAX_IMAGE_PIXELS
from .slide_colours import BLACK, RGB

Box = tuple[float, float, float, float]
GREY = (128, 128, 128)
#: Largest embedded picture decoded for a slide, in bytes.
MAX_PICTURE_BYTES = 64 * 1024 * 1024
#: Text a box shows at most, in characters (the rest of a hostile text box is not laid out).
MAX_TEXT_CHARS = 10_000
_FONTS = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}


@cache
def font(size_px: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans (Debian's fonts-dejavu-core, which has accents, Cyrillic, Greek and bullets) at `size_px`, found
    by its fixed name in the system's font folders; else Pillow's own font, which has ASCII only. Never a font the
    deck names."""
    for name in (_FONTS[bold], _FONTS[False]):
        try:
            return ImageFont.truetype(name, size_px)
        except OSError:
            continue
    return ImageFont.load_default(size=size_px)


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    size_px: float
    bold: bool = False
    color: RGB = BLACK
    align: str = "l"
    """"l", "ctr" or "r"."""
    indent_px: float = 0.0


def paint_text(draw: ImageDraw.ImageDraw, box: Box, paragraphs: list[Paragraph], anchor: str = "t") -> None:
    """The paragraphs wrapped in `box`, shrunk until they fit (as PowerPoint's autofit does), anchored at the
    top ("t"), middle ("ctr") or bottom ("b") of the box."""
    x0, y0, x1, y1 = bounded(box, draw.im.size)
    kept, used = [], 0
    for paragraph in paragraphs:  # a hostile text box: only what could ever be read at the smallest size
        if used > MAX_TEXT_CHARS:
            break
        kept.append(paragraph)
        used += len(paragraph.text)
    paragraphs = kept
    if x1 - x0 < 2 or not any(p.text.strip() for p in paragraphs):
        return
    limit = draw.im.size[1]
    largest = max(min(p.size_px, limit) for p in paragraphs)
    start = min(1.0, (y1 - y0) / max(1e-9, largest * 1.2))  # no line taller than the box
    for step in range(12):  # then shrink by 15 % a step until the text fits the box's height
        factor = start * 0.85**step
        laid = [_lay_out(p, factor, x1 - x0, limit) for p in paragraphs]
        height = sum(len(lines) * size * 1.2 for lines, size in laid)
        if height <= y1 - y0 or min(size for _, size in laid) <= 7:
            break
    top = {"ctr": y0 + (y1 - y0 - height) / 2, "b": y1 - height}.get(anchor, y0)
    for paragraph, (lines, size) in zip(paragraphs, laid, strict=True):
        face = font(size, paragraph.bold)
        for line in lines:
            if top > limit:
                return
            left = x0 + min(paragraph.indent_px, (x1 - x0) / 2)
            spare = x1 - left - face.getlength(line)
            left += {"ctr": spare / 2, "r": spare}.get(paragraph.align, 0.0)
            draw.text((left, top), line, font=face, fill=paragraph.color)
            top += size * 1.2


def _lay_out(paragraph: Paragraph, factor: float, width: float, limit: int) -> tuple[list[str], int]:
    size = int(max(6, min(limit, paragraph.size_px) * factor))
    face = font(size, paragraph.bold)
    return wrap(paragraph.text[:MAX_TEXT_CHARS], face, max(1.0, width - min(paragraph.indent_px, width / 2))), size


def wrap(text: str, face: Any, width: float) -> list[str]:
    """Lines of `text` no wider than `width` pixels, broken between words (and inside a word too long for a line)."""
    lines: list[str] = []
    for hard in text.replace("\v", "\n").split("\n"):
        current = ""
        for word in hard.split(" "):
            trial = f"{current} {word}" if current else word
            if face.getlength(trial) <= width:
                current = trial
                continue
            if current:
                lines.append(current)
            reach = int(width) + 2  # glyphs are a pixel wide or more, so a line holds no more characters
            while len(word) > 1 and face.getlength(word[:reach]) > width:
                fits = _longest_prefix(word[:reach], face, width)
                lines.append(word[:fits])
                word = word[fits:]
            current = word
        lines.append(current)
    return lines


def _longest_prefix(word: str, face: Any, width: float) -> int:
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if face.getlength(word[:middle]) <= width else (low, middle - 1)
    return low


def paste_picture(canvas: Image.Image, blob: bytes, box: Box, crop: Box, source: str, slide: int) -> None:
    """The picture `blob` scaled into `box` (pixels) after cutting `crop` (fractions off left, top, right, bottom).
    A blob too big or a decompression bomb: DocumentError. One Pillow cannot read: a crossed box."""
    if len(blob) > MAX_PICTURE_BYTES:
        raise DocumentError(source, f"slide {slide} holds a picture of {len(blob) / 1e6:,.0f} MB, too big to draw.")
    limit = min(MAX_IMAGE_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_IMAGE_PIXELS)
    visible = clip(box, canvas.size)
    if visible is None:
        return
    refused = f"more than {limit:,} (a decompression bomb?), so it is not drawn."
    try:
        with warnings.catch_warnings():  # Pillow warns past its own cap; the size is refused below instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(blob))
        width, height = image.size
        if width * height > limit:
            raise DocumentError(source, f"slide {slide} holds a picture of {width:,} × {height:,} pixels, {refused}")
        image.draft("RGB", (max(1, int(box[2] - box[0])), max(1, int(box[3] - box[1]))))  # JPEG: decode smaller
        image = image.convert("RGBA")
    except Image.DecompressionBombError:  # past twice Pillow's cap: refused by Pillow before the size is known
        raise DocumentError(source, f"slide {slide} holds a picture of {refused}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, NotImplementedError):
        outline(ImageDraw.Draw(canvas), box, GREY, cross=True)
        return
    left, top, right, bottom = (min(max(v, 0.0), 0.99) for v in crop)
    width, height = image.size
    sx0, sy0 = left * width, top * height
    sw = min(max(width * (1 - left - right), 1.0), width - sx0)
    sh = min(max(height * (1 - top - bottom), 1.0), height - sy0)
    bw, bh = max(box[2] - box[0], 1e-9), max(box[3] - box[1], 1e-9)
    vx0, vy0, vx1, vy1 = visible
    region = (
        sx0 + (vx0 - box[0]) / bw * sw,
        sy0 + (vy0 - box[1]) / bh * sh,
        sx0 + (vx1 - box[0]) / bw * sw,
        sy0 + (vy1 - box[1]) / bh * sh,
    )
    size = (max(1, round(vx1 - vx0)), max(1, round(vy1 - vy0)))
    piece = image.resize(size, Image.Resampling.BILINEAR, box=region)
    canvas.paste(piece, (round(vx0), round(vy0)), piece)


def clip(box: Box, size: tuple[int, int]) -> Box | None:
    """The part of `box` on a canvas of `size`, or None when none of it is (or it is not a finite box)."""
    if not all(math.isfinite(v) for v in box):
        return None
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], size[0]), min(box[3], size[1])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def outline(draw: ImageDraw.ImageDraw, box: Box, rgb: RGB, *, cross: bool = False, width: int = 1) -> None:
    visible = bounded(box, draw.im.size)
    draw.rectangle(visible, outline=rgb, width=width)
    if cross:
        draw.line(visible, fill=rgb, width=width)
        draw.line((visible[0], visible[3], visible[2], visible[1]), fill=rgb, width=width)


def bounded(box: Box, size: tuple[int, int]) -> Box:
    """`box` with each coordinate kept within a canvas' width or height of the canvas, so Pillow gets sane numbers
    and an outline off the canvas stays off it."""
    x0, y0, x1, y1 = (v if math.isfinite(v) else 0.0 for v in box)
    w, h = size
    return (min(max(x0, -w), 2 * w), min(max(y0, -h), 2 * h), min(max(x1, -w), 2 * w), min(max(y1, -h), 2 * h))
