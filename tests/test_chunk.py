"""Chunker: never empty, never over size, spans point at the text, headings tracked, the text covered."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import Chunker, LoadedDocument, Page, split_sections
from tests.conftest import HashEmbedder

EMBEDDER = HashEmbedder(max_tokens=100)


def make_chunker(size: int = 40, overlap: int = 8) -> Chunker:
    return Chunker(EMBEDDER.count_tokens, chunk_size=size, chunk_overlap=overlap, header_tokens=16, max_tokens=100)


def document(*pages: str, numbered: bool = True) -> LoadedDocument:
    return LoadedDocument(
        source="doc.pdf",
        doc_id="d" * 64,
        title="Doc",
        pages=[Page(text, i if numbered else None) for i, text in enumerate(pages, start=1)],
        size_bytes=1,
    )


def check_invariants(chunker: Chunker, doc: LoadedDocument) -> None:
    chunks = chunker.split(doc)
    pages = {p.number: p.text for p in doc.pages}
    covered: dict[int | None, set[int]] = {}
    for chunk in chunks:
        assert chunk.text.strip(), "empty chunk"
        assert chunker.count_tokens(chunk.text) <= chunker.chunk_size
        assert pages[chunk.page][chunk.start : chunk.end] == chunk.text
        assert chunker.count_tokens(chunker.embedding_text(chunk)) <= chunker.max_tokens
        covered.setdefault(chunk.page, set()).update(range(chunk.start, chunk.end))
    for number, text in pages.items():
        missing = [i for i, ch in enumerate(text) if not ch.isspace() and i not in covered.get(number, set())]
        assert not missing, f"characters not in any chunk on page {number}: {missing[:10]}"
    assert len({c.id for c in chunks}) == len(chunks)


def test_pages_are_kept_apart_and_numbered() -> None:
    chunks = make_chunker().split(document("alpha " * 30, "beta " * 30))
    assert {c.page for c in chunks} == {1, 2}
    assert all(("alpha" in c.text) != ("beta" in c.text) for c in chunks)


def test_consecutive_chunks_overlap() -> None:
    words = " ".join(f"w{i}" for i in range(200))
    chunks = make_chunker(size=40, overlap=10).split(document(words))
    assert len(chunks) > 3
    assert all(a.end > b.start for a, b in itertools.pairwise(chunks))


def test_headings_become_a_path() -> None:
    text = "# Course\nintro\n## Week 1\nlinear models\n```\n# not a heading\n```\n## Week 2\ntrees\n"
    sections = split_sections(text)
    assert [s.heading for s in sections] == ["Course", "Course > Week 1", "Course > Week 2"]
    assert "# not a heading" in sections[1].text


def test_one_enormous_line_is_split_quickly() -> None:
    check_invariants(make_chunker(), document("x" * 200_000 + " tail"))


def test_ids_are_stable_and_depend_on_content() -> None:
    chunker = make_chunker()
    first = [c.id for c in chunker.split(document("same text " * 20))]
    assert first == [c.id for c in chunker.split(document("same text " * 20))]


text_strategy = st.text(alphabet=st.sampled_from(list("abcdefghij klmn.,;!?\n#-é日本\t")), min_size=0, max_size=3000)


@settings(max_examples=150, deadline=None)
@given(pages=st.lists(text_strategy, min_size=1, max_size=3), size=st.integers(8, 60), overlap_share=st.floats(0, 0.5))
def test_chunker_properties(pages: list[str], size: int, overlap_share: float) -> None:
    check_invariants(make_chunker(size, int(size * overlap_share)), document(*pages))


@settings(max_examples=50, deadline=None)
@given(text=text_strategy)
def test_chunker_properties_without_pages(text: str) -> None:
    check_invariants(make_chunker(), document(text, numbered=False))
