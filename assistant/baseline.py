"""The LangChain tutorial pipeline, as the baseline the evaluation compares against, run on the same data.

PyPDFLoader or TextLoader, `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`,
`HuggingFaceEmbeddings` with the same embedder, `FAISS.from_documents`, `similarity_search(k)`: the defaults the
tutorials use, unchanged.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ingest import Settings, SourceFile, resolve_embedder

log = logging.getLogger(__name__)


@dataclass
class Baseline:
    """A built tutorial index; `search` returns (file name, 1-based page, text) of the k nearest chunks."""

    store: object
    chunks: int
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def search(self, question: str, k: int) -> list[tuple[str, int | None, str]]:
        found = self.store.similarity_search(question, k=k)  # type: ignore[attr-defined]
        results = []
        for doc in found:
            page = doc.metadata.get("page")
            results.append(
                (Path(doc.metadata["source"]).name, page + 1 if isinstance(page, int) else None, doc.page_content)
            )
        return results


def build_baseline(sources: list[SourceFile], settings: Settings) -> Baseline:
    """Load, split, embed and index `sources` the tutorial way. Files its loaders cannot read are recorded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # langchain-community announces its sunset on import
        from langchain_community.document_loaders import PyPDFLoader, TextLoader
        from langchain_community.embeddings import HuggingFaceEmbeddings
        from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    started = time.perf_counter()
    documents, failed = [], {}
    for item in sources:
        loader = (
            PyPDFLoader(str(item.path))
            if item.path.suffix.lower() == ".pdf"
            else TextLoader(str(item.path), encoding="utf-8")
        )
        try:
            documents.extend(loader.load())
        except Exception as exc:  # the tutorial has no error handling; record what it loses and go on
            failed[item.source] = f"{type(exc).__name__}: {str(exc)[:120]}"
            log.warning("Baseline could not load %s: %s", item.source, failed[item.source])
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = splitter.split_documents(documents)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embeddings = HuggingFaceEmbeddings(model_name=resolve_embedder(settings.embedding_model))
    store = FAISS.from_documents(chunks, embeddings)
    return Baseline(store, len(chunks), failed, time.perf_counter() - started)
