"""The app's helpers without a page: the answer's worker thread and place in line, model labels and the
recommended models, titles."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from assistant.app.streaming import Line, Pump, waiting_label
from assistant.model_catalog import RECOMMENDED_MODELS, download_folder
from assistant.titles import cite, title_of
from assistant.ui import download_progress, gguf_problem, model_label, recommended_rows
from ingest import Chunk, ScoredChunk


def test_the_page_ticks_while_the_model_reads_then_gets_every_piece() -> None:
    def slow() -> Iterator[str]:
        time.sleep(0.3)  # reading the sources
        yield from ["Twenty", " seven", " days."]

    pump = Pump(slow())
    seen = list(pump.pieces(tick=0.05))
    assert seen.count(None) >= 3, "the page could show the elapsed time several times before the first word"
    assert "".join(p for p in seen if p) == "Twenty seven days." and pump.finished


def test_stop_closes_the_models_stream_in_its_own_thread() -> None:
    closed = threading.Event()

    def endless() -> Iterator[str]:
        try:
            while True:
                time.sleep(0.01)
                yield "word "
        finally:
            closed.set()

    pump = Pump(endless())
    pieces = pump.pieces(tick=0.05)
    assert next(pieces) == "word "
    pump.stop()
    assert closed.wait(2) and not pump.finished


def test_the_place_in_line_is_told() -> None:
    line = Line()
    first, second = line.join(), line.join()
    assert line.ahead(first) == 0 and line.ahead(second) == 1
    assert "1 question ahead" in waiting_label(3.2, 5, line.ahead(second))
    line.leave(first)
    assert line.ahead(second) == 0 and waiting_label(3.2, 5, 0) == "The model is reading 5 passages… 3 s"


def test_model_labels_are_short_and_friendly(tmp_path: Path) -> None:
    catalog = {"packaged:qwen": "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.1 GB): the default chat model"}
    assert model_label("packaged:qwen", catalog) == "Qwen2.5-Coder-1.5B (1.1 GB)"
    assert model_label("packaged:smollm2-135m-instruct-q4_1", {}).startswith("SmolLM2-135M (98 MB)")
    assert model_label("hf:org/repo/model.Q4.gguf", {}) == "model.Q4.gguf (downloaded on first use)"
    fake = tmp_path / "notes.gguf"
    fake.write_text("not a model")
    assert gguf_problem(str(fake)) == "notes.gguf is not a GGUF model file."
    assert "no file" in (gguf_problem(str(tmp_path / "nowhere.gguf")) or "")
    (tmp_path / "real.gguf").write_bytes(b"GGUF\x03\x00")
    assert gguf_problem(str(tmp_path / "real.gguf")) is None


def test_recommended_models_are_listed_with_size_license_hash_and_what_is_on_disk(tmp_path: Path) -> None:
    rows = {row["name"]: row for row in recommended_rows(tmp_path)}
    qwen = rows["qwen2.5-3b-instruct-q4_k_m"]
    assert qwen["spec"] == "hf:Qwen/Qwen2.5-3B-Instruct-GGUF/qwen2.5-3b-instruct-q4_k_m.gguf"
    assert qwen["details"].startswith("2.1 GB · Qwen Research License") and qwen["details"].endswith("626b4a66…c62d")
    assert qwen["state"] == "not downloaded" and qwen["can_download"] and not qwen["needs_hash"]
    seven = rows["qwen2.5-7b-instruct-q4_k_m"]
    assert seven["details"] == "about 4.7 GB · Apache-2.0 · SHA-256 not published" and seven["needs_hash"]

    half = download_folder(RECOMMENDED_MODELS["qwen2.5-3b-instruct-q4_k_m"], tmp_path)
    half.mkdir(parents=True)
    (half / "qwen2.5-3b-instruct-q4_k_m.gguf.part").touch()
    os.truncate(half / "qwen2.5-3b-instruct-q4_k_m.gguf.part", 1_052_466_384)  # half of it, sparse
    whole = download_folder(RECOMMENDED_MODELS["qwen2.5-7b-instruct-q4_k_m"], tmp_path)
    whole.mkdir(parents=True)
    (whole / "Qwen2.5-7B-Instruct-Q4_K_M.gguf").write_bytes(b"GGUF")
    rows = {row["name"]: row for row in recommended_rows(tmp_path)}
    assert rows["qwen2.5-3b-instruct-q4_k_m"]["state"] == "50% downloaded; Download continues it"
    assert rows["qwen2.5-3b-instruct-q4_k_m"]["can_download"]
    assert rows["qwen2.5-7b-instruct-q4_k_m"]["state"] == "downloaded, not verified: no published SHA-256"
    assert not rows["qwen2.5-7b-instruct-q4_k_m"]["can_download"]
    assert download_progress(500_000_000, 2_000_000_000) == (0.25, "0.50 of 2.00 GB")
    assert download_progress(3_000_000_000, 0) == (0.0, "3.00 GB downloaded")


def test_documents_are_cited_by_their_title() -> None:
    def chunk(source: str, title: str, heading: str | None = None, page: int | None = None) -> Chunk:
        return Chunk("c", "d", source, "Text.", page, heading, 0, 5, title=title)

    pdf = chunk("2312.10997v5.pdf", "Retrieval-Augmented Generation for Large Language Models: A Survey", page=3)
    assert title_of(pdf).startswith("Retrieval-Augmented Generation")
    assert cite(ScoredChunk(pdf, 1.0), title_of(pdf)) == "Retrieval-Augmented Generation for Large Langua…, p. 3"
    notes = chunk("02-trees.md", "02-trees", "Lecture 2: Decision Trees > Pruning")
    assert title_of(notes) == "Lecture 2: Decision Trees", "the first heading, when the file states no title"
    assert cite(ScoredChunk(notes, 1.0), title_of(notes)) == "Lecture 2: Decision Trees, § Pruning"
    bare = chunk("scan.pdf", "Microsoft Word - scan.docx", page=1)
    assert title_of(bare) == "scan.pdf" and cite(ScoredChunk(bare, 1.0)) == "scan.pdf, p. 1"
