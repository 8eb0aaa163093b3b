"""Drawing a cited page: whatever size a hostile PDF claims, within the pixel caps, in the worker process, in time.

Red-team finding 6 of issue 17: a 662-byte PDF with a 1 pt × 1200 pt page took 6.76 GB and 36.7 s to draw for its
source card, inside the app's process. The PDFs here are a few hundred hand-written bytes.
"""

from __future__ import annotations

import io
import math
import os
import resource
import time
import zlib
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image

from assistant import evidence
from assistant.evidence import page_pdf, render_page
from ingest import Settings, render
from ingest.errors import DocumentError
from ingest.render import MAX_PIXELS, MAX_SIDE_PX, bitmap_size, fit_scale
from tests.conftest import HANDBOOK


def tiny_pdf(page_entries: str, content: bytes = b"0 0 1 rg 0 0 1 1200 re f", *, flate: bool = False) -> bytes:
    """A one-page PDF, written by hand: `page_entries` go into the page dictionary (its boxes, /Rotate...)."""
    stream = zlib.compress(content, 9) if flate else content
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R {page_entries} /Contents 4 0 R >>".encode(),
        b"<< /Length %d%s >>\nstream\n" % (len(stream), b" /Filter /FlateDecode" if flate else b"")
        + stream
        + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


HOSTILE_PAGES = [
    "/MediaBox [0 0 1 1200]",  # the finding: 900 px wide would be 1,080,000 px tall
    "/MediaBox [0 0 14400 14400]",  # the largest page PDF allows, 200 in square
    "/MediaBox [0 0 14400 14400] /UserUnit 75000",
    "/MediaBox [0 0 100 100] /UserUnit 75000",
    "/MediaBox [0 0 1 1200] /Rotate 90",
    "/MediaBox [0 0 1200 1] /Rotate 270",
    "/MediaBox [0 0 0.00001 14400]",
    "/MediaBox [0 0 612 792] /CropBox [0 0 0.0001 5000]",
    "/MediaBox [0 0 200000 1]",
    "/MediaBox [0 0 16777217 1]",
    "/MediaBox [0 0 -300 -400]",
    "/MediaBox [0 0 0 0]",
    "/MediaBox [5 5 5 5]",
    "/MediaBox [0 0 NaN 5]",
    "/MediaBox [0 0 inf 1]",
    "/MediaBox [0 0 1e39 5]",
    "/MediaBox [0 0 340000000000000000000000000000000000000000 1]",
    "/MediaBox garbage",
    "/MediaBox [0 0 612]",
    "/MediaBox [(a) /b << >> [] 7]",
    "",
]


@pytest.fixture
def no_pdfium_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """pdfium refuses to open anything in the test's own process: whatever renders must be the worker."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pdfium opened a PDF in the app's own process")

    monkeypatch.setattr(pypdfium2, "PdfDocument", refuse)


def _png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG")
    return Image.open(io.BytesIO(png)).size  # reads the header only


def _worker_peak_mb(settings: Settings) -> float:
    process = evidence._renderer(settings)._process
    assert process is not None and process.pid != os.getpid()
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


@pytest.mark.parametrize(
    ("width_pt", "height_pt"),
    [(1, 1200), (14400, 14400), (1e-5, 14400), (3.4e38, 3.4e38), (1e-45, 3.4e38), (612, 792), (595.3, 841.9)],
)
def test_the_scale_keeps_every_page_within_the_pixel_caps(width_pt: float, height_pt: float) -> None:
    for wanted in (1, 400, 900, 5000, 10**9):
        width, height = bitmap_size(width_pt, height_pt, fit_scale(width_pt, height_pt, wanted))
        assert 1 <= width <= min(max(wanted, 1), MAX_SIDE_PX) and 1 <= height <= MAX_SIDE_PX
        assert width * height <= MAX_PIXELS
    # an ordinary page is drawn exactly as wide as asked
    assert bitmap_size(612, 792, fit_scale(612, 792, 900))[0] == 900


@pytest.mark.parametrize("size", [(0, 5), (-1, 5), (math.nan, 5), (5, math.inf), (math.inf, math.inf), (-0.0, 1)])
def test_a_size_that_is_not_a_finite_positive_number_is_refused(size: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="cannot be drawn"):
        fit_scale(*size)


def test_a_page_whose_size_pdfium_gives_as_nan_or_zero_is_refused_before_drawing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pdfium replaces the boxes it cannot use with US Letter; should a size still come out unusable, the pure
    function (here in the test's process) refuses it before anything is drawn."""
    path = tmp_path / "sliver.pdf"
    path.write_bytes(tiny_pdf("/MediaBox [0 0 1 1200]"))
    drawn: list[object] = []
    monkeypatch.setattr(pypdfium2.PdfPage, "render", lambda *args, **kwargs: drawn.append(args))
    for width in (math.nan, 0.0, -5.0, math.inf):
        monkeypatch.setattr(pypdfium2.PdfPage, "get_width", lambda self, width=width: width)
        with pytest.raises(DocumentError, match=r"page 1 has no usable size \(.+ × 1200 pt\), so it cannot be drawn"):
            render.render_png(str(path), 1, 900, "sliver.pdf")
    assert not drawn


