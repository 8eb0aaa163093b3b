"""The app on a Milvus collection (Milvus Lite, in process): evidence, citations, the library and study mode
work as they do on FAISS. The app sees only the store interface."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from assistant import ui
from ingest import Settings, collect_sources, ingest
from ingest.stores import close_stores
from tests.conftest import HANDBOOK, ROOT, HashEmbedder, ScriptedChatModel, backend_overrides

VACATION = "How many vacation days per calendar year does every employee get?"


@pytest.fixture
def milvus_app(monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path) -> Iterator[AppTest]:
    milvus = settings.model_copy(update=backend_overrides("milvus", tmp_path))
    embedder, model = HashEmbedder(), ScriptedChatModel()
    monkeypatch.setattr(ui, "services_factory", lambda _settings: ui.Services(milvus, embedder, lambda _: model))
    ingest(collect_sources([HANDBOOK]), milvus, embedder)
    st.cache_resource.clear()
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    yield app
    st.cache_resource.clear()
    close_stores()


def test_the_app_answers_from_a_milvus_collection(milvus_app: AppTest) -> None:
    app = milvus_app
    app.chat_input[0].set_value(VACATION).run()
    assert not app.exception, app.exception
    text = "\n".join(m.value for m in app.markdown).replace("\\", "")
    assert "27 vacation days" in text
    app.button_group(key="view").set_value("Library").run()
    assert not app.exception, app.exception
    assert list(app.dataframe[0].value["document"]) == ["northwind-handbook.pdf"]
    app.button_group(key="view").set_value("Study").run()
    assert not app.exception, app.exception
