"""The library page: uploads with a report per file, the documents and what they say they are (which people
can correct), deletion."""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from assistant.ui import safe_markdown
from ingest import (
    AssistantError,
    Collection,
    Settings,
    display_name,
    ingest,
    save_upload,
)
from ingest.describe import EDITABLE
from ingest.describe import summary as describe_summary
from ingest.errors import DocumentError
from ingest.instructions import flagged_counts
from ingest.load import SUPPORTED_SUFFIXES
from ingest.manage import correct_document, delete_documents
from ingest.multilingual import with_collection_embedder
from ingest.types import DocumentInfo, FileReport

from .evidence_view import titles_of
from .services import embedder


def library_view(settings: Settings, store: Collection) -> None:
    st.subheader(f"Library: {safe_markdown(settings.collection)}")
    uploads = st.file_uploader(
        "Add documents",
        accept_multiple_files=True,
        key=f"uploader-{st.session_state.upload_round}",
        type=[s.lstrip(".") for s in sorted(SUPPORTED_SUFFIXES)],
        help="The type is checked from the content, not the name.",
    )
    st.caption(f"PDF, Word, Markdown, HTML or text, up to {settings.max_file_mb:g} MB each.")
    if uploads and st.button("Add to index", type="primary"):
        add_uploads(uploads, settings)
        st.session_state.upload_round += 1
        st.rerun()
    for report in st.session_state.upload_reports:
        show_report(report)
    documents = store.list_documents()
    if not documents:
        st.info("No documents in this collection yet.")
        return
    flagged = flagged_counts(store.all_chunks())
    titles = titles_of(store)
    st.dataframe(
        [
            {
                "title": titles.get(d.doc_id, d.source),
                "document": d.source,
                "describes itself as": describe_summary(d.about) + (" (corrected)" if d.about.get("corrected") else ""),
                "period end": d.about.get("period_end", ""),
                "pages": d.pages,
                "passages": d.chunks,
                "added": d.ingested_at[:16].replace("T", " "),
                "pages without text": len(d.empty_pages),
                "pages read by OCR": page_ranges(d.ocr_pages),
                "passages addressing the assistant": flagged.get(d.doc_id, 0),
            }
            for d in documents
        ],
        hide_index=True,
    )
    if any(flagged.get(d.doc_id) for d in documents):
        st.caption(
            'Passages addressing the assistant ("ignore previous instructions", "reply only with: …") are '
            "written to an AI, not to a reader, and are kept out of answers."
        )
    if any(flagged.get(d.doc_id, 0) is None for d in documents):
        st.caption("No count: indexed before passages were checked; they are checked when searched.")
    names = {d.doc_id: d.source for d in documents}  # chosen by id: two documents may share a file name
    correction_form(settings, store, names)
    doomed = st.multiselect("Remove from the index", list(names), format_func=names.__getitem__, key="doomed")
    if doomed and st.button(f"Delete {plural(len(doomed), 'document')}…"):
        st.session_state.confirm_delete = sorted(doomed)
    if doomed and st.session_state.get("confirm_delete") == sorted(doomed):  # asked first, in words
        st.warning(safe_markdown(f"Remove {', '.join(names[d] for d in doomed)} from {settings.collection}? "
                                 "Answers will no longer cite it."))  # fmt: skip
        yes, no, _ = st.columns([1, 1, 3])
        if no.button("Cancel", key="delete-no"):
            st.session_state.pop("confirm_delete")
            st.rerun()
        if yes.button("Yes, delete", type="primary", key="delete-yes"):
            st.session_state.pop("confirm_delete")
            try:
                removed = delete_documents(settings, doomed, lock_timeout=30)
            except AssistantError as exc:
                st.error(safe_markdown(str(exc)))
            else:
                st.session_state.upload_reports = [FileReport(d.source, "deleted") for d in removed]
                st.session_state.pop("doomed")
                st.rerun()


QUARTERS = ["", "1", "2", "3", "4"]


