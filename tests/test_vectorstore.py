"""The collection as a LangChain VectorStore: LangChain's own standard suite, plus interop with ingested files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_tests.integration_tests import VectorStoreIntegrationTests

from ingest import IndexStoreError, Settings, collect_sources, ingest
from ingest.vectorstore import LocalVectorStore
from tests.conftest import HANDBOOK, HashEmbedder


class TestStandardSuite(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self, tmp_path: Path) -> Iterator[LocalVectorStore]:  # type: ignore[override]
        yield LocalVectorStore(tmp_path / "collection", self.get_embeddings())


def test_survives_reopening_and_refuses_another_embedder(tmp_path: Path) -> None:
    embedding = DeterministicFakeEmbedding(size=8)
    first = LocalVectorStore.from_texts(["alpha", "beta"], embedding, [{"k": 1}, {"k": 2}], directory=tmp_path / "c")
    again = LocalVectorStore(tmp_path / "c", embedding)
    assert [d.page_content for d in again.similarity_search("alpha", k=1)] == ["alpha"]
    assert again.similarity_search("alpha", k=2, filter={"k": 2})[0].page_content == "beta"
    with pytest.raises(IndexStoreError, match="never mixed"):
        LocalVectorStore(tmp_path / "c", embedding, embedding_name="another-model")
    assert first.delete() and again.similarity_search("alpha", k=1) == []


def test_ingested_collection_works_as_a_retriever(settings: Settings, embedder: HashEmbedder) -> None:
    ingest(collect_sources([HANDBOOK]), settings, embedder)
    store = LocalVectorStore.from_settings(settings, embedder)
    found = store.as_retriever(search_kwargs={"k": 2}).invoke("How many vacation days do employees get?")
    assert found[0].metadata["source"] == "northwind-handbook.pdf"
    assert found[0].metadata["page"] == 3
    mmr = store.max_marginal_relevance_search("vacation days", k=2, fetch_k=6)
    assert len(mmr) == 2 and len({d.id for d in mmr}) == 2
    # LangChain writes land in the same collection and are seen by a fresh snapshot.
    store.add_documents([Document(page_content="The parking garage closes at 11 pm.", metadata={"note": 1})])
    assert store.similarity_search("parking garage", k=1)[0].metadata == {"note": 1}
