"""The Streamlit app: a chat over your documents with cited sources, an uploader, and the document list."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import streamlit as st

from assistant import ui
from assistant.chat import Assistant, ChatSession
from assistant.generate import ChatModel
from assistant.ui import safe_markdown
from ingest import AssistantError, IndexStore, ScoredChunk, Settings, ingest, open_index, save_upload
from ingest.errors import DocumentError
from ingest.load import SUPPORTED_SUFFIXES
from ingest.types import FileReport

log = logging.getLogger("streamlit_app")
st.set_page_config(page_title="Local document assistant", layout="wide")


# Loaded once per process, not on every rerun --------------------------------------------------------


@st.cache_resource(show_spinner="Loading the embedding model…")
def services() -> ui.Services:
    return ui.services_factory(Settings())


@st.cache_resource(show_spinner="Loading the chat model (the first time, the default model is assembled)…")
def chat_model(spec: str) -> ChatModel:
    base = services()
    return base.chat_model_factory(base.settings.model_copy(update={"chat_model": spec}))


@dataclass
class StoreHolder:
    """The newest snapshot of a collection, shared by all sessions and refreshed when a commit lands."""

    store: IndexStore | None = None


@st.cache_resource(show_spinner=False)
def store_holder(collection: str) -> StoreHolder:
    return StoreHolder()


def current_store(settings: Settings) -> IndexStore:
    holder = store_holder(settings.collection)
    if holder.store is None:
        holder.store = open_index(settings, services().embedder, create=True)
    else:
        holder.store = holder.store.reload_if_stale()
    return holder.store


# Settings from the sidebar ---------------------------------------------------------------------------


def sidebar_settings(base: Settings) -> Settings:
    with st.sidebar.expander("Answer settings"):
        top_k = st.slider("Passages retrieved (top-k)", 1, 20, base.top_k)
        temperature = st.slider("Temperature", 0.0, 1.0, float(base.temperature), 0.05)
        length = st.select_slider(
            "Answer length", options=[128, 256, 384, 512, 768], value=min(768, max(128, base.max_answer_tokens))
        )
    return base.model_copy(update={"top_k": top_k, "temperature": temperature, "max_answer_tokens": length})


# Rendering -------------------------------------------------------------------------------------------


def source_record(number: int, hit: ScoredChunk, cited: bool) -> dict[str, object]:
    return {"number": number, "citation": hit.citation(), "score": hit.score, "text": hit.chunk.text, "cited": cited}


def citation_line(source: dict[str, object]) -> str:
    return f"**\\[{source['number']}\\]** {safe_markdown(str(source['citation']))} · similarity {source['score']:.2f}"


def show_passages(sources: list[dict[str, object]], title: str) -> None:
    """The passages behind the numbers, on demand."""
    with st.expander(title, expanded=False):
        for source in sources:
            st.markdown(citation_line(source))
            st.markdown(safe_markdown(str(source["text"])))


def show_sources(sources: list[dict[str, object]], title: str) -> None:
    """Citations stay visible under the answer; the passages open on demand."""
    if sources:
        st.markdown("  \n".join(citation_line(s) for s in sources))
        show_passages(sources, title)


def show_history() -> None:
    for message in st.session_state.messages:
        with st.chat_message(message["role"]):
            st.markdown(safe_markdown(message["content"]))
            show_sources(message.get("sources", []), "Sources")


# The chat ---------------------------------------------------------------------------------------------


def answer(question: str, settings: Settings) -> None:
    st.session_state.messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    with st.chat_message("assistant"):
        session: ChatSession = st.session_state.chat
        session.assistant = Assistant(
            settings, services().embedder, current_store(settings), lambda: chat_model(settings.chat_model)
        )
        retrieval = session.search(question)  # evidence first, before the chat model is even loaded
        if retrieval.question:
            st.caption(safe_markdown(f"Searched for: {retrieval.query}"))
        if retrieval.found:
            evidence = [source_record(n, h, False) for n, h in enumerate(retrieval.hits, 1)]
            show_passages(evidence, f"Evidence: {len(evidence)} passages found")
        placeholder = st.empty()
        if retrieval.found and getattr(session.assistant.chat_model, "busy", False):
            placeholder.caption("Waiting for the model: it is answering another question…")
        reply = session.answer(question, retrieval)
        for _piece in reply.stream():
            placeholder.markdown(safe_markdown(reply.text) + " ▌")
        placeholder.markdown(safe_markdown(reply.text))
        cited = {n for n, _ in reply.cited}
        sources = [source_record(n, h, n in cited) for n, h in enumerate(reply.sources, 1)]
        sources = [s for s in sources if s["cited"]] or sources
        show_sources(sources, "Sources" + ("" if cited else " (the answer cites none; these were given to it)"))
    st.session_state.messages.append({"role": "assistant", "content": reply.text, "sources": sources})


# The library -------------------------------------------------------------------------------------------


def library(settings: Settings, store: IndexStore) -> None:
    st.sidebar.header("Documents")
    uploads = st.sidebar.file_uploader(
        "Add documents",
        accept_multiple_files=True,
        key=f"uploader-{st.session_state.upload_round}",
        type=[s.lstrip(".") for s in sorted(SUPPORTED_SUFFIXES)],
    )
    if uploads and st.sidebar.button("Add to index", type="primary"):
        add_uploads(uploads, settings)
        st.session_state.upload_round += 1
        st.rerun()
    for report in st.session_state.upload_reports:
        text = safe_markdown(f"{report.source}: {report.status}" + (f" ({report.reason})" if report.reason else ""))
        if report.empty_pages:
            text += safe_markdown(f"; no text on pages {', '.join(map(str, report.empty_pages[:10]))}")
        (st.sidebar.error if report.status == "failed" else st.sidebar.success)(text)
    documents = store.list_documents()
    if documents:
        st.sidebar.dataframe(
            [
                {"document": d.source, "pages": d.pages, "chunks": d.chunks, "added": d.ingested_at[:10]}
                for d in documents
            ],
            hide_index=True,
        )
    st.sidebar.caption(f"{len(documents)} documents, {len(store)} passages in collection `{settings.collection}`")


def add_uploads(uploads: list, settings: Settings) -> None:  # type: ignore[type-arg]
    reports: list[FileReport] = []
    sources = []
    for upload in uploads:
        try:
            sources.append(
                save_upload(upload.getvalue(), upload.name, settings.upload_dir, int(settings.max_file_mb * 1_000_000))
            )
        except DocumentError as exc:
            reports.append(FileReport(exc.source, "failed", reason=exc.reason))
    if sources:
        bar = st.sidebar.progress(0.0, text="Reading…")

        def progress(stage: str, done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"{stage.capitalize()} {done}/{total}")

        report = ingest(sources, settings, services().embedder, on_progress=progress, lock_timeout=60)
        reports += report.files
        bar.empty()
    st.session_state.upload_reports = reports


# The page ----------------------------------------------------------------------------------------------


def main() -> None:
    for key, default in {"messages": [], "upload_reports": [], "upload_round": 0}.items():
        st.session_state.setdefault(key, default)
    st.title("Local document assistant")
    st.caption("Answers come only from your documents, with the page they came from. Nothing leaves this machine.")
    base = services().settings
    settings = sidebar_settings(base)
    store = current_store(settings)
    if "chat" not in st.session_state:
        st.session_state.chat = ChatSession(
            Assistant(settings, services().embedder, store, lambda: chat_model(settings.chat_model))
        )
    library(settings, store)
    st.sidebar.caption(safe_markdown(f"Chat model: {settings.chat_model} · Embedder: {settings.embedding_model}"))
    if st.sidebar.button("New chat"):
        st.session_state.messages = []
        st.session_state.chat.reset()
    if len(store) == 0:
        st.info(
            "No documents yet. Add files with **Add documents** in the sidebar, or run "
            "`python -m ingest data/docs` and reload."
        )
    show_history()
    question = st.chat_input("Ask a question about your documents", disabled=len(store) == 0)
    if question:
        answer(question, settings)


try:
    main()
except AssistantError as exc:
    st.error(str(exc))
except Exception as exc:  # the app's outermost edge: show a plain message, never a traceback
    log.exception("Unexpected error")
    st.error(f"Something went wrong: {type(exc).__name__}: {exc}. Details are in the app's log.")
