"""The sidebar: collection, chat model, answer settings, and what is active."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from assistant.model_catalog import RECOMMENDED_MODELS
from assistant.model_download import fetch_model
from assistant.model_files import available_models
from assistant.ui import download_progress, gguf_problem, model_label, model_picker, recommended_rows, safe_markdown
from ingest import (
    AssistantError,
    Collection,
    Settings,
    setting_origins,
)
from ingest.manage import collection_names, create_collection
from ingest.names import COLLECTION_RULE

VIEWS = ["Chat", "Library", "Study"]
CUSTOM_MODEL = "custom"
SERVER_MODEL = "server"  # any OpenAI-compatible model server, by URL


def sidebar(base: Settings) -> tuple[Settings, Any]:
    """The settings chosen in the sidebar, and the place in it for the list of chats."""
    bar = st.sidebar
    if "pending_collection" in st.session_state:  # set by "Create", applied before the widget exists
        st.session_state.collection = st.session_state.pop("pending_collection")
    names = sorted(set(collection_names(base)) | {base.collection})
    if st.session_state.get("collection") not in names:  # first run, or deleted from the command line
        st.session_state.collection = base.collection
    collection = bar.selectbox("Collection", names, key="collection")
    with bar.expander("New collection"):
        name = st.text_input("Name", key="new_collection", placeholder="e.g. biology notes", help=f"{COLLECTION_RULE}.")
        if st.button("Create collection"):
            try:
                create_collection(base, name.strip())
            except AssistantError as exc:
                st.error(safe_markdown(str(exc)))
            else:
                st.session_state.pending_collection = name.strip()
                st.rerun()
    chat_list_place = bar.container()  # the collection's saved chats, filled once the chat is known

    catalog = available_models(base.model_dir)
    options, configured = model_picker(base.chat_model, catalog)
    downloaded = st.session_state.pop("pending_model", None)  # just downloaded: picked before the widget exists
    if downloaded in options:
        st.session_state.model_choice = downloaded
    choice = bar.selectbox(
        "Chat model",
        [*options, SERVER_MODEL, CUSTOM_MODEL],
        # the configured model; 0 when the state holds the choice, as a default beside it makes Streamlit warn
        index=0 if downloaded in options else len(options) if base.chat_backend == "openai" else configured,
        key="model_choice",
        format_func=lambda o: {CUSTOM_MODEL: "Custom GGUF file…", SERVER_MODEL: "Model server (OpenAI API)…"}.get(
            o, model_label(o, catalog)
        ),
        help="Smaller models answer sooner; larger ones follow the sources more closely.",
    )
    spec = choice
    if choice == CUSTOM_MODEL:
        spec = bar.text_input("Path to a .gguf file, or hf:REPO/FILE.gguf", key="custom_model").strip()
        if spec and (problem := gguf_problem(spec)):  # checked when chosen, not at the first question
            bar.error(safe_markdown(problem))
        spec = spec or base.chat_model
    elif choice == SERVER_MODEL:
        url = bar.text_input(
            "Server URL", base.chat_server_url, key="server_url", placeholder="http://127.0.0.1:8080/v1"
        )
        spec = f"server:{url.strip()}" if url.strip() else base.chat_model
    elif choice in catalog:
        bar.caption(safe_markdown(catalog[choice]))
    with bar.expander("Recommended models"):
        _recommended_models(base.model_dir)
    with bar.expander("Answer settings"):
        top_k = st.slider(
            "Passages retrieved (top-k)", 1, 20, base.top_k,
            help="How many passages are found and given to the model. More can help broad questions; each one "
            "slows the answer.",
        )  # fmt: skip
        temperature = st.slider(
            "Temperature", 0.0, 1.0, float(base.temperature), 0.05,
            help="How freely the model words its answer. Keep it low for answers that stick to the sources.",
        )  # fmt: skip
        length = st.select_slider(
            "Answer length (tokens)",
            options=[128, 256, 384, 512, 768],
            value=min(768, max(128, base.max_answer_tokens)),
            help="The longest answer, in the model's word pieces (about ¾ of a word each).",
        )
    return base.model_copy(
        update={
            "collection": collection,
            "chat_model": spec,
            "top_k": top_k,
            "temperature": temperature,
            "max_answer_tokens": length,
        }
    ), chat_list_place


def _recommended_models(model_dir: Path) -> None:
    """Each recommended model with its size, license and hash, and a Download button for one not yet here."""
    st.caption("Stronger chat models for a computer with the memory for them, downloaded once from the hub.")
    for row in recommended_rows(model_dir):
        st.caption(safe_markdown(row["title"]) + "  \n" + safe_markdown(f"{row['details']}\n{row['state']}"))
        if not row["can_download"]:
            continue
        expected = ""
        if row["needs_hash"]:
            expected = st.text_input(
                "SHA-256 from the model's page", key=f"sha256-{row['name']}", placeholder="optional, to verify it"
            )
        if st.button("Download", key=f"download-{row['name']}"):
            _download(row, model_dir, expected.strip() or None)


def _download(row: dict[str, Any], model_dir: Path, expected_sha256: str | None) -> None:
    """Download one recommended model with a progress bar, then pick it; an error is a message."""
    place = st.empty()
    progress = place.progress(0.0, text=f"Downloading {row['title']}…")
    shown = -1

    def show(done: int, total: int) -> None:
        nonlocal shown
        fraction, text = download_progress(done, total)
        step = int(fraction * 100) if total else done >> 26  # a redraw per percent, or per 64 MB
        if step != shown:
            shown = step
            progress.progress(fraction, text=text)

    try:
        fetch_model(RECOMMENDED_MODELS[row["name"]], model_dir, expected_sha256, show)
    except AssistantError as exc:
        place.empty()
        st.error(safe_markdown(str(exc)))
    else:
        st.session_state.pending_model = row["spec"]
        st.rerun()


def show_status(settings: Settings, store: Collection) -> None:
    documents = store.list_documents()
    size = store.storage_bytes()
    st.sidebar.caption(
        safe_markdown(
            f"Model: {model_label(settings.chat_model, available_models(settings.model_dir))}"
            f"\nEmbedder: {store.config.embedding_model}"  # the collection's own (`with_collection_embedder`)
            f"\nIndex: {_count(len(documents), 'document')}, {_count(len(store), 'passage')}, "
            f"{_size(size) + ' ' if size is not None else ''}({store.index_kind})"
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
