"""A team server on fakes: two collections (alpha, beta) with a PDF each, and keys of several scopes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.server import KeyStore, Service, create_app
from ingest import Settings, collect_sources, ingest
from tests.conftest import HashEmbedder, ScriptedChatModel, write_pdf

ALPHA_PAGES = [
    "Alpha policy. Every employee is entitled to 27 vacation days per calendar year.",
    "Alpha travel. Economy class is required for flights shorter than six hours.",
]
BETA_PAGES = ["Beta secrets. The launch code of project beta is kept in the vault downstairs."]


@dataclass
class Team:
    settings: Settings
    service: Service
    client: TestClient
    tokens: dict[str, str]
    doc_ids: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def build_collections(settings: Settings, root: Path, embedder: HashEmbedder) -> dict[str, str]:
    """Index one PDF into `alpha` and one into `beta`; doc ids by collection."""
    doc_ids = {}
    for name, pages in (("alpha", ALPHA_PAGES), ("beta", BETA_PAGES)):
        folder = root / f"docs-{name}"
        folder.mkdir()
        pdf = write_pdf(folder / f"{name}.pdf", pages)
        ingest(collect_sources([pdf]), settings.model_copy(update={"collection": name}), embedder)
        from ingest.files import sha256_file

        doc_ids[name] = sha256_file(pdf) or ""
    return doc_ids


def make_keys(settings: Settings) -> dict[str, str]:
    store = KeyStore(settings.keys_path)
    scopes = {"alpha": (["alpha"], True), "alpha-read": (["alpha"], False), "admin": (["*"], True)}
    return {who: store.create(who, collections, write)[1] for who, (collections, write) in scopes.items()}


@pytest.fixture(name="team")
def team_fixture(settings: Settings, tmp_path: Path) -> Iterator[Team]:
    embedder = HashEmbedder()
    doc_ids = build_collections(settings, tmp_path, embedder)
    tokens = make_keys(settings)
    service = Service(settings, embedder=embedder, chat_model=ScriptedChatModel())
    with TestClient(create_app(settings, service), base_url="http://127.0.0.1:8000") as client:
        yield Team(settings, service, client, tokens, doc_ids)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    """uvicorn serving an app on a loopback port, in a thread, for real HTTP clients."""

    def __init__(self, app: object) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
