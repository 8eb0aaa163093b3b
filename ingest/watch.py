"""Watching folders: `python -m ingest --watch FOLDER` keeps a collection in sync as files are added, changed,
renamed or deleted. watchdog reports the changes; they are debounced, then one `ingest(..., sync=True)` run
takes them in through the same locked, atomic commits (a rename is relabelled, not re-embedded), and each file
that changed gets a line."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .embed import Embedder
from .manage import list_documents
from .pipeline import ingest
from .settings import Settings
from .sources import collect_sources
from .types import FileReport

log = logging.getLogger(__name__)

#: Seconds without a new event before the changes are taken in (an editor's save is several events).
DEBOUNCE_S = 0.7


class _Changes:
    """Set by watchdog's thread, waited on by the loop."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.last = 0.0

    def dispatch(self, event: object) -> None:
        if getattr(event, "event_type", "") in ("opened", "closed_no_write"):
            return  # reading a file changes nothing
        self.last = time.monotonic()
        self.event.set()


def watch(
    folders: Sequence[Path],
    settings: Settings,
    embedder: Embedder,
    *,
    on_change: Callable[[FileReport], None],
    stop: threading.Event | None = None,
    debounce: float = DEBOUNCE_S,
) -> None:
    """Ingest `folders` (with sync), then again after each burst of changes, until `stop` is set. Every file
    whose state changed (indexed, renamed, removed, failed) is passed to `on_change`."""
    from watchdog.observers import Observer

    stop = stop or threading.Event()
    changes = _Changes()
    observer = Observer()
    for folder in folders:
        observer.schedule(changes, str(folder), recursive=True)  # type: ignore[arg-type]
    observer.start()
    try:
        _run(folders, settings, embedder, on_change)
        while not stop.is_set():
            if not changes.event.wait(0.2):
                continue
            while time.monotonic() - changes.last < debounce and not stop.is_set():
                time.sleep(0.05)
            changes.event.clear()
            _run(folders, settings, embedder, on_change)
    finally:
        observer.stop()
        observer.join(5)


def _run(
    folders: Sequence[Path], settings: Settings, embedder: Embedder, on_change: Callable[[FileReport], None]
) -> None:
    before = list_documents(settings)
    report = ingest(collect_sources(list(folders)), settings, embedder, sync=True)
    after = list_documents(settings)
    for file in report.files:
        if file.status not in ("unchanged", "duplicate"):
            on_change(file)
    ids, locations = {d.doc_id for d in after}, {d.location for d in after}
    for document in before:  # gone, and neither renamed (same content) nor replaced (same place)
        if document.doc_id not in ids and document.location not in locations:
            on_change(FileReport(document.source, "removed", document.pages, document.chunks, reason="file deleted"))
