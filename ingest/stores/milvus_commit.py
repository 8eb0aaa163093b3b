"""A Milvus commit, in the order that keeps it atomic for readers (see `milvus_store.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import IndexStoreError
from ..types import Chunk, DocumentInfo
from .base import document_profiles
from .milvus_collection import chunk_row, doc_row, lexical_texts, new_physical
from .milvus_schema import mark_removed, query_all, quoted, visible

if TYPE_CHECKING:
    from .milvus_collection import MilvusCollection

_BATCH = 1_000


def apply_commit(
    collection: MilvusCollection,
    chunks: list[Chunk],
    vectors: np.ndarray,
    documents: list[DocumentInfo],
    remove_docs: set[str],
    remove_chunks: set[str],
) -> dict[str, Any]:
    """Write the change and switch the head to it; returns the new head."""
    from .milvus_store import head_for

    store, client = collection.store, collection.store.client
    if collection.rebuild or not collection.physical:
        physical, gen = new_physical(collection), 1
        old_profiles: dict[str, str] = {}
        count = len(chunks)
    else:
        physical, gen = collection.physical, collection.gen + 1
        store.drop_orphans(collection.name, keep=physical)
        _recover(client, physical, collection.gen)
        old_profiles = collection.document_profiles()
        replaced = {c.id for c in chunks} | remove_chunks
        gone = _remove(client, physical, collection.gen, gen, "doc_id", remove_docs, key="chunk_id")
        gone |= _remove(client, physical, collection.gen, gen, "chunk_id", replaced, key="chunk_id")
        count = len(collection) - len(gone) + len(chunks)
        _remove(client, f"{physical}_docs", collection.gen, gen, "doc_id", remove_docs | {d.doc_id for d in documents})
    for start in range(0, len(chunks), _BATCH):
        batch = chunks[start : start + _BATCH]
        rows = [
            chunk_row(c, v, gen, lexical)
            for c, v, lexical in zip(batch, vectors[start : start + _BATCH], lexical_texts(batch), strict=True)
        ]
        client.upsert(physical, rows)  # idempotent: a retried request cannot add a row twice
    profiles = document_profiles(chunks)
    rows = [doc_row(d, profiles.get(d.doc_id) or old_profiles.get(d.doc_id, ""), gen) for d in documents]
    for start in range(0, len(rows), _BATCH):
        client.upsert(f"{physical}_docs", rows[start : start + _BATCH])
    for name in (physical, f"{physical}_docs"):
        client.flush(name)  # sealed and indexed: searched by the index, not row by row from the write buffer
    current = store.head(collection.name)
    if (current or {}).get("gen", 0) != collection.gen or (current or {}).get("physical") != collection.physical:
        raise IndexStoreError(
            f"Another writer committed to {store.describe(collection.name)} at the same time; nothing of this "
            "change is visible. Run the command again."
        )
    head = head_for(collection.config, gen, physical, count)
    store.write_head(collection.name, head)  # the commit: one row, written atomically
    if collection.rebuild and collection.physical:
        store.drop_orphans(collection.name, keep=physical)
    return head


def _recover(client: Any, physical: str, live: int) -> None:
    """Undo what a killed writer left (rows above the live generation, its removal marks) and purge rows
    removed before the previous commit, which no reader of the last two generations can see."""
    for name in (physical, f"{physical}_docs"):
        client.delete(name, filter=f"gen > {live}")
        marks = [row["pk"] for row in query_all(client, name, f"removed > {live}", ["pk"])]
        mark_removed(client, name, marks, 0)
        client.delete(name, filter=f"removed > 0 and removed < {live}")


def _remove(client: Any, name: str, live: int, gen: int, field: str, values: set[str], key: str = "pk") -> set[str]:
    """Mark the rows visible at `live` whose `field` is one of `values` as removed by `gen`; returns the `key`
    field of the rows marked."""
    ordered, marked = sorted(values), set()
    for start in range(0, len(ordered), _BATCH):
        expression = f"{visible(live)} and {field} in {quoted(ordered[start : start + _BATCH])}"
        rows = list(query_all(client, name, expression, list({"pk", key})))
        mark_removed(client, name, sorted({row["pk"] for row in rows}), gen)
        marked |= {row[key] for row in rows}
    return marked
