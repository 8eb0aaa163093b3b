"""Text formats: plain text in any common encoding, Markdown and HTML (headings become Markdown headings)."""

from __future__ import annotations

import re

from ..text import clean_text, decode_text
from ..types import Page
from .registry import Loaded, Loader, LoadOptions, Probe, register

TEXT_SUFFIXES = (".txt", ".text", ".rst")
MARKDOWN_SUFFIXES = (".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
_HTML_START = re.compile(rb"\s*(<!doctype html|<html)", re.IGNORECASE)


def load_text(data: bytes, source: str, options: LoadOptions) -> Loaded:
    text, warnings = decode_text(data, source)
    return [Page(clean_text(text))], "", warnings


def load_markdown(data: bytes, source: str, options: LoadOptions) -> Loaded:
    text, warnings = decode_text(data, source)
    text = clean_text(text)
    match = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    return [Page(text)], match.group(1).strip() if match else "", warnings


def load_html(data: bytes, source: str, options: LoadOptions) -> Loaded:
    text, warnings = decode_text(data, source)
    body, title = html_to_text(text)
    return [Page(body)], title, warnings


def html_to_text(markup: str) -> tuple[str, str]:
    """Readable text of an HTML page (scripts, styles and embedded frames dropped; headings as Markdown) and its
    title. Used by EPUB chapters too. Nothing is fetched: the parser never follows a reference."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "object", "embed"]):
        tag.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    title = soup.title.get_text(strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    return clean_text(soup.get_text("\n")), title


def _is_html(probe: Probe) -> bool:
    return probe.suffix in HTML_SUFFIXES or bool(_HTML_START.match(probe.head))


register(Loader("html", "an HTML page", HTML_SUFFIXES, _is_html, load_html, binary=False, order=10))
register(
    Loader(
        "markdown", "Markdown", MARKDOWN_SUFFIXES, lambda p: p.suffix in MARKDOWN_SUFFIXES, load_markdown, binary=False
    )
)
register(
    Loader(
        "text",
        "plain text",
        TEXT_SUFFIXES,
        lambda p: p.suffix in TEXT_SUFFIXES or p.suffix == "",
        load_text,
        binary=False,
        order=90,
    )
)
