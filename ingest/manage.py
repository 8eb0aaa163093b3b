"""Managing what is indexed: list, correct and delete documents, and create, list and delete collections.

None of these embed anything, so none of them loads a model: a collection is opened with the config it was
built with. They work the same on every store backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from .describe import corrected
from .errors import AssistantError, IndexStoreError
from .names import printable
from .settings import Settings
from .stores import Collection, open_store
from .types import DocumentInfo


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """One collection, as listed to the user."""

    name: str
    documents: int
    chunks: int
    embedding_model: str
    index_kind: str


def open_collection(settings: Settings, collection: str | None = None) -> Collection:
    """The live snapshot of a collection, read with the config it was built with."""
    name = settings.collection if collection is None else collection
    store = open_store(settings)
    config = store.config_of(name)
    if config is None:
        raise IndexStoreError(
            f"The collection {name!r} has no index yet. Add documents with `python -m ingest --collection {name} PATH`."
        )
    return store.open(name, config)


def list_documents(settings: Settings, collection: str | None = None) -> list[DocumentInfo]:
    name = settings.collection if collection is None else collection
    if open_store(settings).config_of(name) is None:
        return []
    return open_collection(settings, name).list_documents()


def delete_documents(
    settings: Settings, names: list[str], collection: str | None = None, *, lock_timeout: float = 600.0
) -> list[DocumentInfo]:
    """Remove documents, named by their name as listed, by the path of their file, or by content hash (a
    unique prefix of 8+ characters will do), in one commit. Returns what was removed; raises IndexStoreError
    naming anything not found or not unique, and then removes nothing."""
    collection = settings.collection if collection is None else collection
    with open_store(settings).writer_lock(collection, timeout=lock_timeout):
        store = open_collection(settings, collection)
        chosen: dict[str, DocumentInfo] = {}
        missing = []
        for name in names:
            matches = _matching(store.documents.values(), name)
            if len(matches) != 1:
                shown = ", ".join(sorted(printable(d.source) for d in matches))
                missing.append(printable(name) + (f" (matches {shown})" if matches else ""))
            chosen.update({d.doc_id: d for d in matches})
        if missing:
            raise IndexStoreError(
                f"Not in the collection {collection!r} (or not unique): {', '.join(missing)}. "
                f"List its documents with `python -m ingest --list --collection {collection}`; a path or "
                "the id tells documents of the same name apart."
            )
        store.commit(remove_doc_ids=set(chosen))
    return sorted(chosen.values(), key=lambda d: d.source)


def correct_document(
    settings: Settings,
    document: str,
    changes: dict[str, Any],
    collection: str | None = None,
    *,
    lock_timeout: float = 600.0,
) -> DocumentInfo:
    """Correct what a document says it is (`ingest.describe.EDITABLE`: company or title, form, fiscal year and
    quarter, period end; an empty value removes one) and return its info as committed. One commit that changes
    only the document's info, atomically on every backend: nothing is read or embedded again, readers see the
    old description or the new one, and retrieval's name and period boosts use the new one from the next
    snapshot on. A later reading of the same file keeps the correction. `document` is its id, or anything
    `delete_documents` accepts; a value that cannot be right raises AssistantError and changes nothing."""
    collection = settings.collection if collection is None else collection
    with open_store(settings).writer_lock(collection, timeout=lock_timeout):
        store = open_collection(settings, collection)
        known = store.documents.get(document)
        matches = [known] if known is not None else _matching(store.documents.values(), document)
        if len(matches) != 1:
            raise IndexStoreError(
                f"Not in the collection {collection!r} (or not unique): {printable(document)}. "
                f"List its documents with `python -m ingest --list --collection {collection}`."
            )
        info = matches[0]
        try:
            about = corrected(info.about, changes)
        except ValueError as exc:
            raise AssistantError(f"{printable(info.source)}: {exc}") from exc
        if about == info.about:
            return info
        updated = replace(info, about=about)
        store.commit(add_documents=[updated])
    return updated


def _matching(documents: Iterable[DocumentInfo], name: str) -> list[DocumentInfo]:
    """Documents `name` identifies: by exact name, by the path of their file, by a hash prefix, else by the
    end of their name (so a bare `notes.md` finds `A/notes.md`, and says so when `B/notes.md` exists too)."""
    documents = list(documents)
    exact = [d for d in documents if d.source == name]
    if exact:
        return exact
    location = os.path.abspath(name)
    by_path = [d for d in documents if d.location in (name, location) or (d.path and d.path == location)]
    if by_path:
        return by_path
    by_id = [d for d in documents if len(name) >= 8 and d.doc_id.startswith(name.lower())]
    return by_id or [d for d in documents if d.source.endswith("/" + name)]  # `notes.md` for `A/notes.md`


def collection_names(settings: Settings) -> list[str]:
    """The names of the collections in the configured store, without opening any of them."""
    return open_store(settings).collection_names()


def list_collections(settings: Settings) -> list[CollectionInfo]:
    """Every collection in the configured store, empty ones included."""
    store = open_store(settings)
    found = []
    for name in store.collection_names():
        config = store.config_of(name)
        if config is None:
            found.append(CollectionInfo(name, 0, 0, "", "empty"))
            continue
        snapshot = store.open(name, config)
        found.append(
            CollectionInfo(name, len(snapshot.documents), len(snapshot), config.embedding_model, snapshot.index_kind)
        )
    return found


def create_collection(settings: Settings, name: str) -> str:
    """An empty collection, ready for `ingest`; creating one that exists is not an error. Returns where it
    lives."""
    store = open_store(settings)
    store.create_collection(name)
    return store.describe(name)


def delete_collection(settings: Settings, name: str, *, lock_timeout: float = 600.0) -> None:
    """Remove a collection and everything in it, once no one is writing to it."""
    open_store(settings).delete_collection(name, lock_timeout=lock_timeout)
