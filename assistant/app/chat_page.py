"""The chat page: evidence first, then the streamed answer with clickable citations."""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant.chat import ChatSession
from assistant.ui import chat_markdown, safe_markdown, source_record
from ingest import (
    AssistantError,
    IndexStore,
    Settings,
)

from .evidence_view import show_citations, show_evidence, show_history, show_withheld
from .services import make_assistant


def answer(question: str, settings: Settings, store: IndexStore) -> None:
    st.session_state.messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    record: dict[str, Any] = {"role": "assistant", "content": "", "sources": [], "question": question}
    st.session_state.messages.append(record)
    with st.chat_message("assistant"):
        session: ChatSession = st.session_state.chat
        session.assistant = make_assistant(settings, store)
        try:
            retrieval = session.search(question)  # evidence first, before the chat model is even loaded
        except AssistantError as exc:
            record["content"], record["error"] = "I could not search the documents.", str(exc)
            st.error(safe_markdown(str(exc)))
            return
        if retrieval.question:
            record["query"] = retrieval.query
            st.caption(safe_markdown(f"Searched for: {retrieval.query}"))
        evidence = [source_record(n, h) for n, h in enumerate(retrieval.hits, 1)]
        if retrieval.found:
            show_evidence(evidence, question)
        record["withheld"] = [h.citation() for h in retrieval.withheld]
        show_withheld(record["withheld"])
        placeholder = st.empty()
        try:
            busy = retrieval.found and getattr(session.assistant.chat_model, "busy", False)
            reply = session.answer(question, retrieval)
        except AssistantError as exc:  # e.g. the model is not installed: the evidence above still stands
            record["content"], record["error"] = "The chat model could not be loaded.", str(exc)
            record["sources"] = evidence
            st.error(safe_markdown(str(exc)))
            return
        if busy:
            placeholder.caption("Waiting for the model: it is answering another question…")
        record["sources"] = [source_record(n, h) for n, h in enumerate(reply.sources, 1)]
        stop = st.empty()
        if reply.sources:
            stop.button("Stop generating", key=f"stop-{len(st.session_state.messages)}")
        stream = reply.stream()
        try:
            for _piece in stream:
                placeholder.markdown(safe_markdown(reply.text) + " ▌")
        finally:  # also when "Stop" (or anything else) interrupts the run: keep what was written
            stream.close()
            cited = {n for n, _ in reply.cited}
            for source in record["sources"]:
                source["cited"] = source["number"] in cited
            record["content"] = reply.text + (" … (stopped)" if reply.stopped else "")
        stop.empty()
        placeholder.markdown(safe_markdown(record["content"]))
        show_citations(len(st.session_state.messages) - 1, record, settings, store)


def chat_view(settings: Settings, store: IndexStore) -> None:
    if len(store) == 0:
        st.info(
            f"The collection **{safe_markdown(settings.collection)}** has no documents yet. Open **Library** above "
            "to upload PDFs, Word, Markdown, HTML or text files, or run `python -m ingest data/docs` and reload."
        )
    toolbar = st.container()  # filled last, so it knows about the answer given in this run
    show_history(settings, store)
    question = st.chat_input("Ask a question about your documents", disabled=len(store) == 0)
    if question:
        answer(question, settings, store)
    row = toolbar.container(horizontal=True)
    if row.button("New chat", disabled=not st.session_state.messages):
        st.session_state.messages = []
        st.session_state.chat.reset()
        st.rerun()
    row.download_button(
        "Export chat (Markdown)",
        data=chat_markdown(st.session_state.messages, f"Conversation: {settings.collection}"),
        file_name="conversation.md",
        mime="text/markdown",
        disabled=not st.session_state.messages,
    )
