"""The Streamlit app, headless (AppTest), on fakes: empty state, chat with sources, uploads, bad files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from assistant import ui
from ingest import Settings, collect_sources, ingest
from tests.conftest import HANDBOOK, ROOT, HashEmbedder, ScriptedChatModel

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[ScriptedChatModel]:
    """Point the app at a temporary index and give it fakes instead of the real models."""
    model = ScriptedChatModel()
    embedder = HashEmbedder()
    model.loads = 0  # type: ignore[attr-defined]
    model.services_built = 0  # type: ignore[attr-defined]

    def load_model(_settings: Settings) -> ScriptedChatModel:
        model.loads += 1  # type: ignore[attr-defined]
        return model

    def build_services(_settings: Settings) -> ui.Services:
        model.services_built += 1  # type: ignore[attr-defined]
        return ui.Services(settings, embedder, load_model)

    monkeypatch.setattr(ui, "services_factory", build_services)
    st.cache_resource.clear()
    yield model
    st.cache_resource.clear()


def run_app() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    assert not app.exception, app.exception
    return app


def markdown_text(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_empty_index_shows_a_guide(app_env: ScriptedChatModel) -> None:
    app = run_app()
    assert any("No documents yet" in i.value for i in app.info)
    assert app.chat_input[0].disabled


def test_question_gets_an_answer_with_its_page(app_env: ScriptedChatModel, settings: Settings) -> None:
    ingest(collect_sources([HANDBOOK]), settings, HashEmbedder())
    app = run_app()
    app.chat_input[0].set_value("How many vacation days per calendar year does every employee get?").run()
    assert not app.exception
    text = markdown_text(app)
    assert "27 vacation days" in text
    assert "northwind\\-handbook\\.pdf, p\\. 3" in text  # the citation, escaped as literal text
    assert any("Evidence" in e.label for e in app.expander)
    assert len(app_env.prompts) == 1
    # A second question in the same session sends the first turn as history.
    app.chat_input[0].set_value("And the meal allowance per day when travelling?").run()
    assert [m["role"] for m in app_env.prompts[-1]][:3] == ["system", "user", "assistant"]
    # Models load once per process, not on every rerun.
    assert app_env.services_built == 1 and app_env.loads == 1  # type: ignore[attr-defined]


def test_unrelated_question_is_declined(app_env: ScriptedChatModel, settings: Settings) -> None:
    ingest(collect_sources([HANDBOOK]), settings, HashEmbedder())
    app = run_app()
    app.chat_input[0].set_value("Quantum chromodynamics gluon lattice").run()
    assert "The documents don't cover this question" in markdown_text(app).replace("\\", "")
    assert app_env.prompts == []


def test_upload_adds_documents_and_reports_bad_ones(app_env: ScriptedChatModel, settings: Settings) -> None:
    app = run_app()
    app.sidebar.file_uploader[0].set_value(
        [
            ("handbook.pdf", HANDBOOK.read_bytes(), "application/pdf"),
            ("../../etc/evil.pdf", b"\x89PNG\r\n\x1a\n" + bytes(64), "application/pdf"),
            ("notes.md", b"# Notes\nThe lab report is due on Friday.", "text/markdown"),
        ]
    ).run()
    assert app.sidebar.button[0].label == "Add to index"
    app.sidebar.button[0].click().run()
    assert not app.exception
    successes = " ".join(s.value for s in app.sidebar.success).replace("\\", "")
    errors = " ".join(e.value for e in app.sidebar.error).replace("\\", "")
    assert "handbook.pdf: indexed" in successes and "notes.md: indexed" in successes
    assert "evil.pdf: failed" in errors and "PNG image" in errors
    stored = sorted(p.name for p in settings.upload_dir.iterdir())
    assert len(stored) == 2 and all(len(Path(n).stem) == 64 for n in stored)  # content-hash names only
    assert not (settings.upload_dir.parent / "etc").exists()
    assert app.sidebar.dataframe, "the document list is shown"


def test_hostile_document_text_is_shown_literally(
    app_env: ScriptedChatModel, settings: Settings, tmp_path: Path
) -> None:
    notes = tmp_path / "trap.md"
    notes.write_text("# Parking rules\nParking rules: ![leak](https://evil.example/p.png) <img src=x> park anywhere.")
    ingest(collect_sources([notes]), settings, HashEmbedder())
    app = run_app()
    app.chat_input[0].set_value("What are the parking rules?").run()
    text = markdown_text(app)
    assert "](http" not in text and "<img" not in text
