"""Streamlit-free logic behind the app: the services it runs on, and text made safe to render."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest import Embedder, ScoredChunk, SentenceTransformerEmbedder, Settings, quiet_third_party_output

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


# What the app keeps of a conversation (plain dicts, so session state holds no live objects) -------------


def source_record(number: int, hit: ScoredChunk, *, cited: bool = False) -> dict[str, Any]:
    """One numbered source of an answer, as the app stores and shows it."""
    chunk = hit.chunk
    return {
        "number": number,
        "citation": hit.citation(),
        "score": float(hit.score),
        "text": chunk.text,
        "cited": cited,
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "page": chunk.page,
    }


def chat_markdown(messages: list[dict[str, Any]], title: str = "Conversation") -> str:
    """The conversation as a Markdown file: each question, its answer, and the passages it cites.

    Everything from documents or the model is escaped, so opening the file in any Markdown viewer shows it
    literally and fetches nothing.
    """
    lines = [f"# {title}", ""]
    for message in messages:
        if message["role"] == "user":
            lines += [f"## {safe_markdown(message['content'])}", ""]
            continue
        if message.get("query"):
            lines += [f"*Searched for: {safe_markdown(message['query'])}*", ""]
        lines += [safe_markdown(message["content"]), ""]
        sources = [s for s in message.get("sources", []) if s.get("cited")] or message.get("sources", [])
        if sources:
            lines += ["Sources:", ""]
            for source in sources:
                lines.append(f"- \\[{source['number']}\\] {safe_markdown(source['citation'])}")
                quote = " ".join(str(source["text"]).split())
                lines.append(f"  > {safe_markdown(quote)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
