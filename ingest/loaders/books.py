"""E-books (EPUB) and OpenDocument text (ODT): chapters and headings as sections. Both are ZIP containers of
XML, read here with zipfile and defusedxml only: sizes checked before inflating, no entities, nothing fetched."""

from __future__ import annotations

import posixpath
from typing import Any

from ..errors import DocumentError
from ..types import Page
from .pages import PageBuilder
from .registry import Loaded, Loader, LoadOptions, register
from .safezip import check_archive, parse_xml, read_member
from .text import html_to_text

_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
MAX_CHAPTERS = 5_000


def load_epub(data: bytes, source: str, options: LoadOptions) -> Loaded:
    archive = check_archive(data, source, "EPUB e-book")
    names = set(archive.namelist())
    if "META-INF/container.xml" not in names:
        raise DocumentError(source, "an EPUB without META-INF/container.xml, so its chapters cannot be found.")
    container = parse_xml(read_member(archive, "META-INF/container.xml", source), source, "META-INF/container.xml")
    rootfile = container.find(f".//{_CONTAINER}rootfile")
    package_path = rootfile.get("full-path", "") if rootfile is not None else ""
    if package_path not in names:
        raise DocumentError(source, f"its package file {package_path!r} is missing.")
    package = parse_xml(read_member(archive, package_path, source), source, package_path)
    base = posixpath.dirname(package_path)
    manifest = {
        item.get("id"): posixpath.normpath(posixpath.join(base, item.get("href", "")))
        for item in package.iter(f"{_OPF}item")
    }
    title_element = package.find(f".//{_DC}title")
    title = (title_element.text or "").strip() if title_element is not None else ""
    pages: list[Page] = []
    warnings: list[str] = []
    spine = [ref.get("idref") for ref in package.iter(f"{_OPF}itemref")][:MAX_CHAPTERS]
    for idref in spine:
        path = manifest.get(idref)
        if path is None or path not in names:  # a reference outside the book is never followed
            warnings.append(f"chapter {idref!r} is listed but not in the book")
            continue
        text, _ = html_to_text(read_member(archive, path, source).decode("utf-8", "replace"))
        if text.strip():
            pages.append(Page(text, None, f"chapter {len(pages) + 1}"))
    return pages, title, warnings


def load_odt(data: bytes, source: str, options: LoadOptions) -> Loaded:
    archive = check_archive(data, source, "OpenDocument text")
    if "content.xml" not in archive.namelist():
        raise DocumentError(source, "an OpenDocument file without content.xml.")
    root = parse_xml(read_member(archive, "content.xml", source), source, "content.xml")
    body = root.find(f"{_OFFICE}body/{_OFFICE}text")
    builder = PageBuilder()
    if body is not None:
        _walk_odt(builder, body, 0)
    title = ""
    if "meta.xml" in archive.namelist():
        meta = parse_xml(read_member(archive, "meta.xml", source), source, "meta.xml")
        found = meta.find(f".//{_DC}title")
        title = (found.text or "").strip() if found is not None else ""
    return [builder.page()], title, []


def _walk_odt(builder: PageBuilder, element: Any, depth: int) -> None:
    for child in element:
        if child.tag == f"{_TEXT}h":
            builder.heading(_odt_text(child), int(child.get(f"{_TEXT}outline-level", "1") or 1))
        elif child.tag == f"{_TEXT}p":
            builder.add(_odt_text(child))
        elif child.tag == f"{_TABLE}table":
            rows = [
                [_odt_text(cell) for cell in row.iter(f"{_TABLE}table-cell")]
                for row in child.iter(f"{_TABLE}table-row")
            ]
            builder.table(rows)
        elif depth < 64:  # lists, sections, frames
            _walk_odt(builder, child, depth + 1)


def _odt_text(element: Any) -> str:
    """Text of an ODT element: spans joined, `text:s` as spaces, tabs and line breaks kept."""
    parts: list[str] = []

    def visit(node: Any) -> None:
        if node.tag == f"{_TEXT}s":
            parts.append(" " * min(int(node.get(f"{_TEXT}c", "1") or 1), 100))
        elif node.tag == f"{_TEXT}tab":
            parts.append("\t")
        elif node.tag == f"{_TEXT}line-break":
            parts.append("\n")
        elif node.text:
            parts.append(node.text)
        for child in node:
            visit(child)
            if child.tail:
                parts.append(child.tail)

    visit(element)
    return "".join(parts)


def _mimetype_is(value: bytes) -> Any:
    return lambda probe: probe.zip_mimetype() == value


register(Loader("epub", "an EPUB e-book", (".epub",), _mimetype_is(b"application/epub+zip"), load_epub, order=23))
register(
    Loader(
        "odt",
        "an OpenDocument text",
        (".odt",),
        _mimetype_is(b"application/vnd.oasis.opendocument.text"),
        load_odt,
        order=24,
    )
)
