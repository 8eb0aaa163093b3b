"""Tables in PDFs kept whole (`ingest.loaders.pdftables`): rows tagged with a two-row header, "$" joined to its
figure, prose above and below in place, long tables split between rows only, failures kept as text, and the
setting recorded so that turning it on or off reads the PDFs again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest import DocumentError, Settings, SourceFile, ingest, load_bytes, open_index
from ingest.loaders import LoadOptions, pdftables
from tests.conftest import HashEmbedder
from tests.test_chunk import make_chunker

ABOVE = "Northwind Traders reports its revenue by region below, in thousands of dollars."
BELOW = "Revenue is recognised when the goods are delivered to the customer."
ON = LoadOptions(ocr=False, pdf_tables=True)
REGIONS = ["EMEA", "Americas", "Asia Pacific", "Nordics", "Iberia", "Benelux"]


def table_pdf(rows: int = 6, *, title: str = "Revenue by region") -> bytes:
    """A filing-style table: a two-row header over the figures ("Three Months Ended" over both years), rows
    shaded every other one (no column rules), "$" set in a column of its own, prose above and below."""
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.set_xy(15, 15)
    pdf.multi_cell(180, 5, f"{title}\n{ABOVE}")
    y = 32.0
    pdf.set_xy(120, y)
    pdf.cell(70, 4.5, "Three Months Ended", align="C")
    for x, year in ((120, "March 31, 2024"), (155, "March 31, 2023")):
        pdf.set_xy(x, y + 4.5)
        pdf.cell(35, 4.5, year, align="R")
    y += 11
    pdf.set_fill_color(225, 235, 245)
    for number in range(rows):
        name = REGIONS[number] if number < len(REGIONS) else f"Region {number + 1}"
        if number % 2 == 0:
            pdf.rect(15, y, 180, 4.6, style="F")
        pdf.set_xy(15, y)
        pdf.cell(90, 4.6, name)
        for x, value in ((120, 1204 + 37 * number), (155, 998 + 41 * number)):
            if number == 0:
                pdf.set_xy(x + 2, y)
                pdf.cell(4, 4.6, "$")
            pdf.set_xy(x + 10, y)
            pdf.cell(25, 4.6, f"{value:,}", align="R")
        y += 4.6
    pdf.set_xy(15, y + 6)
    pdf.multi_cell(180, 5, BELOW)
    return bytes(pdf.output())


def test_a_table_becomes_rows_tagged_with_its_header_between_the_text_around_it() -> None:
    document = load_bytes(table_pdf(), "revenue.pdf", suffix=".pdf", options=ON)
    (page,) = document.pages
    assert len(page.tables) == 1 and not document.warnings
    start, end = page.tables[0]
    table, before, after = page.text[start:end], page.text[:start], page.text[end:]
    assert ABOVE in before and BELOW in after
    lines = table.split("\n")
    assert lines[0] == "Three Months Ended March 31, 2024 | Three Months Ended March 31, 2023"
    assert "EMEA; Three Months Ended March 31, 2024: $1,204; Three Months Ended March 31, 2023: $998" in lines
    assert "Americas; Three Months Ended March 31, 2024: 1,241; Three Months Ended March 31, 2023: 1,039" in lines
    assert len(lines) == 1 + 6


def test_tables_off_keeps_the_text_layer() -> None:
    data = table_pdf()
    off = load_bytes(data, "revenue.pdf", suffix=".pdf", options=LoadOptions(ocr=False, pdf_tables=False))
    assert not off.pages[0].tables and "EMEA $ 1,204 $ 998" in " ".join(off.pages[0].text.split())
    assert off.loader == {"pdf_tables": False}


def test_a_long_table_is_split_between_rows_and_every_piece_names_the_columns() -> None:
    document = load_bytes(table_pdf(40), "long.pdf", suffix=".pdf", options=ON)
    (page,) = document.pages
    start, end = page.tables[0]
    rows = page.text[start:end].split("\n")[1:]
    assert len(rows) == 40
    header = page.text[start:end].split("\n")[0]
    chunks = [c for c in make_chunker(size=80, overlap=8).split(document) if start <= c.start < end]
    assert len(chunks) > 5 and sum(len(c.text.split("\n")) for c in chunks) == 41  # no row lost or repeated
    for chunk in chunks:
        lines = chunk.text.split("\n")
        assert all(line in rows or line == header for line in lines), chunk.text  # whole rows only
        body = [line for line in lines if line != header]
        assert body and all("Three Months Ended March 31, 2024:" in line for line in body)  # every row named


def test_a_page_whose_tables_fail_keeps_its_text_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(page: object, layer: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(pdftables, "rebuild_page", broken)
    document = load_bytes(table_pdf(), "revenue.pdf", suffix=".pdf", options=ON)
    assert not document.pages[0].tables and ABOVE in " ".join(document.pages[0].text.split())
    assert document.warnings == [
        "page 1: tables not read (RecursionError: maximum recursion depth exceeded); kept as text"
    ]


def test_past_the_deadline_pages_keep_their_text_and_are_named() -> None:
    options = LoadOptions(ocr=False, pdf_tables=True, deadline=time.monotonic() - 1)
    document = load_bytes(table_pdf(), "revenue.pdf", suffix=".pdf", options=options)
    assert not document.pages[0].tables
    assert document.warnings == ["tables not read on pages 1: out of time; kept as text"]


@pytest.mark.parametrize("cut", [0.5, 0.8, 0.95])
def test_a_damaged_pdf_with_tables_on_loads_or_gives_a_reason(cut: float) -> None:
    data = table_pdf()
    damaged = data[: int(len(data) * cut)]
    try:
        document = load_bytes(damaged, "damaged.pdf", suffix=".pdf", options=ON)
    except DocumentError as exc:
        assert exc.reason
    else:
        assert document.pages


def test_garbage_in_the_page_stream_does_not_escape() -> None:
    data = table_pdf().replace(b"/Length", b"/Lenxth", 1)
    try:
        load_bytes(data, "garbage.pdf", suffix=".pdf", options=ON)
    except DocumentError as exc:
        assert exc.reason


def test_prose_pages_are_not_looked_at() -> None:
    assert not pdftables.looks_tabular("Revenue grew 12% in 2024.\nIt fell 3% in 2023.\n" * 3)
    assert pdftables.looks_tabular("EMEA $ 1,204 $ 998\n" * 4)


def test_the_setting_is_recorded_and_turning_it_reads_the_pdfs_again(
    tmp_path: Path, settings: Settings, embedder: HashEmbedder
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "revenue.pdf").write_bytes(table_pdf())
    (folder / "notes.md").write_text("# Notes\nNo tables here.")
    sources = [SourceFile(folder / name, name, str(folder / name)) for name in ("revenue.pdf", "notes.md")]

    off, on = (settings.model_copy(update={"pdf_tables": value}) for value in (False, True))
    ingest(sources, off, embedder)
    info = next(d for d in open_index(settings, embedder).documents.values() if d.source == "revenue.pdf")
    assert info.loader == {"pdf_tables": False}
    assert {f.status for f in ingest(sources, off, embedder).files} == {"unchanged"}
    report = {f.source: f for f in ingest(sources, on, embedder).files}
    assert report["revenue.pdf"].status == "indexed" and "PDF table setting changed" in report["revenue.pdf"].reason
    assert report["notes.md"].status == "unchanged"
    store = open_index(settings, embedder)
    info = next(d for d in store.documents.values() if d.source == "revenue.pdf")
    assert info.loader == {"pdf_tables": True}
    assert any("EMEA; Three Months Ended March 31, 2024: $1,204" in c.text for c in store.chunks)
    assert {f.status for f in ingest(sources, on, embedder).files} == {"unchanged"}
    report = {f.source: f for f in ingest(sources, off, embedder).files}  # and off again
    assert report["revenue.pdf"].status == "indexed" and report["notes.md"].status == "unchanged"


def test_a_pdf_indexed_before_the_setting_existed_is_read_again_with_tables_on(
    tmp_path: Path, settings: Settings, embedder: HashEmbedder
) -> None:
    from dataclasses import replace

    path = tmp_path / "revenue.pdf"
    path.write_bytes(table_pdf())
    sources = [SourceFile(path, "revenue.pdf", str(path))]
    ingest(sources, settings.model_copy(update={"pdf_tables": False}), embedder)
    store = open_index(settings, embedder)
    (info,) = store.documents.values()
    assert LoadOptions(pdf_tables=True).changes(replace(info, loader={}).loader, ("ocr", "ocr_languages", "pdf_tables"))
    assert not LoadOptions(pdf_tables=False).changes({}, ("ocr", "ocr_languages", "pdf_tables"))
    assert not LoadOptions(pdf_tables=True).changes({}, ("ocr", "ocr_languages"))  # images: no tables to find
