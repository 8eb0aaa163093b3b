"""The sidebar: collection, chat model, answer settings, and what is active."""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant.model_files import available_models
from assistant.ui import gguf_problem, model_label, model_picker, safe_markdown
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
    choice = bar.selectbox(
        "Chat model",
        [*options, SERVER_MODEL, CUSTOM_MODEL],
        index=len(options) if base.chat_backend == "openai" else configured,  # the configured model
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


def show_status(settings: Settings, store: Collection) -> None:
    documents = store.list_documents()
    size = store.storage_bytes()
    st.sidebar.caption(
        safe_markdown(
            f"Model: {model_label(settings.chat_model, available_models(settings.model_dir))}"
            f"\nEmbedder: {settings.embedding_model}"
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
