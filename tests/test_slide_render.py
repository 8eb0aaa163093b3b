"""Drawing a cited slide for its source card: python-pptx and Pillow in the worker process, within the pixel caps.

The decks are built here with python-pptx: a title, body text, a table, a group (moved and shrunk through its
child transform) holding a filled shape with text, and a picture made with Pillow.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE, MSO_SHAPE_TYPE
from pptx.opc.constants import RELATIONSHIP_TYPE
from pptx.util import Emu, Inches, Pt

from assistant.evidence import is_pdf, page_kind, render_page
from ingest import Settings
from ingest.errors import DocumentError
from ingest.render import MAX_PIXELS, MAX_SIDE_PX, draw_page

SHARED_DECKS = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "formats"
#: Where slide 2's things are, in inches (left, top, right, bottom), and the group before its transform.
TABLE_IN = (0.5, 3.2, 4.5, 4.4)
PICTURE_IN = (5.0, 3.2, 7.0, 4.7)
GROUP_IN = (5.0, 5.5, 6.5, 6.0)
GROUP_CHILDREN_IN = (0.5, 5.5, 3.5, 6.5)
BODY = "Arctic terns migrate seventy thousand kilometres between the poles every year."


def build_deck(path: Path) -> Path:
    """A two-slide deck (10 × 7.5 in): a title slide, then the slide with everything on it."""
    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[0])
    first.shapes.title.text = "Bird migration"
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "How far terns fly"
    body = slide.placeholders[1]
    body.left, body.top, body.width, body.height = Inches(0.5), Inches(1.5), Inches(9), Inches(1.5)
    body.text_frame.text = BODY
    table = slide.shapes.add_table(2, 3, *_place(TABLE_IN)).table
    for column, (head, value) in enumerate([("Species", "Arctic tern"), ("Distance", "70,000 km"), ("Days", "90")]):
        table.cell(0, column).text, table.cell(1, column).text = head, value
    group = slide.shapes.add_group_shape()
    left, top = GROUP_CHILDREN_IN[:2]
    box = group.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(left), Inches(top), Inches(2), Inches(1))
    box.fill.solid()
    box.fill.fore_color.rgb = RGBColor(0x1F, 0x3A, 0x68)
    box.text_frame.text = "Grouped"
    note = group.shapes.add_textbox(Inches(left + 2), Inches(top), Inches(1), Inches(1))
    note.text_frame.text = "Note in a group"
    note.text_frame.paragraphs[0].runs[0].font.size = Pt(28)
    xfrm = group._element.grpSpPr.xfrm  # moved and shrunk to half: its children follow through chOff/chExt
    xfrm.off.x, xfrm.off.y = Inches(GROUP_IN[0]), Inches(GROUP_IN[1])
    xfrm.ext.cx, xfrm.ext.cy = Emu(xfrm.chExt.cx // 2), Emu(xfrm.chExt.cy // 2)
    slide.shapes.add_picture(io.BytesIO(_dark_png()), *_place(PICTURE_IN))
    slide.notes_slide.notes_text_frame.text = "Speaker notes are not drawn."
    deck.save(path)
    return path


def _place(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    left, top, right, bottom = box
    return Inches(left), Inches(top), Inches(right - left), Inches(bottom - top)


def _dark_png() -> bytes:
    image = Image.new("RGB", (200, 150), (20, 30, 90))
    image.paste((255, 255, 255), (0, 70, 200, 80))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _dark_share(image: Image.Image, box_in: tuple[float, float, float, float]) -> float:
    """The share of pixels darker than mid-grey inside a box given in inches (the slide is 10 in wide)."""
    per_inch = image.width / 10
    region = image.convert("L").crop(tuple(round(v * per_inch) for v in box_in))  # type: ignore[arg-type]
    histogram = region.histogram()
    return sum(histogram[:100]) / max(1, sum(histogram))


def _png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG")
    return Image.open(io.BytesIO(data))


def test_a_slide_is_drawn_with_its_table_picture_group_and_text(settings: Settings, tmp_path: Path) -> None:
    deck = build_deck(tmp_path / "terns.pptx")
    assert page_kind(deck) == "pptx" and not is_pdf(deck)
    image = _png(render_page(deck, 2, settings))
    assert image.size == (900, 675), "the deck's 4:3 shape at the default width"
    assert _dark_share(image, TABLE_IN) > 0.02, "the table's grid text"
    assert _dark_share(image, PICTURE_IN) > 0.8, "the picture, scaled into its box"
    assert _dark_share(image, GROUP_IN) > 0.3, "the group's filled shape, moved and shrunk with the group"
    assert _dark_share(image, GROUP_CHILDREN_IN) == 0, "not where its children would be without the transform"
    assert _dark_share(image, (0.5, 0.3, 9.5, 1.4)) > 0.01, "the title"
    assert _dark_share(image, (0.5, 1.5, 9.5, 3.0)) > 0.01, "the body text"
    assert _dark_share(image, (7.2, 3.0, 10, 5.4)) == 0, "nothing where the slide has nothing"
    small = _png(render_page(deck, 1, settings, width=300))
    assert small.size == (300, 225) and _dark_share(small, (0.5, 2, 9.5, 4)) > 0.005, "the title slide"


def test_a_damaged_deck_or_a_missing_slide_is_a_reason(settings: Settings, tmp_path: Path) -> None:
    deck = build_deck(tmp_path / "terns.pptx")
    with pytest.raises(DocumentError, match=r"it has no slide 3 \(it has 2\)"):
        render_page(deck, 3, settings)
    with pytest.raises(DocumentError, match=r"it has no slide 0"):
        render_page(deck, 0, settings)
    damaged = tmp_path / "damaged.pptx"
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("ppt/presentation.xml", "<not a presentation")
    assert page_kind(damaged) == "pptx"
    with pytest.raises(DocumentError, match="not a readable PowerPoint deck") as refused:
        render_page(damaged, 1, settings)
    assert "Traceback" not in refused.value.reason
    assert _png(render_page(deck, 2, settings)).width == 900, "the worker carries on"


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG header that claims `width` × `height` pixels, with one tiny row of data: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [10_000, 40_000])  # past the image loader's cap; past Pillow's own
def test_a_picture_that_is_a_decompression_bomb_refuses_the_slide(
    side: int, settings: Settings, tmp_path: Path
) -> None:
    deck = Presentation(build_deck(tmp_path / "bomb.pptx"))
    picture = next(s for s in deck.slides[1].shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE)
    picture.part.related_part(picture._element.blip_rId)._blob = _png_claiming(side, side)
    deck.save(tmp_path / "bomb.pptx")
    with pytest.raises(
        DocumentError, match=r"slide 2 holds a picture of .*more than 64,000,000 \(a decompression bomb\?\)"
    ):
        render_page(tmp_path / "bomb.pptx", 2, settings)
    assert _png(render_page(tmp_path / "bomb.pptx", 1, settings)).width == 900, "the other slides are still drawn"


def test_a_linked_picture_is_never_read(tmp_path: Path) -> None:
    red = tmp_path / "outside.png"
    Image.new("RGB", (50, 50), (255, 0, 0)).save(red)
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    picture = slide.shapes.add_picture(io.BytesIO(_dark_png()), Inches(1), Inches(1), Inches(4), Inches(3))
    blip = picture._element.blipFill.blip
    link = slide.part.relate_to(red.as_uri(), RELATIONSHIP_TYPE.IMAGE, is_external=True)
    relationships = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    del blip.attrib[f"{relationships}embed"]  # r:embed out, r:link in: the picture is a file outside the deck
    blip.set(f"{relationships}link", link)
    deck.save(tmp_path / "linked.pptx")
    image = _png(draw_page(str(tmp_path / "linked.pptx"), 1)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert not any(r > 200 and g < 60 and b < 60 for _, (r, g, b) in colours), "the linked file was drawn"
    assert _dark_share(image, (1, 1, 5, 4)) == 0, "nor the blob that was embedded before"


def test_the_shared_decks_are_drawn_within_the_caps() -> None:
    decks = sorted(SHARED_DECKS.glob("*.pptx"))
    if not decks:
        pytest.skip("the shared format samples are not here")
    for deck in decks:
        image = _png(draw_page(str(deck), 1, source=deck.name))
        assert max(image.size) <= MAX_SIDE_PX and image.width * image.height <= MAX_PIXELS
        colours = sorted(image.convert("RGB").getcolors(maxcolors=1 << 20) or [], reverse=True)
        drawn = sum(count for count, _ in colours[1:]) / (image.width * image.height)
        assert drawn > 0.002, f"{deck.name}: a blank slide ({drawn:.1%} not background)"
