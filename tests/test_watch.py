"""`--watch`: a folder kept in sync while files are added, changed, renamed and deleted, each change in search
within seconds, through the same atomic commits (a rename is relabelled, not embedded again)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.retrieve import retrieve
from ingest import Settings, open_index
from ingest.types import FileReport
from ingest.watch import watch
from tests.conftest import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]


def _until(check: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("the change did not reach the index in time")


def _sources(settings: Settings, embedder: HashEmbedder, query: str) -> list[str]:
    store = open_index(settings, embedder, create=True)
    return [hit.chunk.source for hit in retrieve(query, store, embedder, settings).hits]


def test_watch_takes_in_each_change(tmp_path: Path, settings: Settings, embedder: HashEmbedder) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "parking.md").write_text("# Parking\nParking permits are issued by the front desk.")
    lines: list[FileReport] = []
    stop = threading.Event()
    worker = threading.Thread(
        target=watch, args=([folder], settings, embedder), kwargs={"on_change": lines.append, "stop": stop}
    )
    worker.start()
    try:
        _until(lambda: "parking.md" in _sources(settings, embedder, "parking permits front desk"))
        (folder / "bikes.md").write_text("# Bikes\nBicycles are stored in the basement cage.")  # added
        _until(lambda: "bikes.md" in _sources(settings, embedder, "bicycles basement cage"))
        (folder / "bikes.md").write_text("# Bikes\nBicycles now go in the courtyard racks.")  # changed
        _until(lambda: "bikes.md" in _sources(settings, embedder, "courtyard racks"))
        embedded = embedder.documents_embedded
        (folder / "bikes.md").rename(folder / "cycling.md")  # renamed: relabelled, not embedded again
        _until(lambda: "cycling.md" in _sources(settings, embedder, "courtyard racks"))
        assert embedder.documents_embedded == embedded
        (folder / "parking.md").unlink()  # deleted
        _until(lambda: "parking.md" not in {d.source for d in open_index(settings, embedder).documents.values()})
    finally:
        stop.set()
        worker.join(20)
    statuses = [(f.status, f.source) for f in lines]
    for expected in [("indexed", "parking.md"), ("indexed", "bikes.md"), ("renamed", "cycling.md")]:
        assert expected in statuses
    assert ("removed", "parking.md") in statuses


@pytest.mark.real_models
def test_the_watch_command_prints_a_line_per_change(tmp_path: Path) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "a.md").write_text("# A\nThe first note mentions turbines.")
    environment = {**os.environ, "DOCQA_INDEX_DIR": str(tmp_path / "index"), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest", "--watch", str(folder)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen: list[str] = []

        def wait_for(fragment: str, seconds: float = 120) -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                line = process.stdout.readline()  # type: ignore[union-attr]
                if not line and process.poll() is not None:
                    raise AssertionError(f"--watch exited ({process.returncode}) before {fragment!r}: {seen}")
                seen.append(line)
                if fragment in line:
                    return
            raise AssertionError(f"no line with {fragment!r} in {seen}")

        wait_for("indexed   a.md", 600)  # the first ingest loads the embedder (and exports it for ONNX Runtime once)
        (folder / "b.md").write_text("# B\nThe second note mentions glaciers.")
        wait_for("indexed   b.md")
        (folder / "b.md").rename(folder / "c.md")
        wait_for("renamed   c.md")
        (folder / "a.md").unlink()
        wait_for("removed   a.md")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:  # never hide the failure above behind a slow shutdown
            process.kill()
            process.wait(30)
