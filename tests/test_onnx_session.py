"""ONNX embedding without torch: taken only for a model folder it can run and only after the full path exported
the graph and found both give the same token counts and vectors; then a run never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ingest import SentenceTransformerEmbedder, Settings
from ingest.embed import resolve_embedder
from ingest.onnx_session import CHECKED, export_folder, model_files, open_session, verify_session

ROOT = Path(__file__).resolve().parent.parent


def _folder(tmp_path: Path, modules: list[str], pooling: dict[str, bool]) -> Path:
    folder = tmp_path / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    entries = [
        {"idx": i, "name": str(i), "path": "" if i == 0 else f"{i}_{kind}", "type": f"st.models.{kind}"}
        for i, kind in enumerate(modules)
    ]
    (folder / "modules.json").write_text(json.dumps(entries))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 8, **pooling}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 32}))
    for name in ("tokenizer.json", "config.json", "model.safetensors"):
        (folder / name).write_text("{}")
    return folder


def test_only_transformer_pooling_normalize_folders_are_taken(tmp_path: Path) -> None:
    mean = {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}
    plain = model_files(str(_folder(tmp_path / "a", ["Transformer", "Pooling", "Normalize"], mean)))
    assert plain is not None and plain.pooling == "mean" and plain.max_seq_length == 32 and plain.dimension == 8
    assert model_files(str(_folder(tmp_path / "b", ["Transformer", "Pooling", "Dense"], mean))) is None
    both = {"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True}
    assert model_files(str(_folder(tmp_path / "c", ["Transformer", "Pooling"], both))) is None
    assert model_files("sentence-transformers/all-MiniLM-L6-v2") is None  # a hub name: not a folder here
    assert model_files(str(tmp_path / "missing")) is None


def test_an_unchecked_or_failed_export_keeps_the_full_path(tmp_path: Path) -> None:
    mean = {"pooling_mode_mean_tokens": True}
    folder = _folder(tmp_path, ["Transformer", "Pooling"], mean)
    files = model_files(str(folder))
    assert files is not None
    export = export_folder(files, tmp_path / "cache")
    export.mkdir(parents=True)
    (export / "model.onnx").write_text("not a graph")
    assert open_session(str(folder), tmp_path / "cache", 1, int8=False) is None  # never checked
    (export / CHECKED).write_text(json.dumps({"same": False}))
    assert open_session(str(folder), tmp_path / "cache", 1, int8=False) is None

    def never(texts: list[str]) -> None:
        raise AssertionError("a checked export is not checked again")

    assert verify_session(never, None, str(folder), tmp_path / "cache", 1) is False  # the record stands
    (folder / "tokenizer.json").write_text('{"changed": true}')  # other files: another folder, unchecked
    assert export_folder(files, tmp_path / "cache") != export


TEXTS = ["Annual leave is 25 days.", "  Revenue rose 12 % in Q3.  ", "figure " * 400, "中文字符 and ünïcödé"]

PROBE = """
import json, sys
import numpy as np
from ingest import SentenceTransformerEmbedder, Settings
embedder = SentenceTransformerEmbedder(Settings(model_dir=sys.argv[1], embedding_backend=sys.argv[2], _env_file=None))
vectors = embedder.embed_documents(json.loads(sys.argv[3]))
np.save(sys.argv[4], vectors)
print(json.dumps({"session": embedder._session is not None, "torch": "torch" in sys.modules,
                  "sentence_transformers": "sentence_transformers" in sys.modules,
                  "counts": [embedder.count_tokens(t) for t in json.loads(sys.argv[3])],
                  "max_tokens": embedder.max_tokens, "portable": embedder.portable_tokenizer()["kind"]}))
"""


@pytest.mark.real_models
@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_after_the_checked_export_a_run_embeds_without_torch(tmp_path: Path, backend: str) -> None:
    full = SentenceTransformerEmbedder(Settings(model_dir=tmp_path, embedding_backend=backend, _env_file=None))
    expected = full.embed_documents(TEXTS)
    assert full._session is None  # the first run exports and checks
    files = model_files(resolve_embedder(full.name))
    assert files is not None
    check = json.loads((export_folder(files, tmp_path) / CHECKED).read_text())
    assert check["same"] and check["counts"] and check["max_gap"] < 1e-4
    out = tmp_path / "vectors.npy"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path), backend, json.dumps(TEXTS), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["session"] and not seen["torch"] and not seen["sentence_transformers"]
    assert seen["counts"] == [full.count_tokens(t) for t in TEXTS] and seen["max_tokens"] == full.max_tokens
    assert seen["portable"] == "tokenizers"
    np.testing.assert_allclose(np.load(out), expected, atol=1e-5)
