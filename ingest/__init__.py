"""Ingestion: load documents, chunk them, embed the chunks, and store them in a FAISS index."""

from .chunk import Chunker, split_sections
from .embed import Embedder, SentenceTransformerEmbedder, resolve_embedder
from .errors import AssistantError, DocumentError, IndexStoreError, ModelError
from .load import SUPPORTED_SUFFIXES, load_bytes, load_file, sniff
from .pipeline import SourceFile, collect_sources, index_config, ingest, make_chunker, open_index
from .settings import DATA_DIR, Settings
from .store import IndexConfig, IndexStore, writer_lock
from .uploads import display_name, save_upload
from .types import Chunk, DocumentInfo, FileReport, IngestReport, LoadedDocument, Page, ScoredChunk

__all__ = [
    # settings and errors
    "DATA_DIR",
    # loading
    "SUPPORTED_SUFFIXES",
    "AssistantError",
    "Chunk",
    # chunking
    "Chunker",
    "DocumentError",
    "DocumentInfo",
    # embedding
    "Embedder",
    "FileReport",
    # storing
    "IndexConfig",
    "IndexStore",
    "IndexStoreError",
    "IngestReport",
    "LoadedDocument",
    "ModelError",
    "Page",
    "ScoredChunk",
    "SentenceTransformerEmbedder",
    "Settings",
    # the run
    "SourceFile",
    "collect_sources",
    "index_config",
    "ingest",
    "load_bytes",
    "load_file",
    "make_chunker",
    "open_index",
    "resolve_embedder",
    "sniff",
    "split_sections",
    "writer_lock",
]