def test_the_one_point_wide_page_is_drawn_small_and_in_the_worker(
    settings: Settings, tmp_path: Path, no_pdfium_here: None
) -> None:
    """The finding itself. Before the fix this page was drawn in the app's process, 900 × 1,080,000 px."""
    path = tmp_path / "sliver.pdf"
    path.write_bytes(tiny_pdf("/MediaBox [0 0 1 1200]"))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    width, height = _png_size(render_page(path, 1, settings))
    assert time.monotonic() - started < 30  # includes starting the worker on a busy machine
    assert max(width, height) <= MAX_SIDE_PX and width * height <= MAX_PIXELS
    assert (width, height) == (2, MAX_SIDE_PX)  # the page's shape, at the largest side allowed
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 50, "the app's memory grew"
    assert _worker_peak_mb(settings) < 500


@pytest.mark.parametrize("entries", HOSTILE_PAGES)
def test_any_page_size_is_drawn_within_the_caps_or_refused_with_a_reason(
    entries: str, settings: Settings, tmp_path: Path, no_pdfium_here: None
) -> None:
    path = tmp_path / "hostile.pdf"
    path.write_bytes(tiny_pdf(entries))
    started = time.monotonic()
    try:
        width, height = _png_size(render_page(path, 1, settings))
    except DocumentError as exc:  # refused: with a reason a person can read
        assert "page 1" in exc.reason and "Error" not in exc.reason, exc.reason
    else:
        assert max(width, height) <= MAX_SIDE_PX and width * height <= MAX_PIXELS
    single = page_pdf(path, 1, settings)
    assert single.startswith(b"%PDF-") and len(single) < 10_000
    assert time.monotonic() - started < 30
    assert _worker_peak_mb(settings) < 500


def test_what_is_not_a_pdf_or_has_no_such_page_is_a_message(settings: Settings, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\n" + os.urandom(600))
    for call in (lambda: render_page(garbage, 1, settings), lambda: page_pdf(garbage, 1, settings)):
        with pytest.raises(DocumentError, match="pdfium could not open it"):
            call()
    sliver = tmp_path / "sliver.pdf"
    sliver.write_bytes(tiny_pdf("/MediaBox [0 0 1 1200]"))
    with pytest.raises(DocumentError, match=r"has no page 3 \(it has 1\)"):
        render_page(sliver, 3, settings)
    with pytest.raises(DocumentError, match=r"has no page 0"):
        page_pdf(sliver, 0, settings)
    assert _png_size(render_page(HANDBOOK, 1, settings))[0] == 900  # the worker carries on


def test_a_slow_page_is_stopped_with_a_message_and_the_next_page_is_drawn(
    settings: Settings, tmp_path: Path, no_pdfium_here: None
) -> None:
    slow = tmp_path / "slow.pdf"  # 20,000 full-page strokes in 2.5 kB: seconds of drawing
    slow.write_bytes(tiny_pdf("/MediaBox [0 0 612 792]", b"0 0 m 612 792 l 612 0 m 0 792 l S\n" * 20_000, flate=True))
    assert slow.stat().st_size < 3_000
    own = settings.model_copy(update={"render_timeout_s": 17.5})  # a worker of its own, closed below
    worker = evidence._renderer(own)
    try:
        assert _png_size(render_page(HANDBOOK, 2, own, width=300))[0] == 300  # the worker is up
        first_pid = worker._process.pid  # type: ignore[union-attr]
        worker.timeout = 0.5
        started = time.monotonic()
        with pytest.raises(DocumentError, match=r"drawing page 1 took longer than 0.5 s.*render_timeout_s"):
            render_page(slow, 1, own)
        assert time.monotonic() - started < 10
        worker.timeout = 17.5  # a fresh worker draws the next page
        assert _png_size(render_page(HANDBOOK, 3, own))[0] == 900
        assert worker._process.pid != first_pid  # type: ignore[union-attr]
    finally:
        worker.close()
