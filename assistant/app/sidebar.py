"""The sidebar: collection, chat model, answer settings, and what is active."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from assistant.model_files import available_models
from assistant.ui import model_picker, safe_markdown
from ingest import (
    AssistantError,
    IndexStore,
    Settings,
    setting_origins,
)
from ingest.manage import collection_names, create_collection

VIEWS = ["Chat", "Library", "Study"]
CUSTOM_MODEL = "custom"


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
