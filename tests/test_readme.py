"""The README stays true: its configuration table lists every setting, and its Python example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest import SentenceTransformerEmbedder, Settings, collect_sources, ingest
from tests.conftest import ROOT, SAMPLE_DOCS

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_configuration_table_lists_every_setting() -> None:
    documented = set(re.findall(r"^\| `DOCQA_([A-Z_]+)`", README, re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_quick_start_is_two_make_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^(make \w+)", quick_start, re.MULTILINE)
    assert commands == ["make run", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == "make test"


@pytest.mark.real_models
def test_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    for key, value in {
        "INDEX_DIR": tmp_path / "index",
        "MODEL_DIR": tmp_path / "models",
        "CHAT_MODEL": "packaged:smollm2-135m-instruct-q4_1",
        "MAX_ANSWER_TOKENS": 32,
        "CONTEXT_SIZE": 2048,
    }.items():
        monkeypatch.setenv(f"DOCQA_{key}", str(value))
    settings = Settings()
    ingest(collect_sources([SAMPLE_DOCS]), settings, SentenceTransformerEmbedder(settings))
    examples = README.split("### Python API", 1)[1].split("## Models", 1)[0].split("```python")[1:]
    assert len(examples) == 2
    for example in examples:
        exec(compile(example.split("```", 1)[0], "README.md", "exec"), {})
        assert "northwind-handbook.pdf" in capsys.readouterr().out
