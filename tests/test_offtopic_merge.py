"""Collections merged into one (`ingest.stores.migrate.merge`, used by scripts/offtopic_eval.py): chunks,
vectors and documents copied as they are, nothing re-embedded, and search finds both sides."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.retrieve import retrieve
from ingest import IndexStoreError, Settings, collect_sources, ingest, open_index, open_store
from ingest.stores.migrate import merge
from tests.conftest import HANDBOOK, SAMPLE_DOCS, HashEmbedder


def test_two_collections_merged_without_re_embedding(settings: Settings, embedder: HashEmbedder) -> None:
    handbook = settings.model_copy(update={"collection": "handbook"})
    notes = settings.model_copy(update={"collection": "notes"})
    mixed = settings.model_copy(update={"collection": "mixed"})
    ingest(collect_sources([HANDBOOK]), handbook, embedder)
    ingest(collect_sources([SAMPLE_DOCS / "course-notes"]), notes, embedder)
    parts = [open_index(handbook, embedder), open_index(notes, embedder)]
    embedded = embedder.documents_embedded

    merged = merge(open_store(settings), ["handbook", "notes"], "mixed")

    assert embedder.documents_embedded == embedded  # nothing re-embedded
    store = open_index(mixed, embedder)
    assert merged.chunks == len(store) == sum(len(p) for p in parts)
    assert store.documents == {**parts[0].documents, **parts[1].documents} and merged.repeated == ()
    for part in parts:
        ids = [c.id for c in part.all_chunks()]
        assert np.array_equal(store.vectors_of(ids), part.vectors_of(ids))
    vacation = retrieve("How many vacation days do employees get?", store, embedder, mixed).hits
    assert vacation[0].chunk.source == "northwind-handbook.pdf" and "vacation" in vacation[0].chunk.text.lower()
    trees = retrieve("How does a decision tree split its nodes?", store, embedder, mixed).hits
    assert trees[0].chunk.source == "02-decision-trees.md"
    assert embedder.documents_embedded == embedded  # queries only: no passage embedded again


def test_a_document_in_two_collections_is_kept_once(settings: Settings, embedder: HashEmbedder) -> None:
    for name, paths in {"a": [HANDBOOK], "b": [HANDBOOK, SAMPLE_DOCS / "course-notes"]}.items():
        ingest(collect_sources(paths), settings.model_copy(update={"collection": name}), embedder)
    merged = merge(open_store(settings), ["a", "b"], "mixed")
    assert merged.repeated == ("northwind-handbook.pdf",) and merged.documents == 4
    store = open_index(settings.model_copy(update={"collection": "mixed"}), embedder)
    assert len(store) == sum(d.chunks for d in store.documents.values())


def test_collections_of_other_configs_are_refused(settings: Settings, embedder: HashEmbedder) -> None:
    ingest(collect_sources([HANDBOOK]), settings.model_copy(update={"collection": "a"}), embedder)
    other = settings.model_copy(update={"collection": "b", "chunk_size": 60})
    ingest(collect_sources([SAMPLE_DOCS / "course-notes"]), other, embedder)
    with pytest.raises(IndexStoreError, match=r"different configs.*chunk_size 60"):
        merge(open_store(settings), ["a", "b"], "mixed")
    assert open_store(settings).config_of("mixed") is None  # nothing written
