"""End to end on the real components: all-MiniLM-L6-v2, FAISS, SmolLM2-135M through llama.cpp, the CLIs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant, LlamaChatModel, packaged_model_path
from ingest import SentenceTransformerEmbedder, Settings, collect_sources, ingest, make_chunker, open_index
from tests.conftest import ROOT, SAMPLE_DOCS

pytestmark = pytest.mark.real_models

SMOLLM = "packaged:smollm2-135m-instruct-q4_1"

# Questions whose answer sits on one known page of the handbook, or in one known course-notes file.
KNOWN_ANSWERS = [
    ("How many vacation days do employees get per year?", "northwind-handbook.pdf", 3),
    ("What is the daily meal allowance when travelling?", "northwind-handbook.pdf", 5),
    ("How long must passwords be?", "northwind-handbook.pdf", 6),
    ("How long is parental leave?", "northwind-handbook.pdf", 4),
    ("What are the core working hours?", "northwind-handbook.pdf", 2),
    ("What is the notice period when leaving the company?", "northwind-handbook.pdf", 10),
    ("Who is the ethics officer for gifts?", "northwind-handbook.pdf", 9),
    ("How much does Northwind contribute to the pension?", "northwind-handbook.pdf", 7),
    ("When do performance conversations take place?", "northwind-handbook.pdf", 8),
    ("When was Northwind Analytics founded?", "northwind-handbook.pdf", 1),
    ("Which regularisation method produces sparse models?", "course-notes/01-linear-regression.md", None),
    ("When is assignment 2 on gradient boosting due?", "course-notes/02-decision-trees.md", None),
]


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = tmp_path_factory.mktemp("real")
    return Settings(
        index_dir=base / "index",
        model_dir=base / "models",
        chat_model=SMOLLM,
        context_size=2048,
        max_answer_tokens=48,
        _env_file=None,
    )  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def real_embedder(real_settings: Settings) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(real_settings)


@pytest.fixture(scope="module")
def sample_index(real_settings: Settings, real_embedder: SentenceTransformerEmbedder) -> Settings:
    report = ingest(collect_sources([SAMPLE_DOCS]), real_settings, real_embedder)
    assert {f.status for f in report.files} == {"indexed"}, report.files
    return real_settings


def test_chunks_fit_the_real_embedder(sample_index: Settings, real_embedder: SentenceTransformerEmbedder) -> None:
    chunker = make_chunker(sample_index, real_embedder)
    store = open_index(sample_index, real_embedder)
    assert real_embedder.max_tokens == 254  # all-MiniLM-L6-v2 reads 256 word pieces, two are special
    for chunk in store.chunks:
        assert real_embedder.count_tokens(chunk.text) <= sample_index.chunk_size
        assert real_embedder.count_tokens(chunker.embedding_text(chunk)) <= real_embedder.max_tokens


@pytest.mark.parametrize(("question", "source", "page"), KNOWN_ANSWERS)
def test_retrieval_finds_the_answer_page(
    sample_index: Settings, real_embedder: SentenceTransformerEmbedder, question: str, source: str, page: int | None
) -> None:
    assistant = Assistant(sample_index, real_embedder, open_index(sample_index, real_embedder), lambda: None)  # type: ignore[arg-type,return-value]
    retrieval = assistant.search(question)
    top3 = [(h.chunk.source, h.chunk.page) for h in retrieval.hits[:3]]
    assert (source, page) in top3, top3


def test_off_topic_question_is_declined(sample_index: Settings, real_embedder: SentenceTransformerEmbedder) -> None:
    assistant = Assistant(sample_index, real_embedder, open_index(sample_index, real_embedder), lambda: None)  # type: ignore[arg-type,return-value]
    reply = assistant.ask("What is the boiling point of tungsten on Venus?")
    assert reply.refused and not reply.sources


def test_real_model_answers_with_sources(sample_index: Settings, real_embedder: SentenceTransformerEmbedder) -> None:
    model = LlamaChatModel(packaged_model_path("smollm2-135m-instruct-q4_1", sample_index.model_dir), sample_index)
    assistant = Assistant(sample_index, real_embedder, open_index(sample_index, real_embedder), model)
    reply = assistant.ask("How many vacation days do employees get per year?")
    assert reply.sources[0].chunk.page == 3
    text = reply.consume()
    assert reply.mode == "quote" and text.strip()
    if not reply.refused:  # whatever a 135M model prefers, the answer is a span of the source it cites
        quote = reply.detail.quote
        assert reply.sources[quote.source - 1].chunk.text[quote.start : quote.end] == quote.text
        assert text == f"{quote.text} [{quote.source}]"
    free = Assistant(sample_index.model_copy(update={"answer_mode": "free"}), real_embedder, assistant.store, model)
    pieces = list(free.ask("How many vacation days do employees get per year?").stream())
    assert len(pieces) > 1, "free text is streamed token by token"
    assert model.count_tokens("hello world") > 0


def test_cli_ingest_then_ask_prints_answer_and_page(tmp_path: Path) -> None:
    env = {
        "DOCQA_INDEX_DIR": str(tmp_path / "index"),
        "DOCQA_MODEL_DIR": str(tmp_path / "models"),
        "DOCQA_CHAT_MODEL": SMOLLM,
        "DOCQA_MAX_ANSWER_TOKENS": "40",
        "DOCQA_CONTEXT_SIZE": "2048",
    }
    ingested = run_cli("ingest", str(SAMPLE_DOCS), "--quiet", env=env)
    assert ingested.returncode == 0, ingested.stderr
    assert re.search(r"northwind-handbook\.pdf\s+indexed\s+10\s", ingested.stdout), ingested.stdout
    asked = run_cli("assistant", "ask", "What is the daily meal allowance when travelling?", env=env)
    assert asked.returncode == 0, asked.stderr
    assert "Sources" in asked.stdout and "northwind-handbook.pdf, p. 5" in asked.stdout
    assert "Traceback" not in asked.stderr


def test_cli_reports_a_missing_index_plainly(tmp_path: Path) -> None:
    asked = run_cli("assistant", "ask", "anything", env={"DOCQA_INDEX_DIR": str(tmp_path / "none")})
    assert asked.returncode == 1
    assert "python -m ingest" in asked.stderr and "Traceback" not in asked.stderr


def test_default_model_is_assembled_and_verified(tmp_path: Path) -> None:
    path = packaged_model_path("qwen2.5-coder-1.5b-instruct-q4_k_m", tmp_path)
    assert path.stat().st_size > 900_000_000
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"
    assert packaged_model_path("qwen2.5-coder-1.5b-instruct-q4_k_m", tmp_path) == path  # verified marker reused


def test_app_answers_on_the_real_models(sample_index: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    for key, value in {
        "INDEX_DIR": sample_index.index_dir,
        "MODEL_DIR": sample_index.model_dir,
        "CHAT_MODEL": SMOLLM,
        "MAX_ANSWER_TOKENS": 32,
        "CONTEXT_SIZE": 2048,
    }.items():
        monkeypatch.setenv(f"DOCQA_{key}", str(value))
    st.cache_resource.clear()
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    app.run()
    app.chat_input[0].set_value("How many vacation days do employees get per year?").run()
    assert not app.exception and not app.error
    text = "\n".join(m.value for m in app.markdown)
    assert "Northwind Analytics Employee Handbook, p. 3" in text  # cited by its title
    st.cache_resource.clear()
