"""Evidence and source cards: passages with their matching sentences, citations that open the page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import streamlit as st

from assistant.evidence import highlight, is_pdf, locate, page_pdf
from assistant.ui import safe_markdown
from ingest import (
    IndexStore,
    Settings,
    display_name,
)
from ingest.instructions import instruction_reasons

from .services import page_image

log = logging.getLogger("streamlit_app")


def highlighted(text: str, question: str) -> str:
    """The passage as safe Markdown, with the sentences that match the question highlighted."""
    parts = []
    for sentence in highlight(text, question):
        body = safe_markdown(" ".join(sentence.text.split()))  # a PDF's line wraps are not line breaks
        parts.append(f":orange-background[{body}]" if sentence.matches and body else body)
    return " ".join(parts)


def citation_title(record: dict[str, Any]) -> str:
    return f"**\\[{record['number']}\\] {safe_markdown(record['citation'])}**"


def show_passages(records: list[dict[str, Any]], question: str) -> None:
    for record in records:
        st.markdown(citation_title(record))
        st.markdown(highlighted(str(record["text"]), question))


def show_evidence(records: list[dict[str, Any]], question: str) -> None:
    """The retrieved passages, at once, before the model has written anything."""
    with st.expander(f"Evidence: {len(records)} passages found", expanded=True):
        show_passages(records, question)


def source_card(record: dict[str, Any], question: str, settings: Settings, store: IndexStore, key: str) -> None:
    """One source: where it is, the passage with its matching sentences, the page itself, and the file."""
    with st.container(border=True):
        document = store.documents.get(str(record.get("doc_id", "")))
        path = locate(document, settings) if document is not None else None
        page = record.get("page")
        with_page = path is not None and page is not None and is_pdf(path)
        text, picture = st.columns([3, 2]) if with_page else (st.container(), None)
        text.markdown(f"{citation_title(record)} · similarity {record['score']:.2f}")
        text.markdown(highlighted(str(record["text"]), question))
        if reasons := instruction_reasons(str(record["text"])):
            fate = (
                "it was given to the model because include_instruction_passages is on"
                if settings.include_instruction_passages
                else "it is kept out of answers"
            )
            text.warning(safe_markdown(f"This passage addresses the assistant ({'; '.join(reasons)}); {fate}."))
        if path is None or document is None:
            text.caption("The original file is no longer where it was indexed, so its page can't be shown.")
            return
        name = display_name(str(record["source"]))
        if with_page and picture is not None:
            try:
                image = page_image(str(path), document.doc_id, int(page))  # type: ignore[arg-type]
                if isinstance(image, str):  # a page the worker could not draw: say why, keep the rest of the card
                    picture.caption(safe_markdown(image))
                else:
                    picture.image(image, caption=f"Page {page}")
            except Exception as exc:  # anything else: say so, keep the rest of the card
                log.warning("Could not render %s page %s: %s", path, page, exc)
                picture.caption(f"Page {page} could not be drawn ({type(exc).__name__}).")
            text.download_button(
                f"Open page {page} (PDF)",
                data=lambda: page_pdf(path, int(page), settings),  # type: ignore[arg-type]
                file_name=f"{Path(name).stem}-page-{page}.pdf",
                mime="application/pdf",
                key=f"{key}-page",
            )
        text.download_button("Download the whole file", data=path.read_bytes, file_name=name, key=f"{key}-file")


def show_citations(index: int, message: dict[str, Any], settings: Settings, store: IndexStore) -> None:
    """Each [n] the answer cites is a button that opens its source card."""
    sources = message.get("sources", [])
    if not sources:
        return
    cited = [s for s in sources if s["cited"]]
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
    others = [s for s in sources if s["number"] not in shown]
    if others:
        with st.expander(f"The other {len(others)} passages the model was given"):
            show_passages(others, message.get("question", ""))


def show_history(settings: Settings, store: IndexStore) -> None:
    for index, message in enumerate(st.session_state.messages):
        with st.chat_message(message["role"]):
            if message.get("query"):
                st.caption(safe_markdown(f"Searched for: {message['query']}"))
            st.markdown(safe_markdown(message["content"]))
            if message.get("error"):
                st.error(safe_markdown(message["error"]))
            if message["role"] == "assistant":
                show_citations(index, message, settings, store)
                show_withheld(message.get("withheld", []))


def show_withheld(citations: list[str]) -> None:
    """Passages the search found that address the assistant instead of a reader: named, never given to the model."""
    if citations:
        st.caption(
            safe_markdown(
                f"Kept out of the answer: {len(citations)} passage{'s' if len(citations) > 1 else ''} that address "
                f"the assistant instead of a reader (possible prompt injection): {'; '.join(citations)}"
            )
        )
