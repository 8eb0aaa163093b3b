"""The study page: an interactive quiz (answer, check, reveal, score, export) and summaries that arrive section
by section, of a document or the collection. The quiz and the summary are kept apart, so one survives the other."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from assistant import study
from assistant.ui import quiz_csv, quiz_markdown, safe_markdown, source_record
from ingest import (
    AssistantError,
    Chunk,
    Collection,
    ScoredChunk,
    Settings,
)
from ingest.instructions import chunk_instruction_reasons

from .evidence_view import highlighted, titles_of
from .services import chat_model


def study_view(settings: Settings, store: Collection) -> None:
    st.subheader("Study")
    documents = store.list_documents()
    if not documents:
        st.info(f"Add your notes or course material to **{safe_markdown(settings.collection)}** in **Library** first.")
        return
    titles = titles_of(store)
    scopes = {"": f"The whole collection ({len(documents)} documents)"} | {
        d.doc_id: titles.get(d.doc_id, d.source) for d in documents
    }
    scope = st.selectbox("Material", list(scopes), format_func=lambda k: scopes[k], key="study_scope")
    chunks = [
        c
        for c in store.chunks_of([scope] if scope else list(store.documents))
        if (not scope or c.doc_id == scope)
        and (settings.include_instruction_passages or not chunk_instruction_reasons(c))  # never fed to the model
    ]
    count = st.slider("Quiz questions", 3, 10, 5, key="quiz_count", help="Questions are spread through the "
                      "material; a question whose answer its passage does not state is dropped.")  # fmt: skip
    left, right, _ = st.columns([1, 1, 2])
    make_quiz = left.button("Make a quiz", type="primary", icon=":material/quiz:")
    make_summary = right.button("Summarize by section", icon=":material/summarize:")
    try:
        if make_quiz:
            run_quiz(settings, chunks, count, scopes[scope])
        show_quiz(settings)
        if make_summary:
            run_summary(settings, chunks, scopes[scope])
        else:
            show_summary(settings)
    except AssistantError as exc:
        st.error(safe_markdown(str(exc)))


def _chunk_record(chunk: Chunk) -> dict[str, Any]:
    return source_record(1, ScoredChunk(chunk, 1.0))


def run_quiz(settings: Settings, chunks: list[Chunk], count: int, title: str) -> None:
    items: list[dict[str, Any]] = []
    st.session_state.quiz = {"collection": settings.collection, "title": title, "items": items, "results": {}}
    with st.status("Writing questions…", expanded=False) as status:
        model = chat_model(settings.chat_model)
        for item in study.quiz(model, chunks, count, temperature=max(settings.temperature, 0.2)):
            items.append({"question": item.question, "answer": item.answer, "source": _chunk_record(item.source)})
            status.update(label=f"Writing questions… {len(items)} done")
        status.update(label=f"{len(items)} questions, each checked against its passage", state="complete")


def show_quiz(settings: Settings) -> None:
    quiz = st.session_state.get("quiz")
    if not quiz or quiz["collection"] != settings.collection:
        return
    if not quiz["items"]:
        st.warning("The model did not write a question its passage answers; try again or pick other material.")
        return
    results: dict[int, bool] = quiz["results"]
    st.markdown(f"#### Quiz: {safe_markdown(quiz['title'])}")
    score = st.empty()
    for number, item in enumerate(quiz["items"], 1):
        st.markdown(f"**{number}\\. {safe_markdown(item['question'])}**")
        given = st.text_input(
            "Your answer", key=f"quiz-{number}", placeholder="Your answer", label_visibility="collapsed"
        )
        if st.button("Check", key=f"quiz-check-{number}") and given.strip():
            results[number] = study.grade(given, item["answer"])
        if number in results:
            if results[number]:
                st.success(safe_markdown(f"Right: {item['answer']}"))
            else:
                st.error(safe_markdown(f"Not quite. The answer is: {item['answer']}"))
        with st.expander("Answer and source"):
            st.markdown(f"**Answer:** {safe_markdown(item['answer'])}")
            st.caption(safe_markdown(f"From {item['source']['citation']}"))
            st.markdown(highlighted(item["source"]["text"], item["question"] + " " + item["answer"]))
    right = sum(results.values())
    score.markdown(f"**Score: {right} of {len(quiz['items'])} ({len(results)} answered)**")
    row = st.container(horizontal=True)
    markdown, cards = quiz_markdown(quiz["title"], quiz["items"]), quiz_csv(quiz["items"])
    row.download_button("Quiz (Markdown)", markdown, "quiz.md", mime="text/markdown", icon=":material/download:")
    row.download_button(
        "Flashcards (CSV)", cards, file_name="flashcards.csv", mime="text/csv", icon=":material/style:",
        help="One card per question, front,back: imports into Anki, Quizlet and most flashcard apps.",
    )  # fmt: skip


def run_summary(settings: Settings, chunks: list[Chunk], title: str) -> None:
    """Each section's summary is shown as soon as it is written; Cancel (any click) keeps the ones done."""
    parts = study.sections(chunks)
    items: list[dict[str, Any]] = []
    st.session_state.summary = {"collection": settings.collection, "title": title, "items": items, "total": len(parts)}
    st.markdown(f"#### Summary: {safe_markdown(title)}")
    progress, cancel = st.empty(), st.empty()
    cancel.button("Cancel", key="cancel-summary", icon=":material/cancel:")
    per_section = st.session_state.get("seconds_per_section")
    model = chat_model(settings.chat_model)
    started = time.monotonic()
    for number, section in enumerate(parts, 1):
        left = f"about {per_section * (len(parts) - number + 1):.0f} s left" if per_section else "estimating the time…"
        progress.caption(f"Summarizing section {number} of {len(parts)} · {left}")
        text = study.summarize(model, section, temperature=settings.temperature)
        items.append({"title": section.title, "summary": text, "citation": section.citation(),
                      "sources": [_chunk_record(c) for c in section.chunks]})  # fmt: skip
        show_section(number, items[-1])
        per_section = (time.monotonic() - started) / number
        st.session_state.seconds_per_section = per_section
    cancel.empty()
    seconds = time.monotonic() - started
    progress.caption(f"{len(items)} section{'s' if len(items) != 1 else ''} summarized in {seconds:.0f} s")


def show_section(number: int, item: dict[str, Any]) -> None:
    st.markdown(f"**{safe_markdown(item['title'])}**")
    st.markdown(f"{safe_markdown(item['summary'])} \\[{number}\\]")
    st.caption(safe_markdown(f"[{number}] {item['citation']}"))
    with st.expander(f"The section's text ({len(item['sources'])} passages)"):
        for source in item["sources"]:
            st.markdown(safe_markdown(source["text"]))


def show_summary(settings: Settings) -> None:
    summary = st.session_state.get("summary")
    if not summary or summary["collection"] != settings.collection:
        return
    if not summary["items"]:
        st.warning("Nothing was summarized; try again or pick other material.")
        return
    st.markdown(f"#### Summary: {safe_markdown(summary['title'])}")
    done, total = len(summary["items"]), summary["total"]
    st.caption(f"{done} sections summarized" + (f"; cancelled before the other {total - done}" if done < total else ""))
    for number, item in enumerate(summary["items"], 1):
        show_section(number, item)
