"""Generation: the ChatModel interface and its llama.cpp implementation (GGUF chat template, streamed, serialized)."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

from ingest import ModelError, Settings

log = logging.getLogger(__name__)


class Message(TypedDict):
    role: str
    content: str


class ChatModel(ABC):
    """A chat model that streams its reply token by token."""

    name: str
    context_size: int

    @abstractmethod
    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float) -> Iterator[str]:
        """Yield the reply's text piece by piece; closing the iterator stops generation."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes in this model's vocabulary."""


class LlamaChatModel(ChatModel):
    """A GGUF model run by llama.cpp on the CPU, prompted with the chat template stored in the GGUF.

    A llama.cpp context is not thread-safe, so one lock serializes generation: a second caller waits its
    turn instead of corrupting the first one's state.
    """

    def __init__(self, path: Path, settings: Settings) -> None:
        from llama_cpp import Llama

        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=settings.context_size,
                n_threads=settings.threads,
                seed=settings.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp cannot load {path} ({exc}). Is it a complete GGUF chat model?") from exc
        self.name = path.name
        self.context_size = settings.context_size
        self._seed = settings.seed
        self._lock = threading.Lock()

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float) -> Iterator[str]:
        with self._lock:
            completion = self._llm.create_chat_completion(
                messages=list(messages),  # type: ignore[arg-type]
                stream=True,
                max_tokens=max_tokens,
                temperature=temperature,
                seed=self._seed,
            )
            try:
                for part in completion:
                    text = part["choices"][0]["delta"].get("content")  # type: ignore[index]
                    if text:
                        yield text
            finally:
                close = getattr(completion, "close", None)
                if close is not None:
                    close()

    @property
    def busy(self) -> bool:
        """True while another question is being answered; a new one waits its turn."""
        return self._lock.locked()

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def load_chat_model(settings: Settings) -> ChatModel:
    """The chat model the settings choose: llama.cpp in this process, or an OpenAI-compatible server by URL."""
    if settings.chat_model.startswith("server:"):  # how the app's model picker names a model server
        url = settings.chat_model.removeprefix("server:")
        settings = settings.model_copy(update={"chat_backend": "openai", "chat_server_url": url})
    if settings.chat_backend == "openai":
        from .remote_model import OpenAICompatibleChatModel

        return OpenAICompatibleChatModel(settings)
    from .model_files import resolve_chat_model

    return LlamaChatModel(resolve_chat_model(settings), settings)
