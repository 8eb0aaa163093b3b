"""An exported embedder run by ONNX Runtime and `tokenizers` alone, without torch or sentence-transformers: importing
those two takes about 4 s of every run that embeds on this machine, more than embedding a few pages.

It serves a sentence-transformers model folder whose pipeline is a transformer, mean or CLS pooling and an optional
normalization (all-MiniLM-L6-v2 and most embedders), once `ingest.onnx_backend` has exported its graph from the
loaded model and checked, on probe texts, that this path gives the same token counts and vectors
(`verify_session`). Anything else keeps the full path.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Bumped whenever the export recipe changes, so an old cached graph is never reused for a new recipe.
EXPORT_VERSION = "1"
#: Written beside an exported graph once this path has been checked against the full one.
CHECKED = "session-check.json"
#: Texts the check embeds both ways: short, long (truncated), padded in one batch, odd spacing and scripts.
PROBES = [
    "Annual leave: 25 days.",
    "  What was the total revenue in Q3 2022?  ",
    "Ünïcödé, 中文字符, and emoji 📄 in one line.\n\nA second paragraph.",
    " ".join(f"word{i} figure {i * 37 % 101}" for i in range(400)),
]


@dataclass(frozen=True)
class ModelFiles:
    """What this path needs to know about a model folder, read from its files."""

    folder: Path
    weights: Path
    max_seq_length: int
    pooling: str  # "mean" or "cls"
    lowercase: bool
    dimension: int


def model_files(location: str) -> ModelFiles | None:
    """The folder's description, or None when it is not a folder this path can run."""
    folder = Path(location)
    try:
        if not folder.is_dir() or not (folder / "tokenizer.json").is_file():
            return None
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds[:2] != ["Transformer", "Pooling"] or kinds[2:] not in ([], ["Normalize"]) or modules[0]["path"]:
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        modes = [key for key, on in pooling.items() if key.startswith("pooling_mode_") and on]
        if modes not in (["pooling_mode_mean_tokens"], ["pooling_mode_cls_token"]):
            return None
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        weights = next(folder / n for n in ("model.safetensors", "pytorch_model.bin") if (folder / n).is_file())
        return ModelFiles(
            folder=folder,
            weights=weights,
            max_seq_length=int(config["max_seq_length"]),
            pooling="mean" if modes == ["pooling_mode_mean_tokens"] else "cls",
            lowercase=bool(config.get("do_lower_case", False)),
            dimension=int(pooling["word_embedding_dimension"]),
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError, StopIteration):
        return None


def export_folder(files: ModelFiles, cache_dir: Path) -> Path:
    """Where the model's exported graphs are cached: named by a SHA-256 over the export recipe's version and the
    files the graph and this path are made from, so other weights or another tokenizer get another folder."""
    digest = hashlib.sha256(f"{EXPORT_VERSION}\nfiles\n".encode())
    for path in (files.folder / "config.json", files.folder / "tokenizer.json", files.weights):
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return cache_dir / "onnx" / f"{files.folder.name or 'model'}-{digest.hexdigest()[:16]}"


class SessionEncoder:
    """Token counts and unit vectors of texts, from the tokenizer file and the exported graph."""

    def __init__(self, files: ModelFiles, graph: Path, threads: int) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.dimension = files.dimension
        self.max_tokens = files.max_seq_length - 2  # [CLS] and [SEP], as sentence-transformers counts
        self._files = files
        self._counter = Tokenizer.from_file(str(files.folder / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._encoder = Tokenizer.from_file(str(files.folder / "tokenizer.json"))
        self._encoder.enable_truncation(max_length=files.max_seq_length)
        padding = self._encoder.padding or {}
        self._encoder.enable_padding(pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def lengths(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(texts, add_special_tokens=False)]

    def portable(self) -> dict[str, str]:
        return {"kind": "tokenizers", "json": self._counter.to_str()}

    def encode(self, texts: list[str]) -> np.ndarray:
        """As `SentenceTransformer.encode` with normalized vectors: texts stripped, truncated, padded."""
        prepared = [t.strip().lower() if self._files.lowercase else t.strip() for t in texts]
        encodings = self._encoder.encode_batch(prepared)
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        feeds = {name: np.asarray(columns[name], dtype=np.int64) for name in self._inputs}
        (tokens,) = self._session.run(["token_embeddings"], feeds)
        if self._files.pooling == "cls":
            vectors = tokens[:, 0]
        else:
            mask = np.asarray(columns["attention_mask"], dtype=np.float32)[:, :, None]
            vectors = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        vectors = vectors.astype(np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def open_session(location: str, cache_dir: Path, threads: int, *, int8: bool) -> SessionEncoder | None:
    """This path for the model at `location` (its float or int8 graph), or None when the model's export has not
    been checked yet (the full path exports and checks it first) or the folder is not one this path runs."""
    files = model_files(location)
    if files is None:
        return None
    folder = export_folder(files, cache_dir)
    graph = folder / ("model.int8.onnx" if int8 else "model.onnx")
    return SessionEncoder(files, graph, threads) if _recorded(folder) and graph.is_file() else None


def _recorded(folder: Path) -> bool:
    """Whether the check written in `folder` found this path the same as the full one."""
    try:
        return json.loads((folder / CHECKED).read_text(encoding="utf-8")).get("same") is True
    except (OSError, ValueError, AttributeError):
        return False


def verify_session(
    encode: Callable[[list[str]], np.ndarray], tokenizer: Any, location: str, cache_dir: Path, threads: int
) -> bool:
    """Whether this path gives the full path's token counts (`tokenizer`, the model's own) and vectors (`encode`,
    the float graph through sentence-transformers' modules) on the probe texts; written down beside the export so
    later runs take this path."""
    files = model_files(location)
    if files is None:
        return False
    folder = export_folder(files, cache_dir)
    if (folder / CHECKED).is_file():  # checked once per export; a failed check is not tried again
        return _recorded(folder)
    session = SessionEncoder(files, folder / "model.onnx", threads)
    counts = all(session.count_tokens(t) == len(tokenizer.encode(t, add_special_tokens=False)) for t in PROBES)
    gap = float(np.abs(session.encode(PROBES) - encode(PROBES)).max())
    same = counts and gap < 1e-4
    try:
        (folder / CHECKED).write_text(json.dumps({"same": same, "counts": counts, "max_gap": gap}), encoding="utf-8")
    except OSError as exc:  # a read-only cache: the full path stays
        log.info("Cannot record the ONNX check in %s (%s).", folder, exc)
    if not same:
        log.info("ONNX without torch differs for %s (counts %s, gap %.2g); the full path stays.", location, counts, gap)
    return same
