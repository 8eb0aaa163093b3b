"""Evidence and source cards: compact passages with their matching sentences, citations that open the page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import streamlit as st

from assistant.evidence import highlight, locate, page_kind, page_pdf
from assistant.titles import document_titles
from assistant.ui import safe_markdown
from ingest import (
    Collection,
    Settings,
    display_name,
)
from ingest.instructions import instruction_reasons

from .services import page_image

log = logging.getLogger("streamlit_app")
#: How much of a passage the compact evidence list shows: its matching sentences, cut to this length.
SNIPPET_CHARS = 200
#: Height of the open evidence list while the model reads: the answer above it stays on screen at 420×900.
EVIDENCE_HEIGHT_PX = 300


#: Each collection's document titles, with the version of the collection they were read from.
_TITLES: dict[str, tuple[str, dict[str, str]]] = {}


def titles_of(store: Collection) -> dict[str, str]:
    """doc_id -> title for the collection's documents, worked out once per committed version."""
    version, titles = _TITLES.get(store.name, ("", {}))
    if version != store.version or not version:
        titles = document_titles(store.chunks_of(list(store.documents)))
        _TITLES[store.name] = (store.version, titles)
    return titles


def highlighted(text: str, question: str, limit: int | None = None, span: list[int] | None = None) -> str:
    """The passage as safe Markdown, with the sentences that match the question highlighted. With `limit`,
    only the matching sentences (or the opening, when none match), cut to about that many characters. With
    `span` (the answer quoted these characters of the passage), exactly that span is highlighted instead."""
    if span is not None and 0 <= span[0] < span[1] <= len(text):
        return quoted_span(text, span[0], span[1], limit)
    sentences = [(" ".join(s.text.split()), s.matches) for s in highlight(text, question)]
    if limit is not None:
        sentences = [s for s in sentences if s[1]] or sentences[:1]
        kept, used = [], 0
        for body, matches in sentences:
            if used >= limit:
                kept.append(("…", False))
                break
            if used + len(body) > limit:
                body = body[: max(limit - used, 40)].rstrip() + "…"
            kept.append((body, matches))
            used += len(body)
        sentences = kept
    parts = []
    for body, matches in sentences:
        body = safe_markdown(body)  # a PDF's line wraps are not line breaks
        parts.append(f":orange-background[{body}]" if matches and body else body)
    return " ".join(parts)


def quoted_span(text: str, start: int, end: int, limit: int | None = None) -> str:
    """The passage as safe Markdown with the quoted characters highlighted, cut around them with `limit`."""
    before, quote, after = (" ".join(part.split()) for part in (text[:start], text[start:end], text[end:]))
    if limit is not None:
        room = max(0, limit - len(quote)) // 2
        before = ("…" + before[-room:].lstrip()) if len(before) > room else before
        after = (after[:room].rstrip() + "…") if len(after) > room else after
    parts = [safe_markdown(before), f":orange-background[{safe_markdown(quote)}]", safe_markdown(after)]
    return " ".join(p for p in parts if p)


def citation_title(record: dict[str, Any]) -> str:
    return f"**\\[{record['number']}\\] {safe_markdown(record['citation'])}**"


def show_passages(records: list[dict[str, Any]], question: str) -> None:
    for record in records:
        st.markdown(citation_title(record))
        st.markdown(highlighted(str(record["text"]), question))


def show_evidence(records: list[dict[str, Any]], question: str, *, answered: bool = False) -> None:
    """The retrieved passages, each as a short line with its matching sentences: open, in a box of bounded
    height, from the moment they are found until the answer starts; then folded to one line under the answer,
    so the answer stays in view on a phone. The whole passage and its page are in its source card."""
    cited = {r["number"] for r in records if r.get("cited")}
    label = f"Evidence: {len(records)} passages found"
    if answered and cited:
        label += f", {len(cited)} cited"
    with st.expander(label, expanded=not answered):
        box = st.container(height=EVIDENCE_HEIGHT_PX) if not answered and len(records) > 2 else st.container()
        for record in records:
            mark = "" if not answered or not cited or record["number"] in cited else " · not cited"
            snippet = highlighted(str(record["text"]), question, SNIPPET_CHARS, record.get("quote"))
            box.markdown(f"{citation_title(record)}{mark}  \n{snippet}")


