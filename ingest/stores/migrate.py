"""Moving a collection between backends (FAISS to Milvus and back) with its chunks, vectors and documents as
they are: nothing is re-embedded, and the counts are checked on arrival."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import IndexStoreError
from .base import Store


@dataclass(frozen=True, slots=True)
class Migration:
    """What a migration moved."""

    collection: str
    source: str
    target: str
    documents: int
    chunks: int


def migrate(source: Store, target: Store, name: str, *, lock_timeout: float = 600.0) -> Migration:
    """Copy the collection `name` from `source` into `target`, replacing what `target` held under that name, in
    one commit (readers of the target see the old collection or the whole new one). The whole collection
    passes through memory once: about 1.6 kB per 384-dimension chunk."""
    config = source.config_of(name)
    if config is None:
        raise IndexStoreError(f"The collection {source.describe(name)} has no index to migrate.")
    snapshot = source.open(name, config)
    chunks, vectors = [], []
    for batch, batch_vectors in snapshot.iter_chunks():
        chunks += batch
        vectors.append(batch_vectors)
    if len(chunks) != len(snapshot):
        raise IndexStoreError(f"Read {len(chunks)} chunks of {source.describe(name)}, which holds {len(snapshot)}.")
    with target.writer_lock(name, timeout=lock_timeout):
        fresh = target.open_for_rebuild(name, config)
        fresh.commit(
            add_chunks=chunks,
            add_vectors=np.concatenate(vectors) if vectors else np.zeros((0, config.dimension), np.float32),
            add_documents=list(snapshot.documents.values()),
            remove_doc_ids=set(fresh.documents),
        )
    arrived = target.open(name, config)
    if len(arrived) != len(snapshot) or arrived.documents != snapshot.documents:
        raise IndexStoreError(
            f"The copy in {target.describe(name)} holds {len(arrived)} chunks and {len(arrived.documents)} "
            f"documents, the original {len(snapshot)} and {len(snapshot.documents)}; migrate again."
        )
    return Migration(name, source.describe(name), target.describe(name), len(snapshot.documents), len(snapshot))
