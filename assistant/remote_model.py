"""Any OpenAI-compatible model server as the chat model: llama.cpp's server, vLLM, Ollama or a hosted one."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from typing import Any

import httpx

from ingest import ModelError, Settings

from .generate import ChatModel, Message

log = logging.getLogger(__name__)

#: Where servers say how long a context their model takes, in `/v1/models` entries (vLLM, LM Studio,
#: llama.cpp's server) and in llama.cpp's `/props`.
_CONTEXT_FIELDS = ("max_model_len", "context_length", "context_window", "n_ctx")


class OpenAICompatibleChatModel(ChatModel):
    """Streams answers from `POST {chat_server_url}/chat/completions`.

    Tokens are not counted on the server (a round trip per source would cost more than the answer): a piece
    of text is taken to cost one token per 3 bytes of UTF-8, more than any common tokenizer spends on English
    (about 4 characters a token) and about one per character of Chinese or Japanese, so the prompt always fits.
    The context size is asked of the server (`/models`, then llama.cpp's `/props`); else `context_size`.
    """

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        if not settings.chat_server_url:
            raise ModelError(
                "chat_backend is `openai` but no server is set: give its URL with DOCQA_CHAT_SERVER_URL "
                "(e.g. http://127.0.0.1:8080/v1)."
            )
        self.base_url = settings.chat_server_url.rstrip("/")
        headers = {"Authorization": f"Bearer {settings.chat_server_key}"} if settings.chat_server_key else {}
        timeout = httpx.Timeout(settings.chat_server_timeout_s, connect=min(10.0, settings.chat_server_timeout_s))
        self._client = client or httpx.Client(headers=headers, timeout=timeout)
        self._timeout = settings.chat_server_timeout_s
        self._seed = settings.seed
        listed = self._list_models()
        self.model = settings.chat_server_model or (listed[0]["id"] if listed else "")
        if not self.model:
            raise ModelError(
                f"The model server at {self.base_url} lists no model: name one with DOCQA_CHAT_SERVER_MODEL."
            )
        self.name = f"{self.model} at {self.base_url}"
        self.context_size = self._context_size(listed) or settings.context_size

    # The interface ---------------------------------------------------------------------------------

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float) -> Iterator[str]:
        body = {
            "model": self.model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": self._seed,
            "stream": True,
        }
        try:
            with self._client.stream("POST", f"{self.base_url}/chat/completions", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    raise ModelError(f"The model server at {self.base_url} answered {_describe(response)}.")
                yield from self._pieces(response)
        except httpx.TimeoutException as exc:
            raise ModelError(
                f"The model server at {self.base_url} sent nothing for {self._timeout:g} s; is it overloaded? "
                "(DOCQA_CHAT_SERVER_TIMEOUT_S sets how long to wait.)"
            ) from exc
        except httpx.HTTPError as exc:
            raise ModelError(f"The model server at {self.base_url} cannot be reached ({exc}). Is it running?") from exc

    def count_tokens(self, text: str) -> int:
        return math.ceil(len(text.encode("utf-8")) / 3)

    # Talking to the server -------------------------------------------------------------------------

    def _pieces(self, response: httpx.Response) -> Iterator[str]:
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue  # SSE comments, event names and keep-alives
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except json.JSONDecodeError as exc:
                raise ModelError(
                    f"The model server at {self.base_url} sent a reply that is not JSON: {data[:80]!r}"
                ) from exc
            if "error" in event:
                raise ModelError(f"The model server at {self.base_url} failed: {_error_text(event['error'])}")
            try:
                choice = event["choices"][0] if event["choices"] else {}
                text = (choice.get("delta") or {}).get("content")
            except (KeyError, TypeError, AttributeError) as exc:
                raise ModelError(
                    f"The model server at {self.base_url} sent an unexpected reply: {data[:80]!r}"
                ) from exc
            if text:
                yield text

    def _list_models(self) -> list[dict[str, Any]]:
        try:
            response = self._client.get(f"{self.base_url}/models")
        except httpx.HTTPError as exc:
            raise ModelError(f"The model server at {self.base_url} cannot be reached ({exc}). Is it running?") from exc
        if response.status_code != 200:
            raise ModelError(f"The model server at {self.base_url} answered {_describe(response)} to /models.")
        try:
            data = response.json().get("data") or []
        except (ValueError, AttributeError) as exc:
            raise ModelError(f"{self.base_url}/models is not an OpenAI-compatible model list.") from exc
        return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]

    def _context_size(self, listed: list[dict[str, Any]]) -> int | None:
        entry = next((m for m in listed if m["id"] == self.model), {})
        for source in (entry, entry.get("meta") or {}):
            for field in _CONTEXT_FIELDS:
                if isinstance(source.get(field), int) and source[field] > 0:
                    return int(source[field])
        root = self.base_url.removesuffix("/v1")
        try:
            props = self._client.get(f"{root}/props", timeout=5.0)
            settings = props.json().get("default_generation_settings", {}) if props.status_code == 200 else {}
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
        return n_ctx if isinstance(n_ctx, int) and n_ctx > 0 else None

    def close(self) -> None:
        self._client.close()


def _describe(response: httpx.Response) -> str:
    try:
        detail = _error_text(response.json().get("error", response.json()))
    except (ValueError, AttributeError):
        detail = response.text[:200]
    return f"HTTP {response.status_code}" + (f": {detail}" if detail else "")


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)[:300]
    return str(error)[:300]
