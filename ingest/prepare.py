"""A file's whole per-file work (parse, split into passages, flag passages that address the assistant) as one
worker operation, so that a slow or degenerate file is stopped by the worker's time limit and memory cap, not
only its parsing. The embedder's tokenizer travels to the worker as data (its JSON), never as a pickle."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from .chunk import Chunker
from .embed import Embedder
from .instructions import mark_instructions
from .load import load_bytes
from .settings import Settings
from .types import Chunk, LoadedDocument

_COUNTERS: dict[str, Callable[[str], int]] = {}  # in the worker: tokenizers already built, by their digest


def chunker_request(settings: Settings, embedder: Embedder) -> dict[str, Any] | None:
    """What the worker needs to split a file exactly as `make_chunker` would here; None when the embedder's
    tokenizer cannot be described as data (then splitting stays in this process, under the same time limit)."""
    tokenizer = embedder.portable_tokenizer()
    if tokenizer is None:
        return None
    return {
        "tokenizer": tokenizer,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "header_tokens": settings.header_tokens,
        "max_tokens": embedder.max_tokens,
        "max_chunks": settings.max_chunks_per_file,
    }


def prepare(request: dict[str, Any], data: bytes) -> tuple[LoadedDocument, list[Chunk]]:
    """In the worker: parse, split and flag one file."""
    import time

    from .isolate import worker_options

    options = worker_options(request, time.monotonic())
    document = load_bytes(
        data, request["source"], suffix=request["suffix"], max_bytes=request["max_bytes"], options=options
    )
    spec = request["chunker"]
    chunker = Chunker(
        token_counter(spec["tokenizer"]),
        chunk_size=spec["chunk_size"],
        chunk_overlap=spec["chunk_overlap"],
        header_tokens=spec["header_tokens"],
        max_tokens=spec["max_tokens"],
        max_chunks=spec["max_chunks"],
    )
    return document, mark_instructions(chunker.split(document))


def token_counter(spec: dict[str, str]) -> Callable[[str], int]:
    """A token counter from its description: `tokenizers` (a Hugging Face tokenizer's JSON, counted without
    special tokens or truncation, as sentence-transformers counts) or `regex` (matches of a pattern)."""
    key = hashlib.sha256(repr(sorted(spec.items())).encode()).hexdigest()
    counter = _COUNTERS.get(key)
    if counter is not None:
        return counter
    if spec["kind"] == "tokenizers":
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(spec["json"])
        tokenizer.no_truncation()
        tokenizer.no_padding()

        def counter(text: str) -> int:
            return len(tokenizer.encode(text, add_special_tokens=False).ids)

    elif spec["kind"] == "regex":
        pattern = re.compile(spec["pattern"])

        def counter(text: str) -> int:
            return len(pattern.findall(text))

    else:
        raise ValueError(f"unknown tokenizer kind {spec['kind']!r}")
    _COUNTERS[key] = counter
    return counter
