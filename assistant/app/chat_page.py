"""The chat page: the answer first, where the eye goes, with compact evidence under it and clickable citations.

Every answer, streaming or from history, is drawn into the same fixed places (`Slots`), so a rerun never leaves
a stale element of the previous run (such as a second "other passages" box) on screen while an answer streams.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant import study
from assistant.chat import ChatSession
from assistant.prompt import cited_numbers
from assistant.ui import chat_markdown, mark_quote, safe_markdown, source_record
from ingest import (
    AssistantError,
    Collection,
    Settings,
)

from . import chats
from .evidence_view import show_citations, show_evidence, show_withheld, titles_of
from .services import make_assistant
from .streaming import LINE, Pump, waiting_label


class Slots:
    """The places of one answer on the page, in order: the same while it streams and after."""

    def __init__(self) -> None:
        self.query, self.answer, self.error, self.stop = st.empty(), st.empty(), st.empty(), st.empty()
        self.citations, self.evidence, self.withheld = st.empty(), st.empty(), st.empty()


def show_answer(index: int, message: dict[str, Any], settings: Settings, store: Collection) -> None:
    """A finished answer: the text, its citations, then the evidence in brief."""
    slots = Slots()
    if message.get("query"):
        slots.query.caption(safe_markdown(f"Searched for: {message['query']}"))
    slots.answer.markdown(safe_markdown(message["content"]))
    if message.get("error"):
        slots.error.error(safe_markdown(message["error"]))
    with slots.citations.container():
        show_citations(index, message, settings, store)
    if message.get("sources"):
        with slots.evidence.container():
            show_evidence(message["sources"], message.get("question", ""), answered=not message.get("error"))
    with slots.withheld.container():
        show_withheld(message.get("withheld", []))


def show_history(settings: Settings, store: Collection) -> None:
    for index, message in enumerate(st.session_state.messages):
        with st.chat_message(message["role"]):
            if message["role"] == "assistant":
                show_answer(index, message, settings, store)
            else:
                st.markdown(safe_markdown(message["content"]))


def answer(question: str, settings: Settings, store: Collection) -> None:
    st.session_state.messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    record: dict[str, Any] = {"role": "assistant", "content": "", "sources": [], "question": question}
    st.session_state.messages.append(record)
    index = len(st.session_state.messages) - 1
    with st.chat_message("assistant"):
        slots = Slots()
        slots.answer.caption("Searching your documents…")
        session: ChatSession = st.session_state.chat
        session.assistant = make_assistant(settings, store)
        try:
            retrieval = session.search(question)  # evidence first, before the chat model is even loaded
        except AssistantError as exc:
            record["content"], record["error"] = "I could not search the documents.", str(exc)
            slots.answer.markdown(record["content"])
            slots.error.error(safe_markdown(str(exc)))
            chats.save_turn(settings, question, record)
            return
        if retrieval.question:
            record["query"] = retrieval.query
            slots.query.caption(safe_markdown(f"Searched for: {retrieval.query}"))
        titles = titles_of(store)
        evidence = [source_record(n, h, title=titles.get(h.chunk.doc_id, "")) for n, h in enumerate(retrieval.hits, 1)]
        if retrieval.found:
            with slots.evidence.container():
                show_evidence(evidence, question)
            slots.answer.caption(f"The model is reading {len(evidence)} passages…")
        record["withheld"] = [h.citation() for h in retrieval.withheld]
        with slots.withheld.container():
            show_withheld(record["withheld"])
        try:
            reply = session.answer(question, retrieval)
        except AssistantError as exc:  # e.g. the model is not installed: the evidence still stands
            record["content"], record["error"] = "The chat model could not be loaded.", str(exc)
            record["sources"] = evidence
            slots.answer.markdown(record["content"])
            slots.error.error(safe_markdown(str(exc)))
            chats.save_turn(settings, question, record)
            return
        record["sources"] = [
            source_record(n, h, title=titles.get(h.chunk.doc_id, "")) for n, h in enumerate(reply.sources, 1)
        ]
        if reply.sources:
            slots.stop.button("Stop generating", key=f"stop-{index}", icon=":material/stop_circle:")
        stream(reply, record, slots, settings, question)
        slots.stop.empty()
        slots.answer.markdown(safe_markdown(record["content"]))
        with slots.citations.container():
            show_citations(index, record, settings, store)
        if record["sources"]:
            with slots.evidence.container():
                show_evidence(record["sources"], question, answered=True)


def stream(reply: Any, record: dict[str, Any], slots: Slots, settings: Settings, question: str) -> None:
    """The answer as it is written; before its first word, that the model is reading, and for how long."""
    ticket = LINE.join()
    pump = Pump(reply.stream())
    text = ""
    try:
        for piece in pump.pieces():
            if piece is not None:
                if not text and record["sources"]:  # the answer begins: fold the evidence under it
                    with slots.evidence.container():
                        show_evidence(record["sources"], question, answered=True)
                text += piece
                slots.answer.markdown(safe_markdown(text) + " ▌")
            elif not text:
                slots.answer.caption(waiting_label(pump.elapsed, len(reply.sources), LINE.ahead(ticket)))
    finally:  # also when "Stop" (or anything else) interrupts the run: keep what was written, and save it
        pump.stop()
        LINE.leave(ticket)
        if pump.finished and reply.finished and not reply.stopped:  # a whole reply's citations have been checked
            text = reply.text
        text = text.strip()
        mark_quote(reply, record["sources"])
        cited = set(cited_numbers(text, len(record["sources"])))
        for source in record["sources"]:
            source["cited"] = source["number"] in cited
        record["content"] = text + (" … (stopped)" if not pump.finished else "")
        chats.save_turn(settings, question, record)


#: Each collection's suggested questions, with the version of the collection they were worked out from.
_SUGGESTED: dict[str, tuple[str, list[str]]] = {}


def suggestions(store: Collection, place: Any, documents: int = 3) -> str | None:
    """A few questions to start from, for the first documents of the collection; the one clicked, if any."""
    version, questions = _SUGGESTED.get(store.name, ("", []))
    if version != store.version or not version:
        titles = titles_of(store)
        questions = [q for d in list(store.documents)[:documents]
                     for q in study.suggested_questions(store.chunks_of([d]), titles.get(d, ""), 2)]  # fmt: skip
        _SUGGESTED[store.name] = (store.version, questions)
    if not questions:
        return None
    place.caption("Questions to start from")
    row = place.container(horizontal=True)
    clicked = [q for n, q in enumerate(questions) if row.button(safe_markdown(q), key=f"suggested-{n}")]
    return clicked[0] if clicked else None


def chat_view(settings: Settings, store: Collection) -> None:
    if len(store) == 0:
        st.info(
            f"The collection **{safe_markdown(settings.collection)}** has no documents yet. Open **Library** above "
            "to upload PDFs, Word, Markdown, HTML or text files, or run `python -m ingest data/docs` and reload."
        )
    toolbar = st.container()  # filled last, so it knows about the answer given in this run
    show_history(settings, store)
    starters = st.empty()
    picked = None if st.session_state.messages or len(store) == 0 else suggestions(store, starters.container())
    question = st.chat_input("Ask a question about your documents", disabled=len(store) == 0) or picked
    if question:
        starters.empty()
        answer(question, settings, store)
    row = toolbar.container(horizontal=True)
    if row.button("New chat", disabled=not st.session_state.messages, icon=":material/add:"):
        chats.new_chat(settings)
        st.rerun()
    row.download_button(
        "Export chat (Markdown)",
        data=chat_markdown(st.session_state.messages, f"Conversation: {settings.collection}"),
        file_name="conversation.md",
        mime="text/markdown",
        disabled=not st.session_state.messages,
        icon=":material/download:",
    )
