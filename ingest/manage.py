"""Managing what is indexed: list and delete documents, and create, list and delete collections.

None of these embed anything, so none of them loads a model: a collection is opened with the config it was
built with.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import IndexStoreError
from .names import COLLECTION_NAME, printable
from .settings import Settings
from .store import IndexStore, config_of, read_current, writer_lock
from .types import DocumentInfo


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """One collection, as listed to the user."""

    name: str
    documents: int
    chunks: int
    embedding_model: str
    index_kind: str


def open_collection(settings: Settings, collection: str | None = None) -> IndexStore:
    """The live snapshot of a collection, read with the config it was built with."""
    directory = _collection_dir(settings, collection)
    config = config_of(directory)
    if config is None:
        raise IndexStoreError(
            f"The collection {directory.name!r} has no index yet. Add documents with "
            f"`python -m ingest --collection {directory.name} PATH`."
        )
    return IndexStore.open(directory, config)


def list_documents(settings: Settings, collection: str | None = None) -> list[DocumentInfo]:
    directory = _collection_dir(settings, collection)
    return [] if read_current(directory) is None else open_collection(settings, collection).list_documents()


def delete_documents(
    settings: Settings, names: list[str], collection: str | None = None, *, lock_timeout: float = 600.0
) -> list[DocumentInfo]:
    """Remove documents, named by their name as listed, by the path of their file, or by content hash (a
    unique prefix of 8+ characters will do), in one commit. Returns what was removed; raises IndexStoreError
    naming anything not found or not unique, and then removes nothing."""
    directory = _collection_dir(settings, collection)
    with writer_lock(directory, timeout=lock_timeout):
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
                f"Not in the collection {directory.name!r} (or not unique): {', '.join(missing)}. "
                f"List its documents with `python -m ingest --list --collection {directory.name}`; a path or "
                "the id tells documents of the same name apart."
            )
        store.commit(remove_doc_ids=set(chosen))
    return sorted(chosen.values(), key=lambda d: d.source)


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
    """The names of the collections under `settings.index_dir`, without opening any of them."""
    if not settings.index_dir.is_dir():
        return []
    return sorted(c.name for c in settings.index_dir.iterdir() if c.is_dir() and COLLECTION_NAME.match(c.name))


def list_collections(settings: Settings) -> list[CollectionInfo]:
    """Every collection under `settings.index_dir`, empty ones included."""
    if not settings.index_dir.is_dir():
        return []
    found = []
    for child in sorted(settings.index_dir.iterdir()):
        if not child.is_dir() or not COLLECTION_NAME.match(child.name):
            continue
        config = config_of(child)
        if config is None:
            found.append(CollectionInfo(child.name, 0, 0, "", "empty"))
            continue
        store = IndexStore.open(child, config)
        found.append(
            CollectionInfo(child.name, len(store.documents), len(store), config.embedding_model, store.index_kind)
        )
    return found


def create_collection(settings: Settings, name: str) -> Path:
    """An empty collection, ready for `ingest`; creating one that exists is not an error."""
    directory = _collection_dir(settings, name)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def delete_collection(settings: Settings, name: str, *, lock_timeout: float = 600.0) -> None:
    """Remove a collection and everything in it, once no one is writing to it."""
    directory = _collection_dir(settings, name)
    if not directory.is_dir():
        raise IndexStoreError(f"There is no collection {name!r} in {settings.index_dir}.")
    with writer_lock(directory, timeout=lock_timeout):
        # Move it aside first: readers see it vanish at once, never half-deleted.
        doomed = directory.with_name(f".deleted-{name}")
        shutil.rmtree(doomed, ignore_errors=True)
        directory.rename(doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _collection_dir(settings: Settings, name: str | None) -> Path:
    name = settings.collection if name is None else name
    if not COLLECTION_NAME.match(name):
        raise IndexStoreError(
            f"{name!r} is not a valid collection name: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return settings.index_dir / name
