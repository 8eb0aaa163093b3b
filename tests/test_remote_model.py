"""Any OpenAI-compatible server as the chat model: replies, errors as clear messages, and a real llama.cpp server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant import Assistant, OpenAICompatibleChatModel, load_chat_model, packaged_model_path
from ingest import ModelError, Settings, collect_sources, ingest, open_index
from tests.conftest import HANDBOOK, HashEmbedder
from tests.server_fixtures import free_port

MESSAGES = [{"role": "user", "content": "Say hello."}]


def remote(settings: Settings, handler: object, **overrides: object) -> OpenAICompatibleChatModel:
    chosen = settings.model_copy(
        update={"chat_backend": "openai", "chat_server_url": "http://model.test/v1", **overrides}
    )
    return OpenAICompatibleChatModel(chosen, httpx.Client(transport=httpx.MockTransport(handler)))  # type: ignore[arg-type]


def sse(*events: object) -> bytes:
    return b"".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode() for e in events)


def delta(text: str) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": {"content": text}}]}


def server(chat: bytes | Exception, models: dict[str, object] | None = None) -> object:
    seen: list[dict[str, object]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json=models or {"data": [{"id": "tiny", "max_model_len": 8192}]})
        if request.url.path.endswith("/props"):
            return httpx.Response(404)
        seen.append(json.loads(request.content))
        if isinstance(chat, Exception):
            raise chat
        return httpx.Response(200, content=chat, headers={"content-type": "text/event-stream"})

    handle.seen = seen  # type: ignore[attr-defined]
    return handle


def test_streams_pieces_and_asks_the_server_for_its_context(settings: Settings) -> None:
    handler = server(sse(delta("Hel"), delta("lo [1]"), {"choices": []}, "[DONE]"))
    model = remote(settings, handler)
    assert "".join(model.stream(MESSAGES, max_tokens=8, temperature=0.0)) == "Hello [1]"  # type: ignore[arg-type]
    assert model.model == "tiny" and model.context_size == 8192
    sent = handler.seen[0]  # type: ignore[attr-defined]
    assert sent["max_tokens"] == 8 and sent["stream"] is True and sent["model"] == "tiny"


def test_context_size_falls_back_to_the_setting(settings: Settings) -> None:
    model = remote(settings, server(sse("[DONE]"), {"data": [{"id": "m"}]}), context_size=3072, chat_server_model="m")
    assert model.context_size == 3072 and model.count_tokens("abcdef") == 2


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (httpx.ConnectError("refused"), "cannot be reached"),
        (httpx.ReadTimeout("slow"), "sent nothing for"),
        (sse("{not json"), "not JSON"),
        (sse({"error": {"message": "out of memory"}}), "out of memory"),
        (sse({"choices": "what"}), "unexpected reply"),
    ],
)
def test_failures_are_clear_messages(settings: Settings, reply: bytes | Exception, message: str) -> None:
    model = remote(settings, server(reply))
    with pytest.raises(ModelError, match=message):
        list(model.stream(MESSAGES, max_tokens=8, temperature=0.0))  # type: ignore[arg-type]


def test_a_server_that_is_down_or_unset_is_a_clear_message(settings: Settings) -> None:
    with pytest.raises(ModelError, match="DOCQA_CHAT_SERVER_URL"):
        load_chat_model(settings.model_copy(update={"chat_backend": "openai"}))
    down = settings.model_copy(
        update={"chat_backend": "openai", "chat_server_url": f"http://127.0.0.1:{free_port()}/v1"}
    )
    with pytest.raises(ModelError, match=r"cannot be reached.*Is it running"):
        load_chat_model(down)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server, on loopback, with the small test model."""
    model = packaged_model_path("smollm2-135m-instruct-q4_1", tmp_path_factory.mktemp("models"))
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--model_alias", "smollm2"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise RuntimeError("llama_cpp.server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.real_models
def test_a_real_llama_cpp_server_answers_with_citations(settings: Settings, llama_server: str, tmp_path: Path) -> None:
    chosen = settings.model_copy(
        update={"chat_backend": "openai", "chat_server_url": llama_server, "max_answer_tokens": 24, "top_k": 2}
    )
    model = load_chat_model(chosen)
    assert isinstance(model, OpenAICompatibleChatModel) and model.model == "smollm2"
    pieces = model.stream(MESSAGES, max_tokens=4, temperature=0.0)  # type: ignore[arg-type]
    first = next(pieces)
    pieces.close()  # stop: closing the stream ends the request
    assert first
    embedder = HashEmbedder()
    ingest(collect_sources([HANDBOOK]), chosen, embedder)
    assistant = Assistant(chosen, embedder, open_index(chosen, embedder), model)
    reply = assistant.ask("How many vacation days do employees get per calendar year?")
    assert reply.sources and reply.sources[0].chunk.source == "northwind-handbook.pdf"
    assert reply.consume() and reply.finished
