"""Generation: the ChatModel interface and its llama.cpp implementation (GGUF chat template, streamed, serialized)."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from ingest import ModelError, Settings

from .quote import Quote, SpanConstraint, Vocabulary, decode

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

    can_quote: bool = False
    """Whether `quote` can constrain this model's tokens (llama.cpp in process can; a remote server cannot)."""

    def quote(self, messages: list[Message], texts: list[str], *, max_tokens: int, question: str = "") -> Quote | None:
        """The answer as a verbatim span of one of `texts` (or the refusal), the model choosing only where it
        starts and stops (`quote.decode`; a span of only the `question`'s words is not taken). None when this
        model's tokens cannot be constrained (a remote server)."""
        return None


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
        self.can_quote = True
        self._vocab: Vocabulary | None = None
        self._formatter: Any = None

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

    def quote(self, messages: list[Message], texts: list[str], *, max_tokens: int, question: str = "") -> Quote | None:
        with self._lock:
            constraint = SpanConstraint(texts, self._vocabulary(), max_tokens=max_tokens, question=question)
            prompt = self._chat_tokens(messages)
            return decode(constraint, lambda tokens: self._feed(tokens or prompt, first=not tokens))

    def _feed(self, tokens: list[int], *, first: bool) -> np.ndarray:
        """Evaluate `tokens` (the prompt, reusing the cached prefix it shares with the last one) and return the
        next token's logits."""
        llm = self._llm
        if first:
            cached = llm.input_ids[: llm.n_tokens]
            same = 0
            for old, new in zip(cached, tokens, strict=False):
                if old != new:
                    break
                same += 1
            llm.n_tokens = min(same, len(tokens) - 1)
            tokens = tokens[llm.n_tokens :]
        llm.eval(tokens)
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()

    def _chat_tokens(self, messages: list[Message]) -> list[int]:
        """The prompt as the model's chat template lays it out, ready for the assistant's reply, as tokens."""
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llm = self._llm
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelError(f"{self.name} has no chat template; quote mode needs one.")
            eos, bos = llm.token_eos(), llm.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
            )
        text = self._formatter(messages=list(messages)).prompt
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _vocabulary(self) -> Vocabulary:
        if self._vocab is None:
            llm = self._llm
            pieces = [llm.detokenize([token], special=False) for token in range(llm.n_vocab())]
            stops = {llm.token_eos()}
            for marker in ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>"):
                found = llm.tokenize(marker.encode(), add_bos=False, special=True)
                if len(found) == 1:
                    stops.add(found[0])
            self._vocab = Vocabulary(pieces, stops)
        return self._vocab

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
