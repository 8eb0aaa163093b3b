"""The Streamlit app, headless (AppTest), on fakes: every flow a user has.

Chat (evidence first, citations that open source cards with the page image, follow-ups, new chat, export,
stop), the library (uploads with per-file reports, delete, collections), study mode (quiz, summary), the
settings sidebar, and the clear states (no index, missing model, hostile text).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.testing.v1 import AppTest

from assistant import ui
from assistant.model_files import resolve_chat_model
from ingest import Settings, collect_sources, ingest
from ingest.manage import list_documents
from tests.conftest import HANDBOOK, ROOT, HashEmbedder, ScriptedChatModel

APP = str(ROOT / "streamlit_app.py")
VACATION = "How many vacation days per calendar year does every employee get?"


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[ScriptedChatModel]:
    """Point the app at a temporary index and give it fakes instead of the real models.

    A chat model given as a file path goes through the real resolver, so a missing file fails as it would."""
    model = ScriptedChatModel()
    embedder = HashEmbedder()
    model.loads = 0  # type: ignore[attr-defined]
    model.services_built = 0  # type: ignore[attr-defined]

    def load_model(chosen: Settings) -> ScriptedChatModel:
        if chosen.chat_model.endswith(".gguf"):
            resolve_chat_model(chosen)
        model.loads += 1  # type: ignore[attr-defined]
        return model

    def build_services(_settings: Settings) -> ui.Services:
        model.services_built += 1  # type: ignore[attr-defined]
        return ui.Services(settings, embedder, load_model)

    monkeypatch.setattr(ui, "services_factory", build_services)
    st.cache_resource.clear()
    yield model
    st.cache_resource.clear()


@pytest.fixture
def handbook_app(app_env: ScriptedChatModel, settings: Settings) -> AppTest:
    ingest(collect_sources([HANDBOOK]), settings, HashEmbedder())
    return run_app()


def run_app() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    assert not app.exception, app.exception
    return app


def markdown_text(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown).replace("\\", "")


def show(app: AppTest, view: str) -> AppTest:
    app.button_group(key="view").set_value(view).run()
    assert not app.exception, app.exception
    return app


def button(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in [*app.button, *app.sidebar.button] if b.label.startswith(label))


# Clear states -----------------------------------------------------------------------------------------


def test_empty_index_shows_a_guide(app_env: ScriptedChatModel) -> None:
    app = run_app()
    assert any("has no documents yet" in i.value and "Library" in i.value for i in app.info)
    assert app.chat_input[0].disabled
    show(app, "Library")
    assert app.file_uploader, "the guide's Library view has the uploader"
    show(app, "Study")
    assert any("Library" in i.value for i in app.info)


def test_missing_model_is_a_plain_message_and_the_evidence_stays(handbook_app: AppTest, tmp_path: Path) -> None:
    app = handbook_app
    app.sidebar.selectbox(key="model_choice").set_value("custom").run()
    app.sidebar.text_input(key="custom_model").set_value(str(tmp_path / "nowhere.gguf")).run()
    app.chat_input[0].set_value(VACATION).run()
    assert not app.exception
    assert any("No model file at" in e.value for e in app.error)
    assert any("Evidence" in e.label for e in app.expander)
    assert "27 vacation days" in markdown_text(app)  # the passage, found before the model was needed
    app.run()  # and after a rerun the history still says what went wrong, without a traceback
    assert any("No model file at" in e.value for e in app.error) and not app.exception


def test_unrelated_question_is_declined(handbook_app: AppTest, app_env: ScriptedChatModel) -> None:
    handbook_app.chat_input[0].set_value("Quantum chromodynamics gluon lattice").run()
    assert "The documents don't cover this question" in markdown_text(handbook_app)
    assert app_env.prompts == []


def test_hostile_document_text_is_shown_literally(
    app_env: ScriptedChatModel, settings: Settings, tmp_path: Path
) -> None:
    notes = tmp_path / "trap.md"
    notes.write_text("# Parking rules\nParking rules: ![leak](https://evil.example/p.png) <img src=x> park anywhere.")
    ingest(collect_sources([notes]), settings, HashEmbedder())
    app = run_app()
    app.chat_input[0].set_value("What are the parking rules?").run()
    app.button_group(key="cite-1").set_value(1).run()
    raw = "\n".join(m.value for m in app.markdown)
    assert not re.search(r"(?<!\\)\]\(", raw) and not re.search(r"(?<!\\)<img", raw), "no link, image or HTML"
    assert "evil" in raw  # shown, as inert text


# Chat ---------------------------------------------------------------------------------------------------


def test_evidence_then_answer_then_a_source_card_with_the_page(
    handbook_app: AppTest, app_env: ScriptedChatModel
) -> None:
    app = handbook_app
    app.chat_input[0].set_value(VACATION).run()
    assert not app.exception
    evidence = next(e for e in app.expander if e.label.startswith("Evidence"))
    assert "Northwind Analytics Employee Handbook, p. 3" in "\n".join(m.value for m in evidence.markdown).replace(
        "\\", ""
    ), "cited by the title in the PDF's info, not the file name"
    assert "27 vacation days" in markdown_text(app)
    assert len(app_env.prompts) == 1
    answer = app.chat_message[-1]
    assert "27 vacation days" in answer.markdown[0].value, "the answer comes first, the evidence under it"
    assert not any(e.label.startswith("The other") for e in app.expander), "no second list of passages"
    # The answer cites [1]; its citation is a button that opens the source card.
    cite = app.button_group(key="cite-1")
    assert [o for o in cite.options] == ["\\[1\\] Northwind Analytics Employee Handbook, p. 3"]
    cite.set_value(1).run()
    assert not app.exception
    card = markdown_text(app)
    assert ":orange-background[" in card and "vacation days per calendar year" in card  # the matching sentence
    assert len(app.image) == 1, "the PDF page, rendered"
    labels = [b.label for b in app.get("download_button")]
    assert "Download page 3 (PDF)" in labels and "Download the whole file" in labels
    next(b for b in app.button if b.label == "Open page 3").click().run()
    assert not app.exception and len(app.image) == 2, "the page, full size in the app"
    assert any("File: northwind-handbook.pdf" in c.value for c in app.caption), "the card names the file"
    # Reruns keep the card open and do not call the model again.
    app.run()
    assert len(app.image) >= 1 and len(app_env.prompts) == 1
    assert app_env.services_built == 1 and app_env.loads == 1  # type: ignore[attr-defined]


def test_follow_up_shows_its_rewritten_query_and_new_chat_forgets(
    handbook_app: AppTest, app_env: ScriptedChatModel
) -> None:
    app = handbook_app
    app.chat_input[0].set_value(VACATION).run()
    app_env.replies = ["How many days can employees carry over into the next year?"]  # the rewrite
    app.chat_input[0].set_value("And how many can they carry over?").run()
    assert not app.exception
    assert any("Searched for: How many days can employees carry over" in c.value.replace("\\", "") for c in app.caption)
    assert [m["role"] for m in app_env.prompts[-1]][:3] == ["system", "user", "assistant"], "history is sent"
    button(app, "New chat").click().run()
    assert not app.chat_message
    app.chat_input[0].set_value(VACATION).run()
    assert [m["role"] for m in app_env.prompts[-1]] == ["system", "user"], "the new chat has no history"


def test_export_is_enabled_once_there_is_a_conversation(handbook_app: AppTest) -> None:
    app = handbook_app
    export = next(b for b in app.get("download_button") if b.label.startswith("Export"))
    assert export.proto.disabled
    app.chat_input[0].set_value(VACATION).run()
    export = next(b for b in app.get("download_button") if b.label.startswith("Export"))
    assert not export.proto.disabled


def test_chat_markdown_has_questions_answers_and_cited_passages() -> None:
    messages = [
        {"role": "user", "content": "How many vacation days?"},
        {
            "role": "assistant",
            "content": "27 days [1]",
            "query": "vacation days per year",
            "sources": [
                {"number": 1, "citation": "handbook.pdf, p. 3", "text": "Employees get 27 days.", "cited": True},
                {"number": 2, "citation": "x.md", "text": "![a](https://evil.example/a.png)", "cited": False},
            ],
        },
    ]
    text = ui.chat_markdown(messages, "Conversation")
    assert text.startswith("# Conversation\n\n## How many vacation days?")
    assert "27 days \\[1\\]" in text and "\\[1\\] handbook.pdf, p. 3" in text  # no needless escapes
    assert "> Employees get 27 days." in text and "Searched for: vacation days per year" in text
    assert "evil" not in text, "only the cited passages go in"


def test_stop_keeps_what_was_written(
    handbook_app: AppTest, app_env: ScriptedChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamlit stops a run by raising at the next element update; the partial answer must survive it."""
    app_env.replies = ["Every employee gets twenty seven days of paid vacation each year [1]"]
    original = DeltaGenerator.markdown
    updates = {"n": 0}

    def interrupted(self: DeltaGenerator, body: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if isinstance(body, str) and body.endswith("▌"):
            updates["n"] += 1
            if updates["n"] == 4:
                raise StopException()
        return original(self, body, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DeltaGenerator, "markdown", interrupted)
    app = handbook_app
    app.chat_input[0].set_value(VACATION).run()
    monkeypatch.setattr(DeltaGenerator, "markdown", original)
    app.run()
    assert not app.exception
    text = markdown_text(app)
    assert "Every employee gets (stopped)" not in text
    assert "Every employee gets twenty … (stopped)" in text
    assert "carry over" not in text


# Saved chats --------------------------------------------------------------------------------------------


def test_a_reload_keeps_the_chat_with_its_citations(handbook_app: AppTest, app_env: ScriptedChatModel) -> None:
    app = handbook_app
    app.chat_input[0].set_value(VACATION).run()
    assert app.query_params["chat"] in ("1", ["1"]), "the open chat is in the address"
    reloaded = AppTest.from_file(APP, default_timeout=30)
    reloaded.query_params["chat"] = "1"
    reloaded.run()
    assert not reloaded.exception
    assert "27 vacation days" in markdown_text(reloaded) and len(reloaded.chat_message) == 2
    reloaded.button_group(key="cite-1").set_value(1).run()
    assert len(reloaded.image) == 1, "the citation card is rebuilt from what was saved"
    assert not any("no longer" in c.value for c in reloaded.caption)
    # A follow-up in the reopened chat is sent with its history.
    app_env.replies = ["How many vacation days can be carried over?", "Five days can be carried over. [1]"]
    reloaded.chat_input[0].set_value("And how many can they carry over?").run()
    assert [m["role"] for m in app_env.prompts[-1]][:3] == ["system", "user", "assistant"]


def test_switching_collection_switches_chats(handbook_app: AppTest, settings: Settings) -> None:
    from ingest.manage import create_collection

    create_collection(settings, "biology 101")
    app = handbook_app
    app.chat_input[0].set_value(VACATION).run()
    app.sidebar.selectbox(key="collection").set_value("biology 101").run()
    assert not app.exception and not app.chat_message, "the handbook's answer is not shown beside biology"
    assert any("biology 101" in i.value and "no documents" in i.value for i in app.info)
    app.sidebar.selectbox(key="collection").set_value("default").run()
    assert "27 vacation days" in markdown_text(app), "and it is back with its collection"
    assert not any("no longer" in c.value or "moved" in c.value for c in app.caption)


def test_new_chat_loses_nothing_and_chats_can_be_reopened_renamed_and_deleted(handbook_app: AppTest) -> None:
    app = handbook_app
    app.chat_input[0].set_value(VACATION).run()
    button(app, "New chat").click().run()
    assert not app.chat_message
    app.chat_input[0].set_value("What is the daily meal allowance when travelling?").run()
    listed = [b.label for b in app.sidebar.button if b.key and b.key.startswith("open-chat-")]
    assert len(listed) == 2 and "What is the daily meal allowance" in listed[0].replace("\\", "")
    next(b for b in app.sidebar.button if b.key == "open-chat-1").click().run()
    assert "27 vacation days" in markdown_text(app) and len(app.chat_message) == 2
    app.sidebar.text_input(key="chat-title-1").set_value("Vacation").run()
    next(b for b in app.sidebar.button if b.key == "rename-chat").click().run()
    assert any(b.label == "Vacation" for b in app.sidebar.button)
    next(b for b in app.sidebar.button if b.key == "delete-chat").click().run()
    assert any("can't be undone" in w.value for w in app.sidebar.warning), "delete asks first"
    next(b for b in app.sidebar.button if b.key == "delete-chat-yes").click().run()
    assert not app.exception and not app.chat_message
    assert [b.key for b in app.sidebar.button if b.key and b.key.startswith("open-chat-")] == ["open-chat-2"]


def test_an_empty_chat_suggests_questions_per_document(handbook_app: AppTest, app_env: ScriptedChatModel) -> None:
    app = handbook_app
    suggested = [b for b in app.button if b.key and b.key.startswith("suggested-")]
    assert suggested and all("Northwind Analytics Employee Handbook" in b.label for b in suggested)
    assert any("vacation" in b.label.lower() or "welcome" in b.label.lower() for b in suggested)
    suggested[0].click().run()
    assert not app.exception and len(app.chat_message) == 2 and app_env.prompts, "clicking one asks it"
    assert not [b for b in app.button if b.key and b.key.startswith("suggested-")], "then they make room"


# The library --------------------------------------------------------------------------------------------


def test_upload_reports_each_file(app_env: ScriptedChatModel, settings: Settings, tmp_path: Path) -> None:
    from tests.conftest import write_pdf

    scanned = write_pdf(tmp_path / "scan.pdf", ["Some text on the first page.", ""])
    app = show(run_app(), "Library")
    app.file_uploader[0].set_value(
        [
            ("handbook.pdf", HANDBOOK.read_bytes(), "application/pdf"),
            ("../../etc/evil.pdf", b"\x89PNG\r\n\x1a\n" + bytes(64), "application/pdf"),
            ("notes.md", b"# Notes\nThe lab report is due on Friday.", "text/markdown"),
            ("scan.pdf", scanned.read_bytes(), "application/pdf"),
        ]
    ).run()
    button(app, "Add to index").click().run()
    assert not app.exception
    successes = " ".join(s.value for s in app.success).replace("\\", "")
    errors = " ".join(e.value for e in app.error).replace("\\", "")
    warnings = " ".join(w.value for w in app.warning).replace("\\", "")
    assert "handbook.pdf: indexed, 10 pages" in successes and "notes.md: indexed" in successes
    assert "evil.pdf: failed" in errors and "PNG image" in errors
    assert "scan.pdf: indexed" in warnings and "no text on pages 2" in warnings
    stored = sorted(p.name for p in settings.upload_dir.iterdir())
    assert len(stored) == 3 and all(len(Path(n).stem) == 64 for n in stored)  # content-hash names only
    assert not (settings.upload_dir.parent / "etc").exists()
    table = app.dataframe[0].value
    assert sorted(table["document"]) == ["handbook.pdf", "notes.md", "scan.pdf"]
    # Adding the same file again: reported as unchanged, nothing re-embedded.
    app.file_uploader[0].set_value([("handbook.pdf", HANDBOOK.read_bytes(), "application/pdf")]).run()
    button(app, "Add to index").click().run()
    assert "handbook.pdf: unchanged" in " ".join(s.value for s in app.success).replace("\\", "")


def test_an_uploaded_pdf_shows_its_page_in_the_chat(app_env: ScriptedChatModel, settings: Settings) -> None:
    app = show(run_app(), "Library")
    app.file_uploader[0].set_value([("handbook.pdf", HANDBOOK.read_bytes(), "application/pdf")]).run()
    button(app, "Add to index").click().run()
    show(app, "Chat").chat_input[0].set_value(VACATION).run()
    app.button_group(key="cite-1").set_value(1).run()
    assert not app.exception and len(app.image) == 1


def test_a_cited_slide_is_drawn_on_its_source_card(
    app_env: ScriptedChatModel, settings: Settings, tmp_path: Path
) -> None:
    from tests.test_slide_render import build_deck

    ingest(collect_sources([build_deck(tmp_path / "terns.pptx")]), settings, HashEmbedder())
    app = run_app()
    app.chat_input[0].set_value("How many kilometres do arctic terns migrate between the poles?").run()
    cite = app.button_group(key="cite-1")
    assert cite.options[0].endswith("slide 2"), cite.options
    cite.set_value(1).run()
    assert not app.exception and len(app.image) == 1, "the slide, drawn in the worker"
    labels = [b.label for b in app.get("download_button")]
    assert "Download the whole file" in labels and not any("(PDF)" in label for label in labels), "PDF pages only"
    next(b for b in app.button if b.label == "Open slide 2").click().run()
    assert not app.exception and len(app.image) == 2, "the slide, full size in the app"


def test_delete_removes_a_document(handbook_app: AppTest, settings: Settings, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\nThe lab report is due on Friday.")
    ingest(collect_sources([notes]), settings, HashEmbedder())
    app = show(handbook_app, "Library")
    assert sorted(app.dataframe[0].value["document"]) == ["northwind-handbook.pdf", "notes.md"]
    app.multiselect(key="doomed").set_value(["notes.md"]).run()
    button(app, "Delete 1 document").click().run()
    assert any("Remove" in w.value for w in app.warning), "delete asks first"
    app.button(key="delete-yes").click().run()
    assert not app.exception
    assert list(app.dataframe[0].value["document"]) == ["northwind-handbook.pdf"]
    assert "notes.md: deleted" in " ".join(s.value for s in app.success).replace("\\", "")
    assert [d.source for d in list_documents(settings)] == ["northwind-handbook.pdf"]


def test_collections_are_created_and_picked(handbook_app: AppTest, settings: Settings) -> None:
    app = handbook_app
    app.sidebar.text_input(key="new_collection").set_value("../escape").run()
    button(app, "Create collection").click().run()
    assert any("not a valid collection name" in e.value for e in app.sidebar.error)
    app.sidebar.text_input(key="new_collection").set_value("biology").run()
    button(app, "Create collection").click().run()
    assert not app.exception
    assert app.sidebar.selectbox(key="collection").value == "biology"
    assert any("biology" in i.value and "no documents" in i.value for i in app.info)
    show(app, "Library").file_uploader[0].set_value([("cells.md", b"# Cells\nMitochondria make ATP.", "text/markdown")])
    app.run()
    button(app, "Add to index").click().run()
    assert list(app.dataframe[0].value["document"]) == ["cells.md"]
    assert [d.source for d in list_documents(settings, "biology")] == ["cells.md"]
    app.sidebar.selectbox(key="collection").set_value("default").run()
    assert list(app.dataframe[0].value["document"]) == ["northwind-handbook.pdf"]


# Study mode ---------------------------------------------------------------------------------------------


BIOLOGY = (
    "# Cells\nCells are the unit of life. Mitochondria make ATP, the energy currency of the cell, from sugar and "
    "oxygen. The nucleus holds the genetic material of the cell and controls which proteins are made there.\n\n"
    "# Genetics\nDNA stores genetic information in four bases. Genes are copied into RNA, which ribosomes read to "
    "build proteins from amino acids. A change in one base can change the protein that a gene makes.\n\n"
    "# Evolution\nNatural selection acts on variation between individuals of a population. Traits that help "
    "survival and reproduction become more common over 1000 generations or more, as Darwin argued in 1859."
)


@pytest.fixture
def biology_app(app_env: ScriptedChatModel, settings: Settings, tmp_path: Path) -> AppTest:
    notes = tmp_path / "biology.md"
    notes.write_text(BIOLOGY)
    ingest(collect_sources([notes]), settings, HashEmbedder())
    return run_app()


def test_quiz_is_checked_against_its_passages_answered_scored_and_exported(
    biology_app: AppTest, app_env: ScriptedChatModel
) -> None:
    app = show(biology_app, "Study")
    app.slider(key="quiz_count").set_value(3).run()
    app_env.replies = [
        "Question: What do mitochondria make?\nAnswer: ATP",
        "**Question:** How many bases store genetic information in DNA?\n**Answer:** 12 bases",  # not stated
        "Question: When did Darwin argue for natural selection?\nAnswer: 1859",
    ]
    button(app, "Make a quiz").click().run()
    assert not app.exception
    text = markdown_text(app)
    assert "1. What do mitochondria make?" in text and "2. When did Darwin argue" in text and "3." not in text
    answers = [e for e in app.expander if e.label == "Answer and source"]
    assert len(answers) == 2
    assert "Answer: ATP" in "\n".join(m.value for m in answers[0].markdown).replace("\\", "").replace("*", "")
    assert any("From biology.md, § Cells" in c.value.replace("\\", "") for c in answers[0].caption)
    assert all("<passage>" in p[-1]["content"] for p in app_env.prompts[-3:]), "passages are quoted as data"
    assert "Score: 0 of 2 (0 answered)" in text
    app.text_input(key="quiz-1").set_value("atp").run()
    app.button(key="quiz-check-1").click().run()
    app.text_input(key="quiz-2").set_value("1895").run()
    app.button(key="quiz-check-2").click().run()
    assert "Score: 1 of 2 (2 answered)" in markdown_text(app)
    assert any("Right: ATP" in s.value for s in app.success) and any("1859" in e.value for e in app.error)
    # The quiz survives a summary, and exports.
    app_env.replies = ["Cells make ATP.", "DNA is copied into RNA.", "Selection acts on variation."]
    button(app, "Summarize by section").click().run()
    assert not app.exception
    text = markdown_text(app)
    assert "Score: 1 of 2 (2 answered)" in text and "Summary: The whole collection" in text
    downloads = {b.label: b for b in app.get("download_button")}
    assert {"Quiz (Markdown)", "Flashcards (CSV)"} <= set(downloads)


def test_quiz_exports_as_markdown_and_flashcards() -> None:
    items = [
        {"question": "What do mitochondria make?", "answer": "ATP", "source": {"citation": "Biology, § Cells"}},
        {"question": "=cmd|' /C calc'!A0", "answer": "step-back, 1859", "source": {"citation": "x.md"}},
    ]
    text = ui.quiz_markdown("Biology notes", items)
    assert text.startswith("# Quiz: Biology notes\n\n1\\. What do mitochondria make?")
    assert "**Answer:** ATP" in text and "step-back" in text and "\\-" not in text
    rows = list(csv.reader(io.StringIO(ui.quiz_csv(items))))
    assert rows[0] == ["What do mitochondria make?", "ATP (Biology, § Cells)"]
    assert rows[1][0].startswith(" =") and len(rows) == 2, "no formula for a spreadsheet to run"


def test_summary_goes_section_by_section_with_citations(
    app_env: ScriptedChatModel, settings: Settings, tmp_path: Path
) -> None:
    notes = tmp_path / "biology.md"
    notes.write_text(
        "# Cells\nCells are the unit of life. Mitochondria make ATP.\n\n"
        "# Genetics\nDNA stores genetic information. Genes are copied into RNA.\n\n"
        "# Evolution\nNatural selection acts on variation between individuals."
    )
    ingest(collect_sources([notes]), settings, HashEmbedder())
    app = show(run_app(), "Study")
    app_env.replies = ["Cells are life's unit.", "DNA stores information.", "Selection acts on variation."]
    button(app, "Summarize by section").click().run()
    assert not app.exception
    text = markdown_text(app)
    for title, summary in [("Cells", "Cells are life's unit."), ("Genetics", "DNA stores information.")]:
        assert title in text and summary in text
    captions = " ".join(c.value for c in app.caption).replace("\\", "")
    assert "[1] biology.md, § Cells" in captions and "[3] biology.md, § Evolution" in captions


# Settings -----------------------------------------------------------------------------------------------


def test_sidebar_shows_the_model_catalog_and_what_is_active(handbook_app: AppTest, app_env: ScriptedChatModel) -> None:
    app = handbook_app
    choice = app.sidebar.selectbox(key="model_choice")
    assert "packaged:smollm2-135m-instruct-q4_1" in choice.options or any("SmolLM2" in o for o in choice.options)
    assert choice.options[-1] == "Custom GGUF file…"
    status = " ".join(c.value for c in app.sidebar.caption).replace("\\", "")
    assert "Embedder: hash-bow" in status and "1 document, " in status and "passages" in status
    # Answer settings reach the model call.
    app.chat_input[0].set_value(VACATION).run()
    assert app_env.prompts[-1][-1]["content"].count("<source id=") > 2, "the default top-k gives more than 2"
    app.sidebar.slider[0].set_value(2).run()  # top-k
    app.chat_input[0].set_value("What is the daily meal allowance when travelling?").run()
    assert app_env.prompts[-1][-1]["content"].count("<source id=") <= 2


def test_the_configured_chat_model_is_the_pickers_default_wherever_it_is_in_the_catalog(
    app_env: ScriptedChatModel, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.model_dir.mkdir(parents=True)
    for name in ("a-first.gguf", "b-second.gguf", "c-third.gguf"):
        (settings.model_dir / name).write_bytes(b"GGUF")
    wanted = str(settings.model_dir / "b-second.gguf")
    build = ui.services_factory
    for configured in (wanted, f"{settings.model_dir}/./b-second.gguf"):  # also when spelled as another path
        built = build(settings)
        configured_services = replace(built, settings=settings.model_copy(update={"chat_model": configured}))
        monkeypatch.setattr(ui, "services_factory", lambda _settings, s=configured_services: s)
        st.cache_resource.clear()
        choice = run_app().sidebar.selectbox(key="model_choice")
        assert choice.value == wanted, configured
        assert len(set(choice.options)) == len(choice.options) and "b-second.gguf (0.0 GB)" in choice.options


def test_a_source_whose_file_is_gone_says_so(app_env: ScriptedChatModel, settings: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "handbook.pdf"
    copy.write_bytes(HANDBOOK.read_bytes())
    ingest(collect_sources([copy]), settings, HashEmbedder())
    copy.unlink()
    app = run_app()
    app.chat_input[0].set_value(VACATION).run()
    app.button_group(key="cite-1").set_value(1).run()
    assert not app.exception and not app.image
    assert any("no longer where it was indexed" in c.value for c in app.caption)
    assert "27 vacation days" in markdown_text(app), "the passage itself is still shown"


def test_a_collection_deleted_elsewhere_falls_back_to_the_default(handbook_app: AppTest, settings: Settings) -> None:
    from ingest.manage import create_collection, delete_collection

    create_collection(settings, "gone-soon")
    create_collection(settings, "archive")  # sorts first: the fallback must be the configured one, not the first
    app = handbook_app
    app.run()
    app.sidebar.selectbox(key="collection").set_value("gone-soon").run()
    delete_collection(settings, "gone-soon")
    app.run()
    assert not app.exception
    assert app.sidebar.selectbox(key="collection").value == "default"


def test_two_uploads_with_one_name_are_both_kept_and_each_deletable(
    app_env: ScriptedChatModel, settings: Settings
) -> None:
    app = show(run_app(), "Library")
    for text in (b"# Minutes\nThe budget was approved.", b"# Minutes\nThe budget was rejected."):
        app.file_uploader[0].set_value([("minutes-march.md", text, "text/markdown")]).run()
        button(app, "Add to index").click().run()
        assert not app.exception
    names = sorted(app.dataframe[0].value["document"])
    assert len(names) == 2 and names[0] == "minutes-march.md" and names[1].startswith("minutes-march.md")
    doomed = next(d for d in list_documents(settings) if d.source == names[1])
    app.multiselect(key="doomed").set_value([doomed.doc_id]).run()
    button(app, "Delete 1 document").click().run()
    assert any("Remove" in w.value for w in app.warning), "delete asks first"
    app.button(key="delete-yes").click().run()
    assert not app.exception
    assert [d.source for d in list_documents(settings)] == ["minutes-march.md"]
