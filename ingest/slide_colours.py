"""Colours of a slide's shapes, text and background, from their DrawingML: RGB values, theme colours (the deck's
own theme part), the brightness and alpha modifiers, and a shape's style where it sets no fill or line itself.

What `ingest.slide_render` fills and outlines with; nothing here draws. A colour it cannot work out is None, and the
caller leaves the shape unfilled (or draws its text black).
"""

from __future__ import annotations

import colorsys
from typing import Any

RGB = tuple[int, int, int]
BLACK, WHITE = (0, 0, 0), (255, 255, 255)
EMU_PER_PT = 12_700
#: The DrawingML and PresentationML namespaces, as lxml spells them in a tag.
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_A, _P = A, P
_ALIASES = {"tx1": "dk1", "bg1": "lt1", "tx2": "dk2", "bg2": "lt2"}


def theme_colours(master: Any) -> dict[str, RGB]:
    """The theme's colour scheme (dk1, lt1, accent1, ...) as RGB, read from the deck's own theme part."""
    from pptx.opc.constants import RELATIONSHIP_TYPE
    from pptx.oxml import parse_xml

    try:
        part = master.part.part_related_by(RELATIONSHIP_TYPE.THEME)
    except KeyError:
        return {}
    scheme = parse_xml(part.blob).find(f".//{_A}clrScheme")
    colours = ((str(c.tag).removeprefix(_A), color(c, {})) for c in (scheme if scheme is not None else ()))
    return {name: rgb for name, rgb in colours if rgb is not None}


def shape_fill(element: Any, theme: dict[str, RGB]) -> Any:
    """A shape's own solid fill (a gradient's first stop), else its style's fill; None when it has none."""
    for child in element.spPr:
        tag = str(child.tag).removeprefix(_A)
        if tag == "solidFill":
            return color(child, theme)
        if tag == "gradFill":
            return color(child.find(f"{_A}gsLst/{_A}gs"), theme)
        if tag in ("noFill", "blipFill", "pattFill", "grpFill"):
            return None
    return style_colour(element, "fillRef", theme)


def shape_line(element: Any, theme: dict[str, RGB], scale: float) -> tuple[Any, int]:
    """A shape's outline colour (None for none) and width in pixels at `scale` pixels per EMU."""
    ln = element.spPr.find(f"{_A}ln")
    try:
        width = max(1, min(50, round(int(ln.get("w", EMU_PER_PT)) * scale))) if ln is not None else 1
    except ValueError:
        width = 1
    if ln is not None and ln.find(f"{_A}noFill") is not None:
        return None, width
    if ln is not None and ln.find(f"{_A}solidFill") is not None:
        return fill_of(ln, theme), width
    return style_colour(element, "lnRef", theme), width


def style_colour(element: Any, reference: str, theme: dict[str, RGB]) -> Any:
    """The colour a shape's style gives its fill ("fillRef"), line ("lnRef") or text ("fontRef"), if any."""
    ref = element.find(f"{_P}style/{_A}{reference}")
    return color(ref, theme) if ref is not None and ref.get("idx") != "0" else None


def color(holder: Any, theme: dict[str, RGB]) -> RGB | None:
    """The colour an `a:solidFill` (or a `fillRef`, `fontRef`, ...) element names, with its lumMod/lumOff, and
    its alpha as a fourth value when it is see-through (a canvas drawn in "RGBA" mode blends it)."""
    for child in holder if holder is not None else ():
        tag, value = str(child.tag).removeprefix(_A), child.get("val")
        if tag == "srgbClr":
            rgb = hex_rgb(value)
        elif tag == "schemeClr":
            rgb = theme.get(_ALIASES.get(value, value))
        elif tag == "sysClr":
            rgb = hex_rgb(child.get("lastClr"))
        elif tag == "prstClr":
            rgb = {"black": BLACK, "white": WHITE}.get(value)
        else:
            continue
        return _with_alpha(_modulated(rgb, child), child) if rgb is not None else None
    return None


def fill_of(element: Any, theme: dict[str, RGB]) -> RGB | None:
    """The solid fill of an element holding `a:solidFill` (a shape's spPr, a cell's tcPr, a background)."""
    return None if element is None else color(element.find(f"{_A}solidFill"), theme)


def hex_rgb(value: str | None) -> RGB | None:
    if not value or len(value) != 6:
        return None
    try:
        number = int(value, 16)
    except ValueError:
        return None
    return (number >> 16) & 255, (number >> 8) & 255, number & 255


def _modulated(rgb: RGB, element: Any) -> RGB:
    values = {str(c.tag).removeprefix(_A): c.get("val") for c in element}
    if "lumMod" not in values and "lumOff" not in values:
        return rgb
    hue, light, sat = colorsys.rgb_to_hls(*(v / 255 for v in rgb))
    try:
        light = light * int(values.get("lumMod", 100000)) / 100000 + int(values.get("lumOff", 0)) / 100000
    except (TypeError, ValueError):
        return rgb
    red, green, blue = colorsys.hls_to_rgb(hue, min(1.0, max(0.0, light)), sat)
    return round(red * 255), round(green * 255), round(blue * 255)


def _with_alpha(rgb: RGB, element: Any) -> Any:
    alpha = element.find(f"{_A}alpha")
    try:
        opacity = int(alpha.get("val")) / 100000 if alpha is not None else 1.0
    except (TypeError, ValueError):
        opacity = 1.0
    return rgb if opacity >= 1 else (*rgb, round(255 * max(0.0, opacity)))


def is_dark(rgb: RGB | None) -> bool:
    return rgb is not None and 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 110
