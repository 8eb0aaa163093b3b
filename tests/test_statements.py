"""Financial statement pages: recognised by their title line and amounts, asked for by name or line item, and
lifted above notes that discuss the same words."""

from __future__ import annotations

from pathlib import Path

from assistant.retrieve import retrieve
from assistant.statements import asked_statements, statement_of
from ingest import Settings, collect_sources, ingest, open_index
from tests.conftest import HashEmbedder, write_pdf

ROWS = "\n".join(
    f"{item} {1000 + 37 * n:,} {900 + 41 * n:,}"
    for n, item in enumerate(
        ["Net income", "Depreciation and amortization", "Stock compensation", "Deferred taxes", "Receivables",
         "Inventories", "Accounts payable", "Other", "Purchases of property and equipment",
         "Acquisitions", "Proceeds from sales", "Dividends paid", "Purchases of treasury stock",
         "Debt issued", "Debt repaid", "Exchange rate effects"]
    )
)  # fmt: skip
CASH_FLOWS = f"Acme Corp and Subsidiaries\nConsolidated Statements of Cash Flows\nYears ended December 31\n\n{ROWS}"
NOTES = (
    "Note 4. Property and equipment\n\nCapital expenditures were driven by new plants. Capital expenditures in "
    "the consolidated statements of cash flows include purchases of property and equipment for the plants. " * 4
)


def test_a_statement_page_is_its_title_line_and_its_amounts() -> None:
    assert statement_of(CASH_FLOWS) == "cash"
    assert statement_of(CASH_FLOWS.replace("Cash Flows", "Operations")) == "income"
    assert statement_of("ACME CORP\nCONSOLIDATED BALANCE SHEETS (continued)\n" + ROWS) == "balance"
    assert statement_of(NOTES) is None  # prose that names a statement is not one
    assert statement_of("Consolidated Statements of Cash Flows\n\nNet income 1,200") is None  # too few amounts
    contents = "Table of contents\n" + "\n".join(f"Consolidated Balance Sheets {n}" for n in range(40, 60))
    assert statement_of(contents) is None  # page numbers are not amounts


def test_questions_ask_for_statements_by_name_or_by_line_item() -> None:
    assert asked_statements("Base your judgments on the balance sheet: what is the quick ratio?") == {"balance"}
    assert asked_statements("What is the FY2018 capital expenditure amount for 3M?") == {"cash"}
    assert asked_statements("What is Kraft Heinz's inventory turnover ratio (COGS / inventory)?") == {
        "balance",
        "income",
    }
    assert asked_statements("Who are the primary customers of Boeing?") == set()
    assert asked_statements("How many vacation days do employees get?") == set()


def test_the_statement_page_is_lifted_above_notes(tmp_path: Path, settings: Settings, embedder: HashEmbedder) -> None:
    folder = tmp_path / "filings"
    folder.mkdir()
    write_pdf(folder / "acme-10k.pdf", ["Acme Corp annual report 2019", NOTES, NOTES.replace("4.", "5."), CASH_FLOWS])
    settings = settings.model_copy(update={"top_k": 2, "chunk_size": 200})
    ingest(collect_sources([folder]), settings, embedder)
    store = open_index(settings, embedder)
    question = "What were Acme's capital expenditures in 2019, in the statement of cash flows?"
    plain = retrieve(question, store, embedder, settings.model_copy(update={"statement_boost": 0.0}))
    assert 4 not in [h.chunk.page for h in plain.hits]  # the notes say "capital expenditures" more often
    lifted = retrieve(question, store, embedder, settings)
    assert lifted.hits[0].chunk.page == 4
    other = retrieve("Who founded Acme?", store, embedder, settings)  # no statement asked: nothing lifted
    plain = retrieve("Who founded Acme?", store, embedder, settings.model_copy(update={"statement_boost": 0.0}))
    assert [h.chunk.id for h in other.candidates] == [h.chunk.id for h in plain.candidates]
