"""OpenAI-compatible routes: `GET /v1/models` lists collections as `docs:NAME`, and `POST /v1/chat/completions`
answers from one, streamed (SSE) or not, with inline `[n]` citations and the sources in an extra `sources` field.

In a stream the sources come first, in a chunk of their own, before the question waits for the model.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ingest import AssistantError, IndexStoreError

from ..chat import Assistant, Reply
from ..generate import Message
from ..prompt import needs_context
from .auth import KeyDep, check_read, service_of
from .queue import FairQueue, QueueFull
from .service import Service, source_json

router = APIRouter(tags=["OpenAI-compatible"])
PREFIX = "docs:"
_END = object()


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(description="`docs:NAME`: the collection to answer from.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    stop: str | list[str] | None = None


def collection_of(model: str) -> str:
    if not model.startswith(PREFIX) or not model[len(PREFIX) :]:
        raise HTTPException(404, f"Unknown model {model!r}: ask for `docs:COLLECTION` (GET /v1/models lists them).")
    return model[len(PREFIX) :]


def split_conversation(messages: list[ChatMessage]) -> tuple[str, list[Message]]:
    """The last user message, and the user/assistant turns before it (client system prompts are not used:
    the answer follows the assistant's own grounded prompt)."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
        raise HTTPException(400, "The last message must be the user's question.")
    history: list[Message] = [{"role": m.role, "content": m.text()} for m in turns[:-1]]
    return turns[-1].text().strip(), history[-6:]


class Answering:
    """One chat completion: search at once, then wait a fair turn at the model and stream the reply."""

    def __init__(self, service: Service, key_id: str, collection: str, body: ChatRequest) -> None:
        self.service, self.key_id, self.collection, self.body = service, key_id, collection, body
        self.question, self.history = split_conversation(body.messages)
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        limit = body.max_completion_tokens or body.max_tokens or service.settings.max_answer_tokens
        overrides: dict[str, object] = {"max_answer_tokens": min(limit, service.settings.max_answer_tokens)}
        if body.temperature is not None:
            overrides["temperature"] = body.temperature
        self.overrides = overrides
        stops = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
        self.stops = [s for s in stops if s][:4]
        self.assistant: Assistant | None = None
        self.reply: Reply | None = None

    async def retrieve(self) -> list[dict[str, Any]]:
        """Search (rewriting a follow-up with the model first, in a turn of its own); the sources found."""
        try:
            self.assistant = await run_in_threadpool(self.service.assistant, self.collection, **self.overrides)
        except IndexStoreError as exc:
            raise HTTPException(404, str(exc)) from exc
        query = self.question
        settings = self.assistant.settings
        if self.history and settings.rewrite_followups and needs_context(self.question):
            async with self.service.queue.turn(self.key_id):
                query = await self._in_model_thread(self.assistant.standalone, self.question, self.history)
        hint = self.question if query != self.question else ""
        retrieval = await run_in_threadpool(self.assistant.search, query, question=hint)
        self.reply = self.assistant.answer(self.question, retrieval, self.history) if not retrieval.found else None
        self.retrieval = retrieval
        return [source_json(n, hit) for n, hit in enumerate(retrieval.hits, start=1)]

    async def pieces(self) -> AsyncIterator[str]:
        """The answer's text, piece by piece, generated in a fair turn (no turn at all when nothing was found)."""
        assert self.assistant is not None
        if self.reply is not None:  # nothing relevant: the refusal, without the model
            for piece in self.reply.stream():
                yield piece
            return
        queue: FairQueue = self.service.queue
        async with queue.turn(self.key_id):
            self.reply = await self._in_model_thread(self.assistant.answer, self.question, self.retrieval, self.history)
            stops = StopFilter(self.stops)
            iterator: Iterator[str] = self.reply.stream()
            pending = None
            try:
                while True:
                    pending = queue.executor.submit(next, iterator, _END)
                    piece = await asyncio.wrap_future(pending)
                    if piece is _END:
                        break
                    text, stopped = stops.feed(piece)
                    if text:
                        yield text
                    if stopped:
                        break
                if not stops.stopped and (rest := stops.flush()):
                    yield rest
            finally:
                queue.executor.submit(_close_after, pending, iterator)

    async def _in_model_thread(self, function: Any, *args: Any) -> Any:
        return await asyncio.wrap_future(self.service.queue.executor.submit(function, *args))

    def sources(self) -> list[dict[str, Any]]:
        cited = {n for n, _ in self.reply.cited} if self.reply is not None else set()
        hits = self.reply.sources if self.reply is not None and self.reply.sources else self.retrieval.hits
        return [source_json(n, hit, n in cited) for n, hit in enumerate(hits, start=1)]

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                   "model": self.body.model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                   **extra}  # fmt: skip
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _close_after(pending: Any, iterator: Iterator[str]) -> None:
    """Stop the generation (after its current token): closing the reply's stream ends the model's."""
    if pending is not None:
        pending.exception()  # waits for the token being made; a failure was already reported
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


async def _stream(answering: Answering, sources: list[dict[str, Any]]) -> AsyncIterator[str]:
    yield answering.chunk({"role": "assistant", "content": ""}, sources=sources)
    try:
        async for text in answering.pieces():
            yield answering.chunk({"content": text})
        yield answering.chunk({}, "stop", sources=answering.sources())
    except (AssistantError, QueueFull) as exc:
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'server_error'}})}\n\n"
    yield "data: [DONE]\n\n"


class StopFilter:
    """Cuts the answer at the first of the request's `stop` strings, holding back a tail that may begin one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops, self.held, self.stopped = stops, "", False

    def feed(self, piece: str) -> tuple[str, bool]:
        if not self.stops:
            return piece, False
        text = self.held + piece
        cuts = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if cuts:
            self.held, self.stopped = "", True
            return text[: min(cuts)], True
        keep = max(len(s) for s in self.stops) - 1
        self.held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep] if keep else text, False

    def flush(self) -> str:
        held, self.held = self.held, ""
        return held


@router.get("/v1/models", summary="The collections this key may ask, as models named `docs:NAME`")
def list_models(request: Request, key: KeyDep) -> dict[str, Any]:
    names = [n for n in service_of(request).store.collection_names() if key.can_read(n)]
    models = [{"id": PREFIX + n, "object": "model", "created": 0, "owned_by": "docqa"} for n in names]
    return {"object": "list", "data": models}


@router.post("/v1/chat/completions", summary="Answer the last user message from a collection, with citations")
async def chat_completions(body: ChatRequest, request: Request, key: KeyDep) -> Any:
    """`model` names the collection (`docs:NAME`). The answer cites its sources as `[n]`; `sources` lists
    them (file, page, passage, score, and whether the answer cites each). Streamed, the first chunk carries
    the sources, before generation starts, and the last one carries them again with `cited` filled in."""
    collection = check_read(key, collection_of(body.model))
    answering = Answering(service_of(request), key.id, collection, body)
    sources = await answering.retrieve()
    if body.stream:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(_stream(answering, sources), media_type="text/event-stream", headers=headers)
    try:
        text = "".join([piece async for piece in answering.pieces()]).strip()
    except QueueFull as exc:
        raise HTTPException(503, str(exc)) from exc
    except AssistantError as exc:
        return JSONResponse({"error": {"message": str(exc), "type": "server_error"}}, status_code=502)
    return {
        "id": answering.id,
        "object": "chat.completion",
        "created": answering.created,
        "model": body.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "sources": answering.sources(),
    }
