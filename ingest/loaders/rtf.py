"""Rich Text Format (RTF): text by striprtf, with paragraphs marked as outline levels kept as headings."""

from __future__ import annotations

import re

from ..text import clean_text
from ..types import Page
from .registry import Loaded, Loader, LoadOptions, Probe, register

# A marker striprtf passes through as text, put where a paragraph declares its outline level.
_MARK = "QQHEADINGLEVEL"
_OUTLINE = re.compile(rb"\\outlinelevel([0-8])(?![0-9])")
_MARKED = re.compile(_MARK + r"([0-8]) ?")


def load_rtf(data: bytes, source: str, options: LoadOptions) -> Loaded:
    from striprtf.striprtf import rtf_to_text

    marked = _OUTLINE.sub(lambda m: m.group(0) + b" " + _MARK.encode() + m.group(1) + b" ", data)
    text = rtf_to_text(marked.decode("latin-1"), errors="replace")
    lines = []
    for line in text.splitlines():
        found = _MARKED.search(line)
        if found:
            rest = _MARKED.sub("", line).strip()
            lines.append(f"{'#' * (int(found.group(1)) + 1)} {rest}" if rest else "")
        else:
            lines.append(line)
    return [Page(clean_text("\n".join(lines)))], "", []


def _is_rtf(probe: Probe) -> bool:
    return probe.head.lstrip()[:5] == b"{\\rtf"


register(Loader("rtf", "an RTF document", (".rtf",), _is_rtf, load_rtf, order=30))
