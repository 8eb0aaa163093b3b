"""Word documents (DOCX): paragraphs with headings as Markdown, and tables in place, each row with its header."""

from __future__ import annotations

import io
import re
from typing import Any

from ..errors import DocumentError
from .pages import PageBuilder
from .registry import Loaded, Loader, LoadOptions, Probe, register
from .safezip import check_archive, check_xml_members

_HEADING_STYLE = re.compile(r"Heading (\d)")


def load_docx(data: bytes, source: str, options: LoadOptions) -> Loaded:
    import docx

    archive = check_archive(data, source, "Word document")
    check_xml_members(archive, source, [n for n in archive.namelist() if n.endswith(".xml")], "Word document")
    try:
        document = docx.Document(io.BytesIO(data))
        builder = PageBuilder()
        for block in document.iter_inner_content():
            _add_block(builder, block)
        title = document.core_properties.title or ""
    except MemoryError:
        raise  # the parsing worker reports it as a decompression bomb
    except DocumentError:
        raise
    except Exception as exc:  # python-docx, zipfile, zlib and lxml each fail their own way on a damaged file
        raise DocumentError(source, f"not a readable Word document ({type(exc).__name__}: {str(exc)[:160]}).") from exc
    return [builder.page()], title, []


def _add_block(builder: PageBuilder, block: Any) -> None:
    if hasattr(block, "rows"):  # a table
        builder.table([[cell.text for cell in row.cells] for row in block.rows])
        return
    style = (block.style.name if block.style is not None else "") or ""
    level = _HEADING_STYLE.match(style)
    if level:
        builder.heading(block.text, int(level.group(1)))
    elif style == "Title":
        builder.heading(block.text, 1)
    else:
        builder.add(block.text)


def _is_docx(probe: Probe) -> bool:
    return "word/document.xml" in probe.members


register(Loader("docx", "a Word document", (".docx",), _is_docx, load_docx, order=20))