def source_card(record: dict[str, Any], question: str, settings: Settings, store: Collection, key: str) -> None:
    """One source: where it is, the passage with its matching sentences, the page itself, and the file."""
    with st.container(border=True):
        document = store.documents.get(str(record.get("doc_id", "")))
        path = locate(document, settings) if document is not None else None
        page = record.get("page")
        kind = page_kind(path) if path is not None and page is not None else None
        with_page, noun = kind is not None, "slide" if kind == "pptx" else "page"  # a PDF page, or a slide
        text, picture = st.columns([3, 2]) if with_page else (st.container(), None)
        text.markdown(f"{citation_title(record)} · similarity {record['score']:.2f}")
        text.caption(safe_markdown(f"File: {record['source']}"))
        text.markdown(highlighted(str(record["text"]), question, span=record.get("quote")))
        if reasons := instruction_reasons(str(record["text"])):
            fate = (
                "it was given to the model because include_instruction_passages is on"
                if settings.include_instruction_passages
                else "it is kept out of answers"
            )
            text.warning(safe_markdown(f"This passage addresses the assistant ({'; '.join(reasons)}); {fate}."))
        if document is None:
            text.caption("This document is no longer in the collection, so its page can't be shown.")
            return
        if path is None:
            text.caption("The original file is no longer where it was indexed, so its page can't be shown.")
            return
        name = display_name(str(record["source"]))
        if with_page and picture is not None:
            if picture.button(f"Open {noun} {page}", key=f"{key}-open", icon=":material/zoom_in:"):
                page_dialog(str(path), document.doc_id, int(page), name, noun)  # type: ignore[arg-type]
            try:
                image = page_image(str(path), document.doc_id, int(page))  # type: ignore[arg-type]
                if isinstance(image, str):  # a page the worker could not draw: say why, keep the rest of the card
                    picture.caption(safe_markdown(image))
                else:
                    picture.image(image, caption=f"{noun.capitalize()} {page}")
            except Exception as exc:  # anything else: say so, keep the rest of the card
                log.warning("Could not render %s %s %s: %s", path, noun, page, exc)
                picture.caption(f"{noun.capitalize()} {page} could not be drawn ({type(exc).__name__}).")
        if kind == "pdf":
            text.download_button(
                f"Download page {page} (PDF)",
                data=lambda: page_pdf(path, int(page), settings),  # type: ignore[arg-type]
                file_name=f"{Path(name).stem}-page-{page}.pdf",
                mime="application/pdf",
                key=f"{key}-page",
            )
        text.download_button("Download the whole file", data=path.read_bytes, file_name=name, key=f"{key}-file")


@st.dialog("Page", width="large")
def page_dialog(path: str, doc_id: str, page: int, name: str, noun: str = "page") -> None:
    """The page (or slide) at full width, in the app."""
    st.caption(safe_markdown(f"{name}, {noun} {page}"))
    image = page_image(path, doc_id, page)
    if isinstance(image, str):
        st.caption(safe_markdown(image))
    else:
        st.image(image, width="stretch")


def show_citations(index: int, message: dict[str, Any], settings: Settings, store: Collection) -> None:
    """Each [n] the answer cites is a button that opens its source card."""
    sources = message.get("sources", [])
    if not sources:
        return
    cited = [s for s in sources if s.get("cited")]
    shown = {s["number"]: s for s in (cited or sources)}
    label = "Sources: pick one to see the passage and its page" if cited else "Passages given to the model"
    chosen = st.pills(
        label,
        list(shown),
        format_func=lambda n: f"\\[{n}\\] {safe_markdown(shown[n]['citation'])}",
        key=f"cite-{index}",
    )
    if chosen is not None:
        source_card(shown[chosen], message.get("question", ""), settings, store, key=f"card-{index}-{chosen}")


def show_withheld(citations: list[str]) -> None:
    """Passages the search found that address the assistant instead of a reader: named, never given to the model."""
    if citations:
        st.caption(
            safe_markdown(
                f"Kept out of the answer: {len(citations)} passage{'s' if len(citations) > 1 else ''} that address "
                f"the assistant instead of a reader (possible prompt injection): {'; '.join(citations)}"
            )
        )
