"""Where collections live, behind one interface (`base.py`): FAISS folders by default, or Milvus."""

from __future__ import annotations

import threading
from pathlib import Path

from ..errors import IndexStoreError
from ..settings import Settings
from .base import Collection, IndexConfig, Store
from .faiss_collection import DEFAULT_ANN_THRESHOLD, FaissCollection
from .faiss_store import FaissStore


def open_store(settings: Settings) -> Store:
    """The store the settings choose. Milvus is imported only when chosen."""
    return store_at(settings.store, settings)


def store_at(address: str, settings: Settings) -> Store:
    """A store by address: `faiss` or `milvus` (where the settings say), `faiss:FOLDER`, or `milvus:URI` with
    a Milvus Lite file path or a server's `http://host:19530`."""
    kind, _, where = address.partition(":")
    if kind not in ("faiss", "milvus"):
        raise IndexStoreError(f"{address!r} names no store: use faiss, milvus, faiss:FOLDER or milvus:URI.")
    if where:
        field = "index_dir" if kind == "faiss" else "milvus_uri"
        settings = settings.model_copy(update={field: Path(where) if kind == "faiss" else where})
    if kind == "milvus":
        from .milvus_store import MilvusStore

        key = (settings.milvus_uri, settings.milvus_token, str(settings.index_dir))
        with _GUARD:  # one client per database and process: Milvus Lite lets only one process open a file
            if key not in _MILVUS:
                _MILVUS[key] = MilvusStore(
                    settings.milvus_uri, settings.index_dir / ".milvus-locks", settings.milvus_token
                )
            return _MILVUS[key]
    return FaissStore(settings.index_dir)


def close_stores() -> None:
    """Close every store `open_store` opened in this process (Milvus Lite then lets other processes in)."""
    with _GUARD:
        for store in _MILVUS.values():
            store.close()
        _MILVUS.clear()


_MILVUS: dict[tuple[str, str, str], Store] = {}
_GUARD = threading.Lock()


__all__ = [
    "close_stores",
    "DEFAULT_ANN_THRESHOLD",
    "Collection",
    "FaissCollection",
    "FaissStore",
    "IndexConfig",
    "Store",
    "open_store",
]
