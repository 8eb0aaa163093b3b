"""The study page: quizzes and section-by-section summaries of a document or the collection."""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant import study
from assistant.ui import safe_markdown, source_record
from ingest import (
    AssistantError,
    Chunk,
    IndexStore,
    ScoredChunk,
    Settings,
)
from ingest.instructions import chunk_instruction_reasons

from .evidence_view import highlighted
from .services import chat_model


def study_view(settings: Settings, store: IndexStore) -> None:
    st.subheader("Study")
    documents = store.list_documents()
    if not documents:
        st.info("Add your notes or course material in **Library** first.")
        return
    scopes = {"": f"The whole collection ({len(documents)} documents)"} | {d.doc_id: d.source for d in documents}
    scope = st.selectbox("Material", list(scopes), format_func=lambda k: scopes[k], key="study_scope")
    chunks = [
        c
        for c in store.chunks
        if (not scope or c.doc_id == scope)
        and (settings.include_instruction_passages or not chunk_instruction_reasons(c))  # never fed to the model
    ]
    count = st.slider("Quiz questions", 3, 10, 5, key="quiz_count")
    left, right, _ = st.columns([1, 1, 3])
    make_quiz = left.button("Make a quiz", type="primary")
    make_summary = right.button("Summarize by section")
    try:
        if make_quiz:
            run_quiz(settings, chunks, count, scopes[scope])
        elif make_summary:
            run_summary(settings, chunks, scopes[scope])
    except AssistantError as exc:
        st.error(safe_markdown(str(exc)))
    show_study(settings, store)


def run_quiz(settings: Settings, chunks: list[Chunk], count: int, title: str) -> None:
    items: list[dict[str, Any]] = []
    st.session_state.study = {"kind": "quiz", "title": title, "items": items}
    with st.status("Writing questions…", expanded=False) as status:
        model = chat_model(settings.chat_model)
        for item in study.quiz(model, chunks, count, temperature=max(settings.temperature, 0.2)):
            items.append({"question": item.question, "answer": item.answer, "source": _chunk_record(item.source)})
            status.update(label=f"Writing questions… {len(items)} done")
        status.update(label=f"{len(items)} questions", state="complete")


def run_summary(settings: Settings, chunks: list[Chunk], title: str) -> None:
    items: list[dict[str, Any]] = []
    st.session_state.study = {"kind": "summary", "title": title, "items": items}
    parts = study.sections(chunks)
    with st.status("Summarizing…", expanded=False) as status:
        model = chat_model(settings.chat_model)
        for number, section in enumerate(parts, 1):
            status.update(label=f"Summarizing section {number} of {len(parts)}…")
            text = study.summarize(model, section, temperature=settings.temperature)
            items.append(
                {
                    "title": section.title,
                    "summary": text,
                    "citation": section.citation(),
                    "sources": [_chunk_record(c) for c in section.chunks],
                }
            )
        status.update(label=f"{len(items)} sections summarized", state="complete")


def _chunk_record(chunk: Chunk) -> dict[str, Any]:
    return source_record(1, ScoredChunk(chunk, 1.0))


def show_study(settings: Settings, store: IndexStore) -> None:
    result = st.session_state.get("study")
    if not result or not result["items"]:
        if result:
            st.warning("The model did not produce anything usable; try again or pick other material.")
        return
    st.markdown(f"#### {'Quiz' if result['kind'] == 'quiz' else 'Summary'}: {safe_markdown(result['title'])}")
    for number, item in enumerate(result["items"], 1):
        if result["kind"] == "quiz":
            st.markdown(f"**{number}\\. {safe_markdown(item['question'])}**")
            with st.expander("Answer and source"):
                st.markdown(f"**Answer:** {safe_markdown(item['answer'])}")
                st.caption(safe_markdown(f"From {item['source']['citation']}"))
                st.markdown(highlighted(item["source"]["text"], item["question"] + " " + item["answer"]))
        else:
            st.markdown(f"**{safe_markdown(item['title'])}**")
            st.markdown(f"{safe_markdown(item['summary'])} \\[{number}\\]")
            st.caption(safe_markdown(f"[{number}] {item['citation']}"))
            with st.expander(f"The section's text ({len(item['sources'])} passages)"):
                for source in item["sources"]:
                    st.markdown(safe_markdown(source["text"]))
