"""The Streamlit app: chat with evidence first and clickable citations, a document library, and study mode.

A thin UI: retrieval, prompting and generation live in `assistant/`, ingestion in `ingest/`. Everything from a
document or the model is escaped before it is shown (`safe_markdown`), and uploaded names never become paths.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from assistant import hostcheck, study, ui
from assistant.chat import Assistant, ChatSession
from assistant.evidence import highlight, is_pdf, locate, page_pdf, render_page
from assistant.generate import ChatModel
from assistant.model_files import available_models
from assistant.retrieve import CrossEncoderReranker, Reranker
from assistant.ui import chat_markdown, model_picker, safe_markdown, source_record
from ingest import (
    AssistantError,
    Chunk,
    IndexStore,
    ScoredChunk,
    Settings,
    display_name,
    ingest,
    open_index,
    printable,
    save_upload,
    setting_origins,
)
from ingest.errors import DocumentError
from ingest.instructions import flagged_counts, instruction_reasons
from ingest.load import SUPPORTED_SUFFIXES
from ingest.manage import collection_names, create_collection, delete_documents
from ingest.types import FileReport

log = logging.getLogger("streamlit_app")

VIEWS = ["Chat", "Library", "Study"]
CUSTOM_MODEL = "custom"


# Loaded once per process, not on every rerun --------------------------------------------------------


@st.cache_resource(show_spinner="Loading the embedding model…")
def services() -> ui.Services:
    built = ui.services_factory(Settings())
    built.embedder.embed_query("warm up")  # load it now, so the first question's evidence is instant
    return built


@st.cache_resource(show_spinner="Loading the chat model (the first time, the default model is assembled)…")
def chat_model(spec: str) -> ChatModel:
    base = services()
    return base.chat_model_factory(base.settings.model_copy(update={"chat_model": spec}))


@st.cache_resource(show_spinner="Loading the reranker…")
def reranker(name: str) -> Reranker:
    return CrossEncoderReranker(name)


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


@st.cache_data(show_spinner=False, max_entries=64)
def page_image(path: str, doc_id: str, page: int) -> bytes | str:  # doc_id keys the cache by content
    """The page as a PNG, drawn in the worker process within its pixel, time and memory caps; or why it could
    not be drawn, cached too, so a hostile page costs the worker its time limit once, not on every rerun."""
    try:
        return render_page(Path(path), page, services().settings)
    except DocumentError as exc:
        return f"Page {page} could not be drawn: {exc.reason}"


def make_assistant(settings: Settings, store: IndexStore) -> Assistant:
    ranker = reranker(settings.reranker_model) if settings.reranker_model else None
    return Assistant(settings, services().embedder, store, lambda: chat_model(settings.chat_model), ranker)


# The sidebar: collection, model, answer settings, what is active -------------------------------------


def sidebar(base: Settings) -> Settings:
    bar = st.sidebar
    if "pending_collection" in st.session_state:  # set by "Create", applied before the widget exists
        st.session_state.collection = st.session_state.pop("pending_collection")
    names = sorted(set(collection_names(base)) | {base.collection})
    if st.session_state.get("collection") not in names:  # first run, or deleted from the command line
        st.session_state.collection = base.collection
    collection = bar.selectbox("Collection", names, key="collection")
    with bar.expander("New collection"):
        name = st.text_input("Name", key="new_collection", placeholder="e.g. biology-notes")
        if st.button("Create collection"):
            try:
                create_collection(base, name.strip())
            except AssistantError as exc:
                st.error(safe_markdown(str(exc)))
            else:
                st.session_state.pending_collection = name.strip()
                st.rerun()

    catalog = available_models(base.model_dir)
    options, configured = model_picker(base.chat_model, catalog)
    choice = bar.selectbox(
        "Chat model",
        [*options, CUSTOM_MODEL],
        index=configured,  # the configured model, wherever it is in the catalog
        key="model_choice",
        format_func=lambda o: "Custom GGUF file…" if o == CUSTOM_MODEL else catalog.get(o, o),
    )
    spec = choice
    if choice == CUSTOM_MODEL:
        spec = bar.text_input("Path to a .gguf file, or hf:REPO/FILE.gguf", key="custom_model").strip()
        spec = spec or base.chat_model
    with bar.expander("Answer settings"):
        top_k = st.slider("Passages retrieved (top-k)", 1, 20, base.top_k)
        temperature = st.slider("Temperature", 0.0, 1.0, float(base.temperature), 0.05)
        length = st.select_slider(
            "Answer length (tokens)",
            options=[128, 256, 384, 512, 768],
            value=min(768, max(128, base.max_answer_tokens)),
        )
    return base.model_copy(
        update={
            "collection": collection,
            "chat_model": spec,
            "top_k": top_k,
            "temperature": temperature,
            "max_answer_tokens": length,
        }
    )


def show_status(settings: Settings, store: IndexStore) -> None:
    documents = store.list_documents()
    commit = store.directory / "commits" / (store.commit_name or "-")
    size = sum(f.stat().st_size for f in commit.glob("*") if f.is_file())
    st.sidebar.caption(
        safe_markdown(
            f"Model: {Path(settings.chat_model).name if settings.chat_model.endswith('.gguf') else settings.chat_model}"
            f"\nEmbedder: {settings.embedding_model}"
            f"\nIndex: {_count(len(documents), 'document')}, {_count(len(store), 'passage')}, "
            f"{_size(size)} ({store.index_kind})"
        )
    )
    origins = setting_origins()
    if origins:
        with st.sidebar.expander("Settings changed from their defaults"):
            st.text("\n".join(origins))


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


# Evidence and source cards ---------------------------------------------------------------------------


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


# The chat ---------------------------------------------------------------------------------------------


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


# The library -------------------------------------------------------------------------------------------


def library_view(settings: Settings, store: IndexStore) -> None:
    st.subheader(f"Library: {safe_markdown(settings.collection)}")
    uploads = st.file_uploader(
        "Add documents",
        accept_multiple_files=True,
        key=f"uploader-{st.session_state.upload_round}",
        type=[s.lstrip(".") for s in sorted(SUPPORTED_SUFFIXES)],
        help="The type is checked from the content, not the name.",
    )
    st.caption(f"PDF, Word, Markdown, HTML or text, up to {settings.max_file_mb:g} MB each.")
    if uploads and st.button("Add to index", type="primary"):
        add_uploads(uploads, settings)
        st.session_state.upload_round += 1
        st.rerun()
    for report in st.session_state.upload_reports:
        show_report(report)
    documents = store.list_documents()
    if not documents:
        st.info("No documents in this collection yet.")
        return
    flagged = flagged_counts(store.chunks)
    st.dataframe(
        [
            {
                "document": d.source,
                "pages": d.pages,
                "chunks": d.chunks,
                "added": d.ingested_at[:16].replace("T", " "),
                "pages without text": len(d.empty_pages),
                "passages addressing the assistant": flagged.get(d.doc_id, 0),
            }
            for d in documents
        ],
        hide_index=True,
    )
    if any(flagged.get(d.doc_id) for d in documents):
        st.caption(
            'Passages addressing the assistant ("ignore previous instructions", "reply only with: …") are '
            "written to an AI, not to a reader, and are kept out of answers."
        )
    if any(flagged.get(d.doc_id, 0) is None for d in documents):
        st.caption("No count: indexed before passages were checked; they are checked when searched.")
    names = {d.doc_id: d.source for d in documents}  # chosen by id: two documents may share a file name
    doomed = st.multiselect("Remove from the index", list(names), format_func=names.__getitem__, key="doomed")
    if doomed and st.button(f"Delete {len(doomed)} document{'s' if len(doomed) > 1 else ''}"):
        try:
            removed = delete_documents(settings, doomed, lock_timeout=30)
        except AssistantError as exc:
            st.error(safe_markdown(str(exc)))
        else:
            st.session_state.upload_reports = [FileReport(d.source, "deleted") for d in removed]
            st.session_state.pop("doomed")
            st.rerun()


def show_report(report: FileReport) -> None:
    text = f"{report.source}: {report.status}"
    if report.status == "indexed":
        text += f", {report.pages} pages, {report.chunks} passages"
    if report.reason:
        text += f" ({report.reason})"
    if report.empty_pages:
        pages = ", ".join(map(str, report.empty_pages[:10])) + ("…" if len(report.empty_pages) > 10 else "")
        text += f"; no text on pages {pages} (scanned or images only: those pages can't be searched)"
    if report.status == "failed":
        st.error(safe_markdown(text))
    elif report.empty_pages:
        st.warning(safe_markdown(text))
    else:
        st.success(safe_markdown(text))


def add_uploads(uploads: list[Any], settings: Settings) -> None:
    """Each file on its own: saved under its content hash, ingested with its own progress, then reported."""
    reports: list[FileReport] = []
    for upload in uploads:
        name = display_name(upload.name)
        with st.status(safe_markdown(name), expanded=True) as status:
            bar = st.progress(0.0, text="Checking…")
            try:
                source = save_upload(
                    upload.getvalue(), upload.name, settings.upload_dir, int(settings.max_file_mb * 1_000_000)
                )

                def progress(stage: str, done: int, total: int, bar: Any = bar) -> None:
                    bar.progress(min(done / max(total, 1), 1.0), text=f"{stage.capitalize()} {done}/{total}")

                report = ingest([source], settings, services().embedder, on_progress=progress, lock_timeout=60)
                file_report = report.files[0]
            except DocumentError as exc:
                file_report = FileReport(exc.source, "failed", reason=exc.reason)
            except AssistantError as exc:
                file_report = FileReport(name, "failed", reason=str(exc))
            bar.empty()
            failed = file_report.status == "failed"
            status.update(label=safe_markdown(f"{name}: {file_report.status}"), state="error" if failed else "complete")
        reports.append(file_report)
    st.session_state.upload_reports = reports


# Study mode --------------------------------------------------------------------------------------------


def study_view(settings: Settings, store: IndexStore) -> None:
    st.subheader("Study")
    documents = store.list_documents()
    if not documents:
        st.info("Add your notes or course material in **Library** first.")
        return
    scopes = {"": f"The whole collection ({len(documents)} documents)"} | {d.doc_id: d.source for d in documents}
    scope = st.selectbox("Material", list(scopes), format_func=lambda k: scopes[k], key="study_scope")
    chunks = [c for c in store.chunks if not scope or c.doc_id == scope]
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


# The page ----------------------------------------------------------------------------------------------


def main() -> None:
    for key, default in {"messages": [], "upload_reports": [], "upload_round": 0}.items():
        st.session_state.setdefault(key, default)
    st.title("Local document assistant")
    st.caption("Answers come only from your documents, with the page they came from. Nothing leaves this machine.")
    base = services().settings
    settings = sidebar(base)
    store = current_store(settings)
    show_status(settings, store)
    if "chat" not in st.session_state:
        st.session_state.chat = ChatSession(make_assistant(settings, store))
    view = st.segmented_control("View", VIEWS, default="Chat", key="view", required=True, label_visibility="collapsed")
    if view == "Library":
        library_view(settings, store)
    elif view == "Study":
        study_view(settings, store)
    else:
        chat_view(settings, store)


def run() -> None:
    st.set_page_config(page_title="Local document assistant", layout="wide")
    try:
        main()
    except AssistantError as exc:
        st.error(safe_markdown(str(exc)))
    except Exception as exc:  # the app's outermost edge: show a plain message, never a traceback
        log.exception("Unexpected error")
        st.error(safe_markdown(f"Something went wrong: {type(exc).__name__}: {exc}. Details are in the app's log."))


if __name__ == "__main__":  # Streamlit runs the page as __main__ for each session (and AppTest does too)
    run()
else:  # `streamlit run` imports this file to find the app it serves: this page, behind the Host/Origin check
    for line in setting_origins():  # said once, at start-up, in the terminal that started the app
        print(f"settings: {printable(line)}", file=sys.stderr)
    app = st.App(__file__, middleware=hostcheck.middleware(Settings().allowed_hosts))
