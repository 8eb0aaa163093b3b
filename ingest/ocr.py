"""OCR, offline: Tesseract (Debian's `tesseract-ocr` and language packs) reads page images into text.

The one door to the OCR engine. It runs as a child of the parsing worker, so it inherits the worker's memory cap,
and each call has its own time limit within the file's. Images are handed over as PNG bytes on stdin; nothing is
written to disk and no file name from a document reaches the command line.

Tesseract gives its words with their boxes (TSV), and `ingest.ocr_layout` puts them in reading order: columns
one after the other, table rows whole. Lines set vertically (a margin stamp, a rotated label) are read again turned
upright, and a page scanned on its side is read turned.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import statistics
import subprocess
import time
from typing import Any

from . import ocr_layout
from .ocr_layout import Word

#: Pages are drawn for OCR at this resolution (Tesseract is trained on 300 dpi scans).
OCR_DPI = 300
#: Largest image handed to Tesseract; bigger ones are scaled down first (a 300 dpi A3 page is 17 MP).
MAX_OCR_PIXELS = 24_000_000
#: Longest one page may take, whatever time the file has left.
PAGE_TIMEOUT_S = 90.0
#: Tesseract's page segmentation: fully automatic layout, no orientation detection.
PAGE_SEGMENTATION = "3"
#: At most this many vertical strips of a page are read again turned upright, tallest first.
MAX_VERTICAL_STRIPS = 4
#: A turned reading is kept when Tesseract's mean word confidence in it reaches this.
UPRIGHT_CONFIDENCE = 60.0
_LANGUAGE = re.compile(r"^[A-Za-z_]{3,16}$")


class OcrError(Exception):
    """One page could not be read; the reason is the message. The rest of the file goes on."""


def available() -> bool:
    return shutil.which("tesseract") is not None


def installed_languages() -> set[str]:
    if not available():
        return set()
    result = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
    return {line.strip() for line in result.stdout.splitlines()[1:] if line.strip()}


def check_languages(languages: str) -> list[str]:
    """The `+`-separated language codes, checked for shape (they reach a command line)."""
    codes = [code for code in languages.split("+") if code]
    bad = [code for code in codes if not _LANGUAGE.match(code)]
    if bad or not codes:
        raise ValueError(f"OCR languages must be Tesseract codes joined by '+', like 'eng+deu'; got {languages!r}.")
    return codes


def read_image(image: Any, languages: str, deadline: float | None = None) -> str:
    """The text of a PIL image, in reading order. OcrError, with the reason, when it cannot be read in time or at
    all."""
    if not available():
        raise OcrError("OCR is not installed (Debian: apt-get install tesseract-ocr; `make ocr` does it)")
    codes = check_languages(languages)
    image = _prepared(image)
    words = _words(image, codes, _timeout(deadline))
    vertical = [w for w in words if w.vertical]
    if len(vertical) > max(10, len(words) // 2):  # the page lies on its side
        turned = _upright(image, codes, deadline, PAGE_SEGMENTATION)
        if turned:
            return ocr_layout.page_text(turned)
    parts = [ocr_layout.page_text(words)]
    for left, top, right, bottom in ocr_layout.vertical_strips(words)[:MAX_VERTICAL_STRIPS]:
        pad = (right - left) // 2 + 5
        box = (max(0, left - pad), max(0, top - pad), min(image.width, right + pad), min(image.height, bottom + pad))
        crop = image.crop(box)
        parts.append(ocr_layout.page_text(_upright(crop, codes, deadline, "6")))
    return "\n".join(part for part in parts if part)


def _timeout(deadline: float | None) -> float:
    timeout = PAGE_TIMEOUT_S
    if deadline is not None:
        timeout = min(timeout, deadline - time.monotonic())
        if timeout < 1:
            raise OcrError("not read by OCR: the file's time limit (parse_timeout_s) was reached first")
    return timeout


def _words(image: Any, codes: list[str], timeout: float, segmentation: str | None = None) -> list[Word]:
    """Tesseract's words of a greyscale image, with their boxes and confidences."""
    segmentation = segmentation or PAGE_SEGMENTATION
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # one thread: it is faster on a busy machine
    command = ["tesseract", "stdin", "stdout", "-l", "+".join(codes), "--psm", segmentation, "tsv"]
    try:
        result = subprocess.run(
            command, input=buffer.getvalue(), capture_output=True, timeout=timeout, env=environment, check=False
        )
    except subprocess.TimeoutExpired:
        raise OcrError(f"OCR took longer than {timeout:.0f} s on this page, so it was stopped") from None
    except OSError as exc:
        raise OcrError(f"OCR could not be started ({exc.strerror or exc})") from exc
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrError(f"OCR failed ({message[-1][:200] if message else f'exit code {result.returncode}'})")
    return ocr_layout.parse_tsv(result.stdout.decode("utf-8", "replace"))


def _upright(image: Any, codes: list[str], deadline: float | None, segmentation: str) -> list[Word]:
    """The words of an image turned a quarter either way, whichever Tesseract reads with more confidence; none
    when neither reading is confident, or time is short. Optional work: it never fails the page."""
    best: tuple[float, list[Word]] = (UPRIGHT_CONFIDENCE, [])
    for angle in (90, 270):
        try:
            words = _words(image.rotate(angle, expand=True), codes, _timeout(deadline), segmentation)
        except OcrError:
            break
        confidence = statistics.mean(w.confidence for w in words) if words else 0.0
        if confidence >= best[0]:
            best = (confidence, words)
    return best[1]


def _prepared(image: Any) -> Any:
    """Greyscale, and within MAX_OCR_PIXELS."""
    from PIL import Image

    if image.mode not in ("L", "RGB"):
        image = image.convert("RGBA") if "A" in image.mode or image.mode == "P" else image.convert("RGB")
        if image.mode == "RGBA":  # transparent areas are paper, not ink
            background = Image.new("RGB", image.size, "white")
            background.paste(image, mask=image.getchannel("A"))
            image = background
    image = image.convert("L")
    pixels = image.width * image.height
    if pixels > MAX_OCR_PIXELS:
        factor = (MAX_OCR_PIXELS / pixels) ** 0.5
        image = image.resize((max(1, int(image.width * factor)), max(1, int(image.height * factor))))
    return image


def ocr_setting_error(languages: str) -> str | None:
    """Why `languages` cannot be used here, or None: for the CLI to say once, before a run."""
    try:
        codes = check_languages(languages)
    except ValueError as exc:
        return str(exc)
    if not available():
        return "OCR is not installed (Debian: apt-get install tesseract-ocr); pages without text stay unread."
    missing = [code for code in codes if code not in installed_languages()]
    if missing:
        return f"OCR language pack(s) {', '.join(missing)} not installed (apt-get install tesseract-ocr-<code>)."
    return None
