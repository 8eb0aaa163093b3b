"""Slides (PPTX): each slide a page cited as "slide N": its title as the heading, text boxes in reading order,
shapes inside groups, tables kept whole with their header, and the speaker notes."""

from __future__ import annotations

import io
from typing import Any

from ..errors import DocumentError
from .pages import PageBuilder
from .registry import Loaded, Loader, LoadOptions, Probe, register
from .safezip import check_archive, check_xml_members

#: Groups nested deeper than this are not descended into (a hostile deck could nest thousands).
MAX_GROUP_DEPTH = 32
MAX_SLIDES = 5_000


def open_deck(data: bytes, source: str) -> Any:
    """The deck (python-pptx), once its archive and XML parts have passed `safezip`'s checks; DocumentError
    otherwise. The one way a deck is opened: to read its text here, to draw a slide in `ingest.slide_render`."""
    from pptx import Presentation

    archive = check_archive(data, source, "PowerPoint deck")
    check_xml_members(
        archive,
        source,
        [n for n in archive.namelist() if n.startswith("ppt/") and n.endswith(".xml")],
        "PowerPoint deck",
    )
    try:
        return Presentation(io.BytesIO(data))
    except MemoryError:
        raise
    except Exception as exc:  # python-pptx, zipfile and lxml each fail their own way on a damaged deck
        raise DocumentError(
            source, f"not a readable PowerPoint deck ({type(exc).__name__}: {str(exc)[:160]})."
        ) from exc


def load_pptx(data: bytes, source: str, options: LoadOptions) -> Loaded:
    deck = open_deck(data, source)
    try:
        slides = list(deck.slides)
        if len(slides) > MAX_SLIDES:
            raise DocumentError(source, f"a deck of {len(slides):,} slides, more than {MAX_SLIDES:,}.")
        pages = [_slide_page(slide, number) for number, slide in enumerate(slides, start=1)]
        title = deck.core_properties.title or ""
    except (MemoryError, DocumentError):
        raise
    except Exception as exc:  # python-pptx, zipfile and lxml each fail their own way on a damaged deck
        raise DocumentError(
            source, f"not a readable PowerPoint deck ({type(exc).__name__}: {str(exc)[:160]})."
        ) from exc
    if not pages:
        raise DocumentError(source, "a deck with no slides.")
    return pages, title, []


def _slide_page(slide: Any, number: int) -> Any:
    builder = PageBuilder()
    title_shape = slide.shapes.title
    if title_shape is not None and title_shape.has_text_frame and title_shape.text_frame.text.strip():
        builder.heading(title_shape.text_frame.text, 2)
    for shape in _reading_order(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        _add_shape(builder, shape, 0)
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            builder.add(f"Speaker notes: {notes.text}")
    return builder.page(number, f"slide {number}")


def _add_shape(builder: PageBuilder, shape: Any, depth: int) -> None:
    if getattr(shape, "shapes", None) is not None and shape.shape_type is not None and depth < MAX_GROUP_DEPTH:
        for inner in _reading_order(shape.shapes):  # a group
            _add_shape(builder, inner, depth + 1)
        return
    if getattr(shape, "has_table", False) and shape.has_table:
        builder.table([[cell.text for cell in row.cells] for row in shape.table.rows])
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        builder.add("\n".join(paragraph_text(p) for p in shape.text_frame.paragraphs))


def paragraph_text(paragraph: Any) -> str:
    """A paragraph, indented bullets kept as list items."""
    text = "".join(run.text for run in paragraph.runs) or paragraph.text
    return f"{'  ' * paragraph.level}- {text}" if paragraph.level and text.strip() else text


def _reading_order(shapes: Any) -> list[Any]:
    return sorted(shapes, key=lambda s: ((s.top or 0) // 50_000, s.left or 0))


def _is_pptx(probe: Probe) -> bool:
    return "ppt/presentation.xml" in probe.members


register(Loader("pptx", "a PowerPoint deck", (".pptx",), _is_pptx, load_pptx, order=21))
