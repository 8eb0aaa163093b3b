"""The team server: OpenAI-compatible chat and models, native routes, keys, and a live server for real clients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.server import KeyStore, Service, create_app
from assistant.server.__main__ import main
from ingest import Settings
from tests.conftest import HashEmbedder, ScriptedChatModel, write_pdf
from tests.server_fixtures import LiveServer, Team, team_fixture  # noqa: F401 - the `team` fixture

ASK = {"model": "docs:alpha", "messages": [{"role": "user", "content": "How many vacation days per calendar year?"}]}


def test_chat_completion_cites_inline_and_lists_sources(team: Team) -> None:
    response = team.client.post("/v1/chat/completions", json=ASK, headers=team.auth("alpha"))
    assert response.status_code == 200, response.text
    body = response.json()
    answer = body["choices"][0]["message"]["content"]
    assert "[1]" in answer and "27 vacation days" in answer
    first = body["sources"][0]
    assert first["file"] == "alpha.pdf" and first["page"] == 1 and first["cited"] is True
    assert "27 vacation days" in first["passage"] and 0 < first["score"] <= 1
    assert first["citation"] == "alpha.pdf, p. 1"


def test_streamed_chat_sends_sources_before_the_answer(team: Team) -> None:
    with team.client.stream(
        "POST", "/v1/chat/completions", json={**ASK, "stream": True}, headers=team.auth("alpha")
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["sources"][0]["file"] == "alpha.pdf" and chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert "[1]" in text
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["sources"][0]["cited"] is True


def test_stop_strings_cut_the_answer(team: Team) -> None:
    body = {**ASK, "stop": ["calendar"]}
    answer = team.client.post("/v1/chat/completions", json=body, headers=team.auth("alpha")).json()
    assert "calendar" not in answer["choices"][0]["message"]["content"]


def test_unrelated_question_declines_without_the_model(team: Team) -> None:
    body = {**ASK, "messages": [{"role": "user", "content": "tungsten melting point kelvin"}]}
    answer = team.client.post("/v1/chat/completions", json=body, headers=team.auth("alpha")).json()
    assert answer["choices"][0]["message"]["content"] == "The documents don't cover this question."
    assert answer["sources"] == [] and team.service._chat_model.prompts == []  # type: ignore[union-attr]


def test_unknown_model_and_bad_messages_are_clear_errors(team: Team) -> None:
    response = team.client.post("/v1/chat/completions", json={**ASK, "model": "gpt-4"}, headers=team.auth("admin"))
    assert response.status_code == 404 and "docs:COLLECTION" in response.json()["error"]["message"]
    empty = {**ASK, "messages": [{"role": "assistant", "content": "hi"}]}
    response = team.client.post("/v1/chat/completions", json=empty, headers=team.auth("admin"))
    assert response.status_code == 400


def test_models_and_collections_list_only_the_keys_scope(team: Team) -> None:
    models = team.client.get("/v1/models", headers=team.auth("alpha")).json()
    assert [m["id"] for m in models["data"]] == ["docs:alpha"]
    everything = team.client.get("/v1/models", headers=team.auth("admin")).json()
    assert {m["id"] for m in everything["data"]} == {"docs:alpha", "docs:beta"}
    listed = team.client.get("/v1/collections", headers=team.auth("alpha")).json()["collections"]
    assert listed == [{"name": "alpha", "documents": 1, "chunks": 2, "index_kind": "exact"}]


def test_tokens_are_required_and_checked(team: Team) -> None:
    assert team.client.get("/v1/models").status_code == 401
    assert team.client.get("/v1/models", headers={"Authorization": "Bearer dq_wrong"}).status_code == 401
    assert team.client.get("/v1/models", headers={"Authorization": team.tokens["alpha"]}).status_code == 401
    stored = team.settings.keys_path.read_text()
    assert all(token not in stored for token in team.tokens.values())  # only hashes are kept
    assert team.client.get("/docs").status_code == 200  # the OpenAPI page
    assert "/v1/chat/completions" in team.client.get("/openapi.json").json()["paths"]


def test_upload_search_list_and_delete(team: Team, tmp_path: Path) -> None:
    note = b"# Parking\n\nStaff may park in the north lot after 6 pm on weekdays.\n"
    files = [("files", ("../../etc/parking.md", note, "text/markdown")), ("files", ("fake.pdf", b"not a pdf", "x"))]
    response = team.client.post("/v1/collections/alpha/documents", files=files, headers=team.auth("alpha"))
    assert response.status_code == 200, response.text
    reports = {r["source"]: r for r in response.json()["files"]}
    assert reports["parking.md"]["status"] == "indexed" and reports["fake.pdf"]["status"] == "failed"
    assert not list(tmp_path.rglob("parking.md"))  # stored under its content hash, never its name
    found = team.client.post(
        "/v1/collections/alpha/search", json={"query": "north lot parking"}, headers=team.auth("alpha")
    )
    assert found.json()["sources"][0]["file"] == "parking.md"
    documents = team.client.get("/v1/collections/alpha/documents", headers=team.auth("alpha")).json()["documents"]
    parking = next(d for d in documents if d["source"] == "parking.md")
    gone = team.client.delete(f"/v1/collections/alpha/documents/{parking['doc_id']}", headers=team.auth("alpha"))
    assert gone.status_code == 200 and gone.json()["deleted"][0]["source"] == "parking.md"
    assert len(team.client.get("/v1/collections/alpha/documents", headers=team.auth("alpha")).json()["documents"]) == 1


def test_collections_are_created_and_deleted_by_a_writing_key(team: Team) -> None:
    headers = team.auth("admin")
    assert team.client.post("/v1/collections", json={"name": "gamma 1"}, headers=headers).status_code == 201
    assert "gamma 1" in [c["name"] for c in team.client.get("/v1/collections", headers=headers).json()["collections"]]
    assert team.client.post("/v1/collections", json={"name": "../x"}, headers=headers).status_code == 422
    assert team.client.delete("/v1/collections/gamma 1", headers=headers).status_code == 200
    assert team.client.delete("/v1/collections/gamma 1", headers=headers).status_code == 404


def test_read_only_key_cannot_change_anything(team: Team) -> None:
    headers = team.auth("alpha-read")
    assert team.client.post("/v1/chat/completions", json=ASK, headers=headers).status_code == 200
    files = [("files", ("a.md", b"# A\n\nSome words here.\n", "text/markdown"))]
    assert team.client.post("/v1/collections/alpha/documents", files=files, headers=headers).status_code == 403
    doc = team.doc_ids["alpha"]
    assert team.client.delete(f"/v1/collections/alpha/documents/{doc}", headers=headers).status_code == 403
    assert team.client.delete("/v1/collections/alpha", headers=headers).status_code == 403


def test_page_image_and_page_pdf_of_a_source(team: Team) -> None:
    doc = team.doc_ids["alpha"]
    image = team.client.get(f"/v1/collections/alpha/documents/{doc}/pages/2/image", headers=team.auth("alpha"))
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    page = team.client.get(f"/v1/collections/alpha/documents/{doc}/pages/1/pdf", headers=team.auth("alpha"))
    assert page.status_code == 200 and page.content.startswith(b"%PDF")
    missing = team.client.get(f"/v1/collections/alpha/documents/{doc}/pages/9/image", headers=team.auth("alpha"))
    assert missing.status_code == 404


def test_without_keys_only_loopback_names_are_answered(settings: Settings) -> None:
    service = Service(settings, embedder=HashEmbedder(), chat_model=ScriptedChatModel())
    with TestClient(create_app(settings, service), base_url="http://127.0.0.1:8000") as client:
        assert client.get("/v1/models").status_code == 200  # one person's server, no key needed
        assert client.get("/v1/models", headers={"Host": "evil.example:8000"}).status_code == 403
        assert client.get("/v1/models", headers={"Origin": "http://evil.example"}).status_code == 403


def test_keys_cli_creates_lists_and_revokes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCQA_KEYS_FILE", str(settings.keys_path))
    assert main(["keys", "create", "--name", "ci", "--collections", "alpha,beta", "--write"]) == 0
    token = capsys.readouterr().out.split("keep it secret): ")[1].strip()
    key = KeyStore(settings.keys_path).authenticate(token)
    assert key is not None and key.collections == ("alpha", "beta") and key.write
    assert main(["keys", "list"]) == 0 and key.id in capsys.readouterr().out
    assert main(["keys", "revoke", key.id]) == 0
    assert KeyStore(settings.keys_path).authenticate(token) is None
    assert main(["keys", "revoke", "nope"]) == 1


def test_refuses_to_bind_beyond_loopback_without_a_key(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCQA_KEYS_FILE", str(settings.keys_path))
    assert main(["serve", "--host", "0.0.0.0", "--port", "9"]) == 1
    assert "refusing to bind 0.0.0.0" in capsys.readouterr().err


def test_official_openai_client_streams_a_cited_answer_from_a_live_server(settings: Settings, tmp_path: Path) -> None:
    from openai import NotFoundError, OpenAI

    from tests.server_fixtures import build_collections, make_keys

    embedder = HashEmbedder()
    build_collections(settings, tmp_path, embedder)
    tokens = make_keys(settings)
    service = Service(settings, embedder=embedder, chat_model=ScriptedChatModel())
    with LiveServer(create_app(settings, service)) as live:
        client = OpenAI(base_url=f"{live.url}/v1", api_key=tokens["alpha"], max_retries=0)
        assert [m.id for m in client.models.list()] == ["docs:alpha"]
        stream = client.chat.completions.create(model="docs:alpha", messages=ASK["messages"], stream=True)
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert "27 vacation days" in text and "[1]" in text
        sources = chunks[0].model_extra["sources"]
        assert sources[0]["file"] == "alpha.pdf" and sources[0]["page"] == 1
        with pytest.raises(NotFoundError):
            client.chat.completions.create(model="docs:beta", messages=ASK["messages"])


def test_a_pdf_upload_gets_a_page_image(team: Team, tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "memo.pdf", ["Memo. The cafeteria opens at seven in the morning."]).read_bytes()
    files = [("files", ("memo.pdf", pdf, "application/pdf"))]
    report = team.client.post("/v1/collections/alpha/documents", files=files, headers=team.auth("alpha")).json()
    assert report["files"][0]["status"] == "indexed"
    hit = team.client.post(
        "/v1/collections/alpha/search", json={"query": "cafeteria opens"}, headers=team.auth("alpha")
    )
    doc = hit.json()["sources"][0]["doc_id"]
    image = team.client.get(f"/v1/collections/alpha/documents/{doc}/pages/1/image", headers=team.auth("alpha"))
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_a_deck_upload_gets_slide_images_and_no_page_pdf(team: Team, tmp_path: Path) -> None:
    from tests.test_slide_render import build_deck

    deck = build_deck(tmp_path / "terns.pptx").read_bytes()
    files = [("files", ("terns.pptx", deck, "application/octet-stream"))]
    report = team.client.post("/v1/collections/alpha/documents", files=files, headers=team.auth("alpha")).json()
    assert report["files"][0]["status"] == "indexed"
    hit = team.client.post("/v1/collections/alpha/search", json={"query": "arctic terns"}, headers=team.auth("alpha"))
    doc = hit.json()["sources"][0]["doc_id"]
    pages = f"/v1/collections/alpha/documents/{doc}/pages"
    image = team.client.get(f"{pages}/2/image", headers=team.auth("alpha"))
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert team.client.get(f"{pages}/2/pdf", headers=team.auth("alpha")).status_code == 415


def test_turns_at_the_model_go_round_robin_by_key() -> None:
    import asyncio

    from assistant.server.queue import FairQueue, QueueFull

    async def run() -> list[str]:
        queue, order = FairQueue(slots=1, max_waiting=5), []
        gate = asyncio.Event()

        async def ask(who: str) -> None:
            async with queue.turn(who):
                order.append(who)
                await gate.wait()

        first = asyncio.create_task(ask("busy"))
        await asyncio.sleep(0)
        waiting = [asyncio.create_task(ask(who)) for who in ("busy", "busy", "busy", "other")]
        await asyncio.sleep(0)
        with pytest.raises(QueueFull):  # five waiting already: the sixth is told to come back
            await asyncio.gather(ask("busy"), ask("late"))
        gate.set()
        await asyncio.gather(first, *waiting)
        queue.close()
        return order

    assert asyncio.run(run())[:3] == ["busy", "busy", "other"]  # the other key did not wait behind all of busy's
