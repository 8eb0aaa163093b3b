"""People correct what a document says it is (company or title, form, fiscal year and quarter, period end): the
values are checked, committed alone without re-embedding, kept when the same file is read again, and used by
retrieval's name and period boosts from the next snapshot on."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.lexical import lexical_index
from ingest import AssistantError, IndexStoreError, Settings, collect_sources, ingest, open_index
from ingest.cleanup import TEXT_VERSION
from ingest.describe import corrected, summary, with_corrections
from ingest.manage import correct_document
from tests.conftest import HashEmbedder, ScriptedChatModel
from tests.test_app import app_env, run_app  # noqa: F401 - app_env is a fixture


def _filing(year: int) -> str:
    return (
        f"FORM 10-K\nFor the fiscal year ended December 31, {year}\nACME CORP\n"
        "(Exact name of registrant as specified in its charter)\n\n# Results\n\n"
        f"Net sales of anvils and rockets grew in {year} across every region we serve.\n"
    )


@pytest.fixture
def filings(tmp_path: Path, settings: Settings) -> Path:
    folder = tmp_path / "filings"
    folder.mkdir()
    (folder / "acme-a.md").write_text(_filing(2019))
    (folder / "acme-b.md").write_text(_filing(2020))
    ingest(collect_sources([folder]), settings, HashEmbedder())
    return folder


def _by_source(settings: Settings) -> dict[str, str]:
    return {d.source: d.doc_id for d in open_index(settings, HashEmbedder()).documents.values()}


def test_corrections_are_checked_and_written_as_the_reader_writes_them() -> None:
    about = {"company": "ACME", "form": "10-Q", "fiscal_year": 2019, "fiscal_quarter": 1, "from_name": ["company"]}
    fixed = corrected(
        about,
        {
            "company": "  ACME\u202e Corp\n",
            "form": "10k",
            "fiscal_year": "FY2021",
            "fiscal_quarter": "",
            "period_end": "",
        },
    )
    assert fixed == {
        "company": "ACME Corp",  # control and bidirectional characters dropped, spaces made single
        "form": "10-K",
        "fiscal_year": 2021,
        "corrected": ["company", "fiscal_quarter", "fiscal_year", "form", "period_end"],
    }
    assert summary(fixed) == "ACME Corp · 10-K · FY2021"
    assert corrected({}, {"fiscal_quarter": "q3", "period_end": "2022-09-30"})["fiscal_quarter"] == 3
    assert corrected({}, {"form": "Earnings Release"})["form"] == "earnings release"
    assert corrected({}, {"form": "prospectus"})["form"] == "prospectus"
    for change, words in [
        ({"fiscal_year": "twenty"}, "fiscal year must be a year"),
        ({"fiscal_quarter": "5"}, "quarter must be 1, 2, 3 or 4"),
        ({"period_end": "2022-02-30"}, "period end must be a date"),
        ({"company": "x" * 201}, "too long"),
        ({"pages": 3}, "cannot be corrected"),
    ]:
        with pytest.raises(ValueError, match=words):
            corrected(about, change)
    fresh = {"company": "ACME", "form": "10-K", "fiscal_year": 2019}
    assert with_corrections(fresh, {}) is fresh
    assert with_corrections(fresh, fixed) == fixed  # what the person set or removed stays so


def test_a_correction_is_one_commit_without_embedding_and_retrieval_uses_it(filings: Path, settings: Settings) -> None:
    ids = _by_source(settings)
    embedder = HashEmbedder()
    before = open_index(settings, embedder)
    chunks = before.all_chunks()
    assert lexical_index(before).period_ranks("ACME net sales in FY2019") == {ids["acme-a.md"]: 1}
    assert lexical_index(before).period_ranks("ACME net sales in FY2021") == {}
    assert lexical_index(before).document_ranks("What did Globex sell?") == {}

    info = correct_document(settings, ids["acme-b.md"], {"fiscal_year": "2021", "company": "Globex Corporation"})
    assert info.about["fiscal_year"] == 2021 and info.about["company"] == "Globex Corporation"
    after = open_index(settings, embedder)
    assert after.version != before.version and after.documents[ids["acme-b.md"]] == info
    assert after.all_chunks() == chunks  # nothing read or embedded again
    assert lexical_index(after).period_ranks("ACME net sales in FY2021") == {ids["acme-b.md"]: 1}
    assert lexical_index(after).document_ranks("What did Globex sell?") == {ids["acme-b.md"]: 1}
    assert lexical_index(before).period_ranks("ACME net sales in FY2021") == {}  # the old snapshot is unchanged

    # By name too; the same values again commit nothing; a bad value changes nothing and says why.
    assert correct_document(settings, "acme-b.md", {"fiscal_year": 2021}).about == info.about
    assert open_index(settings, embedder).version == after.version
    with pytest.raises(AssistantError, match=r"acme-b\.md: The fiscal quarter must be"):
        correct_document(settings, ids["acme-b.md"], {"fiscal_quarter": "Q9", "company": "Initech"})
    assert open_index(settings, embedder).documents[ids["acme-b.md"]] == info
    with pytest.raises(IndexStoreError, match="Not in the collection"):
        correct_document(settings, "missing.md", {"fiscal_year": 2021})


def test_a_correction_outlives_reading_the_same_file_again(
    filings: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc_id = _by_source(settings)["acme-a.md"]
    correct_document(settings, doc_id, {"company": "Acme Rockets", "period_end": ""})
    monkeypatch.setattr("ingest.batch.TEXT_VERSION", TEXT_VERSION + 1)
    monkeypatch.setattr("ingest.pipeline.TEXT_VERSION", TEXT_VERSION + 1)
    report = ingest(collect_sources([filings]), settings, HashEmbedder())
    assert {f.status for f in report.files} == {"indexed"}  # read again: the text cleaning changed
    about = open_index(settings, HashEmbedder()).documents[doc_id].about
    assert about["company"] == "Acme Rockets" and "period_end" not in about  # as the person left them
    assert about["fiscal_year"] == 2019 and about["form"] == "10-K"  # the rest read afresh


def test_the_library_shows_the_description_and_a_person_corrects_it(
    filings: Path,
    settings: Settings,
    app_env: ScriptedChatModel,  # noqa: F811
) -> None:
    ids = _by_source(settings)
    app = run_app()
    app.button_group(key="view").set_value("Library").run()
    table = app.dataframe[0].value
    shown = dict(zip(table["document"], table["describes itself as"], strict=True))
    assert shown == {"acme-a.md": "ACME CORP · 10-K · FY2019", "acme-b.md": "ACME CORP · 10-K · FY2020"}
    assert list(table["period end"]) == ["2019-12-31", "2020-12-31"]

    def fill(**values: str) -> None:
        app.selectbox(key="about_doc").set_value(ids["acme-b.md"]).run()
        for label, value in values.items():
            next(t for t in app.text_input if t.label == label).set_value(value)
        next(b for b in app.button if b.label == "Save").click().run()
        assert not app.exception, app.exception

    fill(**{"Fiscal year": "twenty twenty-one", "Company or title": "Globex"})  # refused, nothing saved
    assert any("fiscal year must be a year" in e.value for e in app.error)
    assert open_index(settings, HashEmbedder()).documents[ids["acme-b.md"]].about["company"] == "ACME CORP"
    fill(**{"Fiscal year": "FY2021", "Company or title": "Globex <b>Corp</b>", "Form": "10k"})
    assert any("Saved: acme-b.md" in s.value for s in app.success)
    table = app.dataframe[0].value
    assert list(table["describes itself as"])[1] == "Globex <b>Corp</b> · 10-K · FY2021 (corrected)"  # as text
    assert next(t for t in app.text_input if t.label == "Form").value == "10-K"  # the boxes show what was saved
    about = open_index(settings, HashEmbedder()).documents[ids["acme-b.md"]].about
    assert about["fiscal_year"] == 2021 and about["corrected"] == ["company", "fiscal_year", "form"]
    assert not any("<b>" in m.value for m in app.markdown)  # never rendered as HTML or Markdown
