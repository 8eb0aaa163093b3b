"""Moving a collection between backends (FAISS to Milvus and back) with its chunks, vectors and documents as
they are: nothing is re-embedded, and the counts are checked on arrival. Merging several collections built with
the same config into one works the same way (`merge`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import IndexStoreError
from ..types import Chunk, DocumentInfo
from .base import Collection, IndexConfig, Store


@dataclass(frozen=True, slots=True)
class Migration:
    """What a migration moved."""

    collection: str
    source: str
    target: str
    documents: int
    chunks: int


@dataclass(frozen=True, slots=True)
class Merge:
    """What a merge copied: from which collections, and the documents left out because an earlier collection
    held the same file (same doc_id)."""

    collection: str
    target: str
    sources: tuple[str, ...]
    documents: int
    chunks: int
    repeated: tuple[str, ...] = ()


def read_whole(snapshot: Collection, where: str) -> tuple[list[Chunk], np.ndarray]:
    """Every chunk of `snapshot` with its stored vector, in one pass, the count checked. `where` names the
    collection in the message. About 1.6 kB of memory per 384-dimension chunk."""
    chunks: list[Chunk] = []
    vectors: list[np.ndarray] = []
    for batch, batch_vectors in snapshot.iter_chunks():
        chunks += batch
        vectors.append(batch_vectors)
    if len(chunks) != len(snapshot):
        raise IndexStoreError(f"Read {len(chunks)} chunks of {where}, which holds {len(snapshot)}.")
    stacked = np.concatenate(vectors) if vectors else np.zeros((0, snapshot.config.dimension), np.float32)
    return chunks, stacked


def replace_whole(
    target: Store,
    name: str,
    config: IndexConfig,
    chunks: list[Chunk],
    vectors: np.ndarray,
    documents: list[DocumentInfo],
    *,
    lock_timeout: float = 600.0,
) -> Collection:
    """Replace what `target` holds under `name` with these chunks, vectors and documents, in one commit (readers
    see the old collection or the whole new one), and return the snapshot that arrived, its counts checked."""
    with target.writer_lock(name, timeout=lock_timeout):
        fresh = target.open_for_rebuild(name, config)
        fresh.commit(
            add_chunks=chunks, add_vectors=vectors, add_documents=documents, remove_doc_ids=set(fresh.documents)
        )
    arrived = target.open(name, config)
    expected = {d.doc_id: d for d in documents}
    if len(arrived) != len(chunks) or arrived.documents != expected:
        raise IndexStoreError(
            f"The copy in {target.describe(name)} holds {len(arrived)} chunks and {len(arrived.documents)} "
            f"documents, the original {len(chunks)} and {len(expected)}; copy it again."
        )
    return arrived


def migrate(source: Store, target: Store, name: str, *, lock_timeout: float = 600.0) -> Migration:
    """Copy the collection `name` from `source` into `target`, replacing what `target` held under that name, in
    one commit (readers of the target see the old collection or the whole new one). The whole collection
    passes through memory once: about 1.6 kB per 384-dimension chunk."""
    config = source.config_of(name)
    if config is None:
        raise IndexStoreError(f"The collection {source.describe(name)} has no index to migrate.")
    snapshot = source.open(name, config)
    chunks, vectors = read_whole(snapshot, source.describe(name))
    documents = list(snapshot.documents.values())
    replace_whole(target, name, config, chunks, vectors, documents, lock_timeout=lock_timeout)
    return Migration(name, source.describe(name), target.describe(name), len(snapshot.documents), len(snapshot))


def merge(
    source: Store,
    names: Sequence[str],
    into: str,
    *,
    target: Store | None = None,
    lock_timeout: float = 600.0,
) -> Merge:
    """Copy the collections `names` of `source` into one collection `into` (of `target`, by default the same
    store), replacing what it held, in one commit: chunks, vectors and documents as they are, nothing
    re-embedded. Every collection must have been built with the same config (embedder, chunking), else the
    merge is refused before anything is written. A document held by more than one collection is kept once,
    from the first. Everything passes through memory once: about 1.6 kB per 384-dimension chunk."""
    target = target or source
    if not names:
        raise IndexStoreError("Name at least one collection to merge.")
    if target is source and into in names:
        raise IndexStoreError(f"Cannot merge {source.describe(into)} into itself.")
    configs: dict[str, IndexConfig] = {}
    for name in names:
        config = source.config_of(name)
        if config is None:
            raise IndexStoreError(f"The collection {source.describe(name)} has no index to merge.")
        configs[name] = config
    first, config = next(iter(configs.items()))
    other = {name: c for name, c in configs.items() if c != config}
    if other:
        differing = "; ".join(f"{name}: {c.describe()}" for name, c in other.items())
        raise IndexStoreError(
            f"Cannot merge collections built with different configs: {first} was built with {config.describe()}, "
            f"but {differing}. Their vectors are not comparable; re-ingest them with the same settings first."
        )
    chunks: list[Chunk] = []
    vectors: list[np.ndarray] = []
    documents: dict[str, DocumentInfo] = {}
    repeated: list[str] = []
    for name in names:
        snapshot = source.open(name, config)
        batch, batch_vectors = read_whole(snapshot, source.describe(name))
        known = {d for d in snapshot.documents if d in documents}
        repeated += [snapshot.documents[d].source for d in sorted(known)]
        keep = [i for i, c in enumerate(batch) if c.doc_id not in known]
        chunks += [batch[i] for i in keep]
        vectors.append(batch_vectors[keep])
        documents.update({d: info for d, info in snapshot.documents.items() if d not in known})
    if len({c.id for c in chunks}) != len(chunks):
        raise IndexStoreError(f"Some chunk ids occur in more than one of {', '.join(names)}; they cannot be merged.")
    stacked = np.concatenate(vectors)
    replace_whole(target, into, config, chunks, stacked, list(documents.values()), lock_timeout=lock_timeout)
    return Merge(into, target.describe(into), tuple(names), len(documents), len(chunks), tuple(repeated))
