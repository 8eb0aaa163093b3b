"""The chat: retrieve, build the prompt, stream the answer, and keep the conversation's history."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field

from ingest import Collection as Snapshot
from ingest import Embedder, ScoredChunk, Settings, embedder_for, open_index, with_collection_embedder

from .citations import check_citations
from .generate import ChatModel, Message, load_chat_model
from .modes import (
    COMPUTE_INSTRUCTION,
    COMPUTE_PROMPT,
    EXPLAIN_PROMPT,
    QUOTE_INSTRUCTION,
    QUOTE_PROMPT,
    Answer,
    computed,
    quoted,
)
from .prompt import (
    NOT_FOUND,
    SYSTEM_PROMPT,
    Prompt,
    build_messages,
    cited_numbers,
    is_refusal,
    needs_context,
    parse_rewrite,
    rewrite_messages,
)
from .retrieve import CrossEncoderReranker, Reranker, Retrieval, retrieve
from .route import route

log = logging.getLogger(__name__)


@dataclass
class Reply:
    """One answer. `sources` are known before any token is generated; `stream()` then yields the answer."""

    question: str
    retrieval: Retrieval
    sources: list[ScoredChunk]
    _tokens: Iterator[str] | None = None
    text: str = ""
    finished: bool = False
    stopped: bool = False
    mode: str = "free"
    """How the answer was written: `quote`, `compute`, `free` text (see `route`), or `gate` (no relevant source)."""
    detail: Answer | None = None
    """For a quote or a calculation: the span or the formula behind the text (for highlighting and the eval)."""
    _on_finish: list[Callable[[Reply], None]] = field(default_factory=list)

    def stream(self) -> Iterator[str]:
        """Yield the answer piece by piece (once); the whole text is in `.text` afterwards."""
        if self._tokens is None:
            if not self.finished:
                self.text = NOT_FOUND
                self._finish()
                yield self.text
            return
        tokens, self._tokens = self._tokens, None
        try:
            for piece in tokens:
                self.text += piece
                yield piece
        except GeneratorExit:
            self.stopped = True
            raise
        finally:
            close = getattr(tokens, "close", None)
            if close is not None:
                close()
            self._finish()

    def consume(self) -> str:
        for _ in self.stream():
            pass
        return self.text

    @property
    def refused(self) -> bool:
        return not self.sources or is_refusal(self.text) or bool(self.detail and self.detail.declined)

    @property
    def cited(self) -> list[tuple[int, ScoredChunk]]:
        """(number, source) for each source the answer cites, in order of first citation."""
        return [(n, self.sources[n - 1]) for n in cited_numbers(self.text, len(self.sources))]

    def _finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.text = self.text.strip()
            for callback in self._on_finish:
                callback(self)


class Assistant:
    """Answers questions from one collection. The chat model is loaded on first use."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: Snapshot,
        chat_model: ChatModel | Callable[[], ChatModel],
        reranker: Reranker | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.reranker = reranker
        self._chat_model = chat_model

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        """The real thing: sentence-transformers embedder, the collection on disk, the chat model the settings choose
        (llama.cpp or an OpenAI-compatible server; loaded lazily). An existing collection is searched with the
        embedder it was built with (`with_collection_embedder`)."""
        settings = with_collection_embedder(settings)
        embedder = embedder_for(settings)
        store = open_index(settings, embedder)
        reranker = CrossEncoderReranker(settings.reranker_model) if settings.reranker_model else None
        return cls(settings, embedder, store, lambda: load_chat_model(settings), reranker)

    @property
    def chat_model(self) -> ChatModel:
        if not isinstance(self._chat_model, ChatModel):
            self._chat_model = self._chat_model()
        return self._chat_model

    def search(self, query: str, *, sources: Collection[str] | None = None, question: str = "") -> Retrieval:
        """Retrieve from the newest committed snapshot of the index, from the documents in `sources` if given."""
        self.store = self.store.reload_if_stale()
        return retrieve(
            query, self.store, self.embedder, self.settings, sources=sources, reranker=self.reranker, question=question
        )

    def ask(
        self, question: str, history: list[Message] | None = None, *, sources: Collection[str] | None = None
    ) -> Reply:
        """Retrieve at once; generation starts when the reply is streamed. No relevant chunk: no model call."""
        return self.answer(question, self.search(question, sources=sources), history)

    def standalone(self, question: str, history: list[Message]) -> str:
        """A follow-up question rewritten with the conversation so it can be searched on its own."""
        if not history or not self.settings.rewrite_followups or not needs_context(question):
            return question
        model = self.chat_model
        text = "".join(model.stream(rewrite_messages(question, history), max_tokens=64, temperature=0.0))
        rewritten = parse_rewrite(text, question, history)
        log.info("Follow-up %r searched as %r", question, rewritten)
        return rewritten

    def answer(self, question: str, retrieval: Retrieval, history: list[Message] | None = None) -> Reply:
        """The reply to `question` from chunks already retrieved (so a UI can show them before the model loads)."""
        if not retrieval.found:
            log.info("No chunk above min_score %.2f for %r", self.settings.min_score, question)
            return Reply(question, retrieval, [], mode="gate")
        model = self.chat_model
        mode = {"auto": route(question), "quote": "quote", "free": "free"}[self.settings.answer_mode]
        if mode in ("quote", "compute"):
            reply = self._moded(mode, question, retrieval, history, model)
            if reply is not None:
                return reply
        prompt = self._prompt(model, question, retrieval, history, "explain" if mode == "explain" else "")
        tokens = model.stream(
            prompt.messages, max_tokens=self.settings.max_answer_tokens, temperature=self.settings.temperature
        )
        reply = Reply(question, retrieval, prompt.sources, tokens)
        reply._on_finish.insert(0, lambda r: _check_citations(r, prompt.texts))
        return reply

    def _prompt(
        self, model: ChatModel, question: str, retrieval: Retrieval, history: list[Message] | None, mode: str = ""
    ) -> Prompt:
        """The prompt for `mode`: a quote or a calculation reads the hits themselves (short, so prompt evaluation
        stays quick); free text ("" is the plain prompt, `explain` adds answering in the question's language)
        reads each hit grown to its page around it (section-level context)."""
        system, instruction = {
            "quote": (QUOTE_PROMPT, QUOTE_INSTRUCTION),
            "compute": (COMPUTE_PROMPT, COMPUTE_INSTRUCTION),
            "explain": (EXPLAIN_PROMPT, "Answer from the sources above and cite them like [1]."),
        }.get(mode, (SYSTEM_PROMPT, "Answer from the sources above and cite them like [1]."))
        free = mode in ("", "explain")
        return build_messages(
            question,
            retrieval.hits,
            count_tokens=model.count_tokens,
            context_size=model.context_size,
            max_answer_tokens=self.settings.max_answer_tokens,
            history=history if free else None,
            pages=retrieval.pages if free else None,
            system=system,
            instruction=instruction,
        )

    def _moded(
        self, mode: str, question: str, retrieval: Retrieval, history: list[Message] | None, model: ChatModel
    ) -> Reply | None:
        """A reply whose answer is a quote or a calculation, worked out when it is streamed. A calculation that
        does not check out gives way to a quote; a model that cannot quote (a remote server), to free text."""
        if mode == "quote" and not model.can_quote:
            return None
        prompt = self._prompt(model, question, retrieval, history, mode)
        reply = Reply(question, retrieval, prompt.sources, mode=mode)

        def work() -> Iterator[str]:
            answer = None
            if mode == "compute":
                answer = computed(model, prompt, self.settings, question)
                if not answer.text:
                    answer = None
            if answer is None and model.can_quote:
                quote_prompt = prompt if mode == "quote" else self._prompt(model, question, retrieval, history, "quote")
                answer = quoted(model, quote_prompt, self.settings, question)
            if answer is None:  # a remote model's calculation failed: free text after all
                free = self._prompt(model, question, retrieval, history)
                yield from model.stream(
                    free.messages, max_tokens=self.settings.max_answer_tokens, temperature=self.settings.temperature
                )
                return
            reply.mode, reply.detail = answer.mode, answer
            yield answer.text

        reply._tokens = work()
        return reply


