"""Retrieval: rank fusion, hybrid search, document filters, named documents, reranking, follow-up rewriting."""

from __future__ import annotations

from pathlib import Path

from assistant import Assistant, ChatSession
from assistant.retrieve import Reranker, fuse, retrieve
from ingest import Settings, collect_sources, ingest, open_index
from tests.conftest import SAMPLE_DOCS, HashEmbedder, ScriptedChatModel


class Reverse(Reranker):
    """Scores passages in reverse of the order given: the reranker's order must win."""

    name = "reverse"

    def score(self, query: str, passages: list[str]) -> list[float]:
        return [float(i) for i in range(len(passages))]


def test_rank_fusion_rewards_agreement() -> None:
    assert fuse([[1, 2, 3], [2, 3, 1, 9]]) == [2, 1, 3, 9]
    assert fuse([[1, 2], [2, 1]], [1.0, 0.0]) == [1, 2]


def test_hybrid_search_filters_and_reranks(settings: Settings, embedder: HashEmbedder) -> None:
    ingest(collect_sources([SAMPLE_DOCS]), settings, embedder)
    store = open_index(settings, embedder)
    found = retrieve("How many vacation days do employees get?", store, embedder, settings)
    assert found.hits[0].chunk.page == 3
    only_notes = retrieve("vacation days", store, embedder, settings, sources={"course-notes/02-decision-trees.md"})
    assert {h.chunk.source for h in only_notes.candidates} == {"course-notes/02-decision-trees.md"}
    reranked = retrieve("How many vacation days do employees get?", store, embedder, settings, reranker=Reverse())
    assert [c.chunk.id for c in reranked.candidates] == [c.chunk.id for c in reversed(found.candidates)]
    off_topic = retrieve("boiling point of tungsten", store, embedder, settings.model_copy(update={"min_score": 0.9}))
    assert not off_topic.found and off_topic.candidates


def test_a_named_document_is_lifted(tmp_path: Path, settings: Settings, embedder: HashEmbedder) -> None:
    folder = tmp_path / "filings"
    folder.mkdir()
    for company in ("Contoso", "Fabrikam", "Northwind", "Tailspin", "Litware"):
        (folder / f"{company.lower()}.md").write_text(
            f"# {company} quarterly report\n\n{company} Inc. filed this report.\n\n"
            + "Revenue grew and foreign exchange rates reduced net sales this quarter. " * 20
        )
    ingest(collect_sources([folder]), settings, embedder)
    store = open_index(settings, embedder)
    question = "How did foreign exchange rates affect Tailspin's net sales?"
    lifted = retrieve(question, store, embedder, settings.model_copy(update={"name_boost": 1.0}))
    assert lifted.hits[0].chunk.source == "tailspin.md"


def test_follow_up_is_rewritten_before_search(settings: Settings, embedder: HashEmbedder) -> None:
    ingest(collect_sources([SAMPLE_DOCS]), settings, embedder)
    model = ScriptedChatModel(["27 vacation days [1]", "How long is parental leave at Northwind?", "Six months [1]"])
    session = ChatSession(Assistant(settings, embedder, open_index(settings, embedder), model))
    session.ask("How many vacation days do employees get?").consume()
    follow_up = session.search("And how long is that leave for parents?")
    assert follow_up.query == "How long is parental leave at Northwind?"
    assert follow_up.question == "And how long is that leave for parents?"
    assert "Conversation" in model.prompts[-1][-1]["content"]


def test_an_unusable_rewrite_falls_back_to_both_questions() -> None:
    from assistant.prompt import parse_rewrite

    history = [{"role": "user", "content": "What is the notice period?"}, {"role": "assistant", "content": "x"}]
    assert parse_rewrite("Standalone question: What is the notice period for managers?", "And managers?", history) == (
        "What is the notice period for managers?"
    )
    assert parse_rewrite("", "And managers?", history) == "What is the notice period? And managers?"
    assert (
        parse_rewrite("The documents don't cover this question.", "And?", history) == "What is the notice period? And?"
    )


def test_only_questions_that_refer_back_are_rewritten() -> None:
    from assistant.prompt import needs_context

    for follow_up in ["And how long is that leave?", "Why?", "What about managers?", "Does it apply to interns?",
                      "How many of those are paid?", "and for contractors"]:  # fmt: skip
        assert needs_context(follow_up), follow_up
    for standalone in ["How many vacation days do employees get per year?", "What is the daily meal allowance?",
                       "When was Northwind Analytics founded?"]:  # fmt: skip
        assert not needs_context(standalone), standalone


def test_a_chunk_that_is_only_its_heading_is_never_a_source(tmp_path: Path, settings: Settings) -> None:
    """A title the splitter left alone (the paragraph after it is longer than a chunk) says nothing its header
    does not; its vector sits at the topic's centre and ranked first for questions in another language
    (XQuAD zh over en). Retrieval skips it, in the vector list and the keyword list alike."""
    from assistant.retrieve import heading_only

    folder = tmp_path / "articles"
    folder.mkdir()
    sentences = [
        f"Miners in the {place} valley dug ore from shafts {depth} metres deep and carted it to the smelter."
        for place, depth in [("northern", 40), ("southern", 55), ("eastern", 70), ("western", 85), ("upper", 90)]
    ]
    (folder / "tungsten.md").write_text("# Tungsten mining\n\n" + " ".join(sentences * 2) + "\n")
    (folder / "tin.md").write_text("# Tin trade\n\nTin was shipped from Cornwall to the Mediterranean in antiquity.\n")
    embedder = HashEmbedder()
    ingest(collect_sources([folder]), settings, embedder)
    store = open_index(settings, embedder)
    chunks = store.chunks_of([d.doc_id for d in store.documents.values()])
    title = [c for c in chunks if c.text == "# Tungsten mining"]
    assert title and heading_only(title[0])  # the collection does hold the lone title
    # Nearest to the question by vector and by keyword alike: without the rule it would be the first source.
    assert store.search(embedder.embed_query("Tungsten mining?"), 1)[0].chunk == title[0]
    found = retrieve("Tungsten mining?", store, embedder, settings)
    assert found.hits and all(not heading_only(c.chunk) for c in found.candidates)
    assert found.hits[0].chunk.source == "tungsten.md" and "Miners" in found.hits[0].chunk.text


def test_heading_only_means_headings_the_header_already_says() -> None:
    from assistant.retrieve import heading_only
    from ingest import Chunk

    def chunk(text: str, heading: str | None) -> Chunk:
        return Chunk("id", "doc", "a.md", text, None, heading, 0, len(text), title="Guide")

    assert heading_only(chunk("# Guide", "Guide"))
    assert heading_only(chunk("# Setup\n\n## Linux ##", "Setup > Linux"))
    assert not heading_only(chunk("# Setup\n\nRun make.", "Setup"))
    assert not heading_only(chunk("# install the dependencies first", "Setup"))  # a comment in code, not a heading
    assert not heading_only(chunk("", "Setup"))
