"""Source cards: matching sentences, finding the original file by content, the page as an image and a PDF."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from pypdf import PdfReader

from assistant.evidence import highlight, locate, page_pdf, render_page, split_sentences
from ingest import Settings, collect_sources, ingest, save_upload
from ingest.manage import list_documents
from tests.conftest import HANDBOOK, HashEmbedder


def test_sentences_keep_every_character_in_order() -> None:
    text = "Dr. Smith arrived. Then (at 9 a.m.) he left!\n\n- first item\n- second item? Yes."
    pieces = split_sentences(text)
    assert "".join(pieces) == text
    assert len(pieces) >= 4


def test_the_best_matching_sentences_are_marked() -> None:
    text = (
        "Every employee gets 27 vacation days per calendar year. Unused days expire in March. "
        "The cafeteria opens at 8. Up to 5 vacation days carry over."
    )
    marked = [s.text.strip() for s in highlight(text, "How many vacation days do employees get per year?") if s.matches]
    assert marked[0] == "Every employee gets 27 vacation days per calendar year."
    assert "The cafeteria opens at 8." not in marked
    assert not any(s.matches for s in highlight(text, "quantum chromodynamics"))


def test_the_original_is_found_by_content_and_refused_once_changed(settings: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "handbook.pdf"
    shutil.copyfile(HANDBOOK, copy)
    ingest(collect_sources([copy]), settings, HashEmbedder())
    [document] = list_documents(settings)
    assert locate(document, settings) == copy.resolve()
    copy.write_bytes(copy.read_bytes() + b"\n%changed")
    assert locate(document, settings) is None, "a changed file is not shown as the indexed one"
    copy.unlink()
    assert locate(document, settings) is None


def test_an_upload_is_found_under_its_hash_name(settings: Settings) -> None:
    source = save_upload(HANDBOOK.read_bytes(), "../../x/handbook.pdf", settings.upload_dir, 10_000_000)
    ingest([source], settings, HashEmbedder())
    [document] = list_documents(settings)
    assert locate(document, settings) == source.path
    assert source.path.parent == settings.upload_dir


def test_a_page_renders_as_png_and_extracts_as_a_one_page_pdf(settings: Settings) -> None:
    png = render_page(HANDBOOK, 3, settings, width=400)
    assert png.startswith(b"\x89PNG")
    from PIL import Image

    assert Image.open(io.BytesIO(png)).size[0] == 400
    single = PdfReader(io.BytesIO(page_pdf(HANDBOOK, 3, settings)))
    assert len(single.pages) == 1 and "vacation" in single.pages[0].extract_text().lower()


def test_pages_of_the_files_pypdf_gives_up_on_and_of_encrypted_ones(settings: Settings) -> None:
    import pytest

    from tests.conftest import SHARED

    folder = SHARED / "eval" / "data" / "docugami-sec-10q" / "pdfs"
    if not folder.is_dir():
        pytest.skip("../shared/eval is not beside the checkout")
    for name in ["2023 Q1 MSFT.pdf", "2022 Q3 AAPL.pdf"]:  # pypdf's LimitReachedError; AES, empty password
        assert len(PdfReader(io.BytesIO(page_pdf(folder / name, 2, settings))).pages) == 1
        assert render_page(folder / name, 2, settings, width=200).startswith(b"\x89PNG")