class ChatSession:
    """A conversation: each finished reply becomes history for the next question.

    `assistant` may be swapped between questions (the app does, when settings change); the history stays.
    """

    def __init__(self, assistant: Assistant, max_turns: int = 3) -> None:
        self.assistant = assistant
        self.max_turns = max_turns
        self.history: list[Message] = []

    def ask(self, question: str, *, sources: Collection[str] | None = None) -> Reply:
        return self.answer(question, self.search(question, sources=sources))

    def search(self, question: str, *, sources: Collection[str] | None = None) -> Retrieval:
        """Retrieve for a question; a follow-up is first rewritten into a standalone query (see `.query`)."""
        query = self.assistant.standalone(question, self.history[-2 * self.max_turns :])
        return self.assistant.search(query, sources=sources, question=question if query != question else "")

    def answer(self, question: str, retrieval: Retrieval) -> Reply:
        reply = self.assistant.answer(question, retrieval, history=self.history[-2 * self.max_turns :])
        reply._on_finish.append(self._remember)
        return reply

    def reset(self) -> None:
        self.history.clear()

    def _remember(self, reply: Reply) -> None:
        self.history += [
            {"role": "user", "content": reply.question},
            {"role": "assistant", "content": reply.text},
        ]


def _check_citations(reply: Reply, texts: list[str]) -> None:
    """A free-text answer keeps only the citations whose source states what the sentence says."""
    if reply.text and not reply.stopped:
        reply.text = check_citations(reply.text, texts)
