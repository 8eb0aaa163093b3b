"""The Milvus backend: Milvus Lite for a file path, a Milvus server or cluster for `http://host:19530`.

Nothing of a collection is held in this process but its list of documents: vector search, BM25 full-text
search (Milvus's own, on an analyzed text field) and filters all run in the engine. How a commit stays atomic
without transactions (`milvus_schema.py` has the row layout):

1. Rows a dead writer left behind (generation above the live one) are deleted, and removal marks it made are
   cleared; rows removed two commits ago are purged.
2. Rows to remove get `removed = G+1`; new rows are inserted with `gen = G+1`. Readers at G see neither.
3. One row, the collection's head, is upserted to generation G+1: that single-row write is the commit.

A writer killed anywhere before step 3 leaves generation G whole; the next writer cleans up in step 1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..errors import IndexStoreError
from .base import IndexConfig, Store, checked_name
from .milvus_collection import MilvusCollection
from .milvus_schema import HEADS, connect, drop, dummy, ensure_heads, ensure_loaded, is_local, quoted


class MilvusStore(Store):
    """Collections in one Milvus database. `lock_dir` holds the writer locks of this machine."""

    kind = "milvus"

    def __init__(self, uri: str, lock_dir: Path, token: str = "") -> None:
        self.uri = uri
        self.token = token
        self.lock_dir = Path(lock_dir)
        self._client: Any = None
        self._guard = threading.Lock()
        self._loaded: set[str] = set()

    @property
    def client(self) -> Any:
        with self._guard:
            if self._client is None:
                client = connect(self.uri, self.token)
                ensure_heads(client)
                self._client = client
            return self._client

    def close(self) -> None:
        """Close the connection; for Milvus Lite also stop its engine, so another process may open the file."""
        with self._guard:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
                self._client = None
                self._loaded.clear()
                if is_local(self.uri):
                    from milvus_lite.server_manager import server_manager_instance

                    server_manager_instance.release_server(self.uri)

    def loaded(self, physical: str) -> None:
        """Make sure a collection's two Milvus collections are loaded (once per connection)."""
        if physical not in self._loaded:
            for name in (physical, f"{physical}_docs"):
                ensure_loaded(self.client, name)
            self._loaded.add(physical)

    def describe(self, name: str | None = None) -> str:
        return self.uri if name is None else f"{name!r} in {self.uri}"

    # Heads ---------------------------------------------------------------------------------------

    def head(self, name: str) -> dict[str, Any] | None:
        rows = self.client.query(HEADS, filter=f"name == {quoted([name])[1:-1]}", output_fields=["head"])
        return json.loads(rows[0]["head"]) if rows else None

    def write_head(self, name: str, head: dict[str, Any]) -> None:
        self.client.upsert(HEADS, [{"name": name, "head": json.dumps(head), "v": dummy()}])

    def collection_names(self) -> list[str]:
        rows = self.client.query(HEADS, filter='name != ""', output_fields=["name"], limit=16_384)
        return sorted(r["name"] for r in rows)

    def config_of(self, name: str) -> IndexConfig | None:
        head = self.head(checked_name(name))
        return IndexConfig(**head["config"]) if head and head.get("config") else None

    # Opening -------------------------------------------------------------------------------------

    def open(self, name: str, config: IndexConfig, *, create: bool = False) -> MilvusCollection:
        head = self.head(checked_name(name))
        if head is None or not head.get("config"):
            if not create:
                raise IndexStoreError(
                    f"No index for the collection {self.describe(name)}. Run `python -m ingest data/docs` (or "
                    "your own folder) first."
                )
            return MilvusCollection(self, name, config, head=None)
        built = IndexConfig(**head["config"])
        if built != config:
            raise IndexStoreError(
                f"The collection {self.describe(name)} was built with {built.describe()}, but the settings ask for "
                f"{config.describe()}. Vectors from different settings are never mixed: rebuild the index with "
                "`python -m ingest --rebuild PATH`, or change the settings back."
            )
        return MilvusCollection(self, name, config, head=head)

    def open_for_rebuild(self, name: str, config: IndexConfig) -> MilvusCollection:
        head = self.head(checked_name(name))
        documents = {}
        if head and head.get("config"):
            documents = MilvusCollection(self, name, IndexConfig(**head["config"]), head=head).documents
        return MilvusCollection(self, name, config, head=head, rebuild=True, documents=documents)

    def new_physical(self, name: str) -> str:
        """A fresh Milvus collection name for `name`; the prefix tells whose it is, the rest is unique."""
        return f"{_prefix(name)}{uuid.uuid4().hex[:12]}"

    def drop_orphans(self, name: str, keep: str | None) -> None:
        """Drop Milvus collections of `name` that its head doesn't name (left by a killed rebuild)."""
        prefix = _prefix(name)
        for other in self.client.list_collections():
            base = other.removesuffix("_docs")
            if base.startswith(prefix) and base != keep:
                drop(self.client, other)

    # Managing ------------------------------------------------------------------------------------

    def create_collection(self, name: str) -> None:
        with self.writer_lock(name):
            if self.head(checked_name(name)) is None:
                self.write_head(name, {"config": None, "gen": 0, "physical": None, "created_at": _now()})

    def delete_collection(self, name: str, *, lock_timeout: float = 600.0) -> None:
        if self.head(checked_name(name)) is None:
            raise IndexStoreError(f"There is no collection {name!r} in {self.uri}.")
        with self.writer_lock(name, timeout=lock_timeout):
            self.client.delete(HEADS, filter=f"name == {quoted([name])[1:-1]}")  # readers see it vanish at once
            self.drop_orphans(name, keep=None)

    def writer_lock(self, name: str, timeout: float = 600.0) -> contextlib.AbstractContextManager[None]:
        return _locked(
            self.lock_dir / f"{_prefix(name)}{hashlib.sha256(self.uri.encode()).hexdigest()[:8]}.lock", timeout
        )


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise IndexStoreError(
            f"Another ingest is writing to this collection and did not finish within {timeout:.0f} s. Wait for "
            "it, or stop it, then run the command again."
        ) from exc
    try:
        yield
    finally:
        lock.release()


def _prefix(name: str) -> str:
    return f"docqa_{hashlib.sha256(name.encode()).hexdigest()[:10]}_"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def head_for(config: IndexConfig, gen: int, physical: str, count: int) -> dict[str, Any]:
    """A collection's head: its config, live generation, Milvus collection and number of chunks."""
    from dataclasses import asdict

    return {"config": asdict(config), "gen": gen, "physical": physical, "count": count, "created_at": _now()}
