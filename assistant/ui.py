"""Streamlit-free logic behind the app: the services it runs on, and text made safe to render."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest import Embedder, SentenceTransformerEmbedder, Settings, quiet_third_party_output

from .generate import ChatModel, LlamaChatModel
from .model_files import resolve_chat_model


@dataclass
class Services:
    """What the app needs, built once per process: the embedder and a way to get the chat model."""

    settings: Settings
    embedder: Embedder
    chat_model_factory: Callable[[Settings], ChatModel]


def real_services(settings: Settings) -> Services:
    quiet_third_party_output()
    return Services(settings, SentenceTransformerEmbedder(settings), real_chat_model)


def real_chat_model(settings: Settings) -> ChatModel:
    return LlamaChatModel(resolve_chat_model(settings), settings)


#: The app builds its services with this; tests replace it with one that returns fakes.
services_factory: Callable[[Settings], Services] = real_services

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$])")
_URL = re.compile(r"(?i)\b(https?|ftp|file|data|javascript)(:)|\bwww\.")


def safe_markdown(text: str) -> str:
    """Text from documents or the model, escaped so Markdown shows it literally.

    No link, image, HTML tag or autolinked URL survives: a document cannot make the app fetch a remote image
    or show a link that leaves the machine. Line breaks are kept.
    """
    text = _URL.sub(lambda m: (m.group(1) + "\u200b:") if m.group(1) else "www\u200b.", text)
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\n", "  \n")