def correction_form(settings: Settings, store: Collection, names: dict[str, str]) -> None:
    """A form for the chosen document's self-description (company or title, form, fiscal year and quarter,
    period end), read at ingest and sometimes wrong: saved in one commit, used by retrieval from then on.
    Values are shown in input boxes, never as Markdown or HTML."""
    if saved := st.session_state.pop("about_saved", None):
        st.success(safe_markdown(saved))
    with st.expander("Correct what a document says it is"):
        doc_id = st.selectbox("Document", list(names), format_func=names.__getitem__, key="about_doc")
        if doc_id is None:
            return
        info = store.documents[doc_id]
        shown = {key: str(info.about.get(key, "")) for key in EDITABLE}
        # Keyed by the snapshot: after a commit the boxes show the values as saved (`10k` becomes `10-K`).
        key = f"about-{doc_id[:16]}-{hashlib.sha256(store.version.encode()).hexdigest()[:8]}"
        with st.form(key):
            entered = {
                "company": st.text_input(EDITABLE["company"], shown["company"]),
                "form": st.text_input(EDITABLE["form"], shown["form"], placeholder="10-K, 10-Q, 8-K…"),
                "fiscal_year": st.text_input(EDITABLE["fiscal_year"], shown["fiscal_year"], placeholder="2020"),
                "fiscal_quarter": st.selectbox(
                    EDITABLE["fiscal_quarter"],
                    QUARTERS,
                    index=QUARTERS.index(shown["fiscal_quarter"]) if shown["fiscal_quarter"] in QUARTERS else 0,
                    format_func=lambda q: f"Q{q}" if q else "none (a whole year)",
                ),
                "period_end": st.text_input(EDITABLE["period_end"], shown["period_end"], placeholder="2020-12-31"),
            }
            submitted = st.form_submit_button("Save")
        st.caption("An empty box removes the value. Answers and search use the corrected values at once.")
    if submitted:
        save_correction(settings, info, {k: v.strip() for k, v in entered.items() if v.strip() != shown[k]})


def save_correction(settings: Settings, info: DocumentInfo, changes: dict[str, str]) -> None:
    if not changes:
        st.info("Nothing changed.")
        return
    try:
        correct_document(settings, info.doc_id, changes, lock_timeout=30)
    except AssistantError as exc:
        st.error(safe_markdown(str(exc)))
        return
    st.session_state.about_saved = f"Saved: {info.source} ({', '.join(EDITABLE[k].lower() for k in changes)})."
    st.rerun()


def page_ranges(pages: list[int], limit: int = 8) -> str:
    """`1–3, 7, 9–12`: page numbers as runs, at most `limit` runs and then `…`; empty for none."""
    runs: list[list[int]] = []
    for page in sorted(set(pages)):
        if runs and page == runs[-1][1] + 1:
            runs[-1][1] = page
        else:
            runs.append([page, page])
    shown = [str(a) if a == b else f"{a}–{b}" for a, b in runs[:limit]]
    return ", ".join(shown) + (", …" if len(runs) > limit else "")


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def show_report(report: FileReport) -> None:
    text = f"{report.source}: {report.status}"
    if report.status == "indexed":
        text += f", {plural(report.pages, 'page')}, {plural(report.chunks, 'passage')}"
    if report.reason:
        text += f" ({report.reason})"
    if report.empty_pages:
        pages = ", ".join(map(str, report.empty_pages[:10])) + ("…" if len(report.empty_pages) > 10 else "")
        text += f"; no text on pages {pages} (scanned or images only: those pages can't be searched)"
    if report.ocr_pages:
        text += f"; read by OCR: {'page' if len(report.ocr_pages) == 1 else 'pages'} {page_ranges(report.ocr_pages)}"
    if report.status == "failed":
        st.error(safe_markdown(text))
    elif report.empty_pages:
        st.warning(safe_markdown(text))
    else:
        st.success(safe_markdown(text))


def add_uploads(uploads: list[Any], settings: Settings) -> None:
    """Each file on its own: saved under its content hash, ingested with its own progress, then reported."""
    reports: list[FileReport] = []
    settings = with_collection_embedder(settings)  # a collection grows with the embedder it was built with
    for upload in uploads:
        name = display_name(upload.name)
        with st.status(safe_markdown(name), expanded=True) as status:
            bar = st.progress(0.0, text="Checking…")
            try:
                source = save_upload(
                    upload.getvalue(), upload.name, settings.upload_dir, int(settings.max_file_mb * 1_000_000)
                )

                def progress(stage: str, done: int, total: int, bar: Any = bar) -> None:
                    bar.progress(min(done / max(total, 1), 1.0), text=f"{stage.capitalize()} {done}/{total}")

                report = ingest([source], settings, embedder(settings), on_progress=progress, lock_timeout=60)
                file_report = report.files[0]
            except DocumentError as exc:
                file_report = FileReport(exc.source, "failed", reason=exc.reason)
            except AssistantError as exc:
                file_report = FileReport(name, "failed", reason=str(exc))
            bar.empty()
            failed = file_report.status == "failed"
            status.update(label=safe_markdown(f"{name}: {file_report.status}"), state="error" if failed else "complete")
        reports.append(file_report)
    st.session_state.upload_reports = reports
