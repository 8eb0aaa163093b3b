"""Fakes that really implement the interfaces, and fixtures shared by the tests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant import ChatModel, Message
from assistant.quote import SpanConstraint, Vocabulary, decode
from ingest import Embedder, Settings, Store
from ingest.stores import FaissStore, close_stores

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DOCS = ROOT / "data" / "docs"
HANDBOOK = SAMPLE_DOCS / "northwind-handbook.pdf"
SHARED = ROOT.parent / "shared"
_WORD = re.compile(r"\w+|[^\w\s]")
#: The store backends every contract test, the kill test and the state machine run against.
BACKENDS = ["faiss", "milvus"]


def make_store(kind: str, root: Path) -> Store:
    """A store of this kind under `root`: FAISS folders, or a Milvus Lite database file."""
    if kind == "milvus":
        from ingest.stores.milvus_store import MilvusStore

        return MilvusStore(str(root / "milvus.db"), root / "locks")
    return FaissStore(root / "index")


def backend_overrides(kind: str, root: Path) -> dict[str, object]:
    """The settings that put a collection in a backend of this kind under `root`."""
    return {"store": kind, "milvus_uri": str(root / "milvus.db")}


class HashEmbedder(Embedder):
    """Hashed bag of words: texts that share words are near each other, so search results mean something."""

    def __init__(self, dimension: int = 512, max_tokens: int = 254) -> None:
        self.name = "hash-bow"
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.documents_embedded = 0

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def portable_tokenizer(self) -> dict[str, str]:
        return {"kind": "regex", "pattern": _WORD.pattern}

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            if len(word) > 2:
                vector[int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % self.dimension] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def embed_documents(self, texts: list[str], on_progress=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        self.documents_embedded += len(texts)
        vectors = np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)
        if on_progress is not None:
            on_progress(len(texts), len(texts))
        return vectors.astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


class ScriptedChatModel(ChatModel):
    """Replies from a script (or by quoting source [1]) and records every prompt it was sent."""

    def __init__(self, replies: list[str] | None = None, context_size: int = 2048) -> None:
        self.name = "scripted"
        self.context_size = context_size
        self.replies = list(replies or [])
        self.prompts: list[list[Message]] = []

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float) -> Iterator[str]:
        self.prompts.append(list(messages))
        if self.replies:
            reply = self.replies.pop(0)
        else:
            match = re.search(r'<source id="1"[^>]*>\n(.+?)\n</source>', messages[-1]["content"], re.DOTALL)
            quote = " ".join(match.group(1).split()[:60]) if match else ""
            reply = f"{quote} [1]" if match else "The documents don't cover this question."
        for word in reply.split(" "):
            yield word + " "

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))


class QuotingChatModel(ScriptedChatModel):
    """A chat model that can be constrained, as llama.cpp can: its vocabulary is every single byte plus a few
    words, and its logits push towards the next scripted quote (or `NOT FOUND`), so the real `quote.decode`
    decides what comes out. Free-text and calculation replies come from the script as in `ScriptedChatModel`."""

    WORDS = (b" the", b" days", b"NOT", b" FOUND", b"Paris")

    def __init__(self, quotes: list[str] | None = None, replies: list[str] | None = None) -> None:
        super().__init__(replies)
        self.can_quote = True
        self.quotes = list(quotes or [])
        self.quoted: list[list[str]] = []
        pieces = [bytes([b]) for b in range(256)] + list(self.WORDS) + [b""]
        self.vocabulary = Vocabulary(pieces, [len(pieces) - 1])

    def quote(self, messages, texts, *, max_tokens, question=""):  # type: ignore[no-untyped-def]
        self.prompts.append(list(messages))
        self.quoted.append(list(texts))
        target = (self.quotes.pop(0) if self.quotes else "NOT FOUND").encode()
        said = bytearray()
        stop = len(self.vocabulary.pieces) - 1

        def feed(tokens: list[int]) -> np.ndarray:
            if not tokens:  # the prompt: decoding starts (again)
                said.clear()
            for token in tokens:
                said.extend(self.vocabulary.pieces[token])
            logits = np.zeros(self.vocabulary.size, dtype=np.float32)
            rest = target[len(said) :] if target.startswith(bytes(said)) else b""
            for token in self.vocabulary.by_bytes.get(rest[:1], []) if rest else []:
                logits[token] = 7.0
            for word in self.WORDS:
                if rest.startswith(word):
                    logits[self.vocabulary.by_bytes[word][0]] = 8.0
            if not rest:
                logits[stop] = 11.0
            return logits

        constraint = SpanConstraint(texts, self.vocabulary, max_tokens=max_tokens, question=question)
        return decode(constraint, feed)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        index_dir=tmp_path / "index",
        model_dir=tmp_path / "models",
        upload_dir=tmp_path / "uploads",
        embedding_model="hash-bow",
        chunk_size=120,
        chunk_overlap=20,
        header_tokens=24,
        min_score=0.1,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """`settings`, once per store backend; Milvus Lite's engine is stopped afterwards."""
    yield settings.model_copy(update=backend_overrides(request.param, tmp_path))
    close_stores()


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


def write_pdf(path: Path, pages: list[str]) -> Path:
    """A real PDF with a text layer, one string per page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path
