"""OCR, offline: Tesseract (Debian's `tesseract-ocr` and language packs) reads page images into text.

The one door to the OCR engine. It runs as a child of the parsing worker, so it inherits the worker's memory cap,
and each call has its own time limit within the file's. Images are handed over as PNG bytes on stdin; nothing is
written to disk and no file name from a document reaches the command line.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
from typing import Any

#: Pages are drawn for OCR at this resolution (Tesseract is trained on 300 dpi scans).
OCR_DPI = 300
#: Largest image handed to Tesseract; bigger ones are scaled down first (a 300 dpi A3 page is 17 MP).
MAX_OCR_PIXELS = 24_000_000
#: Longest one page may take, whatever time the file has left.
PAGE_TIMEOUT_S = 90.0
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
    """The text of a PIL image. OcrError, with the reason, when it cannot be read in time or at all."""
    if not available():
        raise OcrError("OCR is not installed (Debian: apt-get install tesseract-ocr; `make ocr` does it)")
    codes = check_languages(languages)
    timeout = PAGE_TIMEOUT_S
    if deadline is not None:
        timeout = min(timeout, deadline - time.monotonic())
        if timeout < 1:
            raise OcrError("not read by OCR: the file's time limit (parse_timeout_s) was reached first")
    image = _prepared(image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # one thread: it is faster on a busy machine
    try:
        result = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", "+".join(codes), "--psm", "3"],
            input=buffer.getvalue(),
            capture_output=True,
            timeout=timeout,
            env=environment,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise OcrError(f"OCR took longer than {timeout:.0f} s on this page, so it was stopped") from None
    except OSError as exc:
        raise OcrError(f"OCR could not be started ({exc.strerror or exc})") from exc
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrError(f"OCR failed ({message[-1][:200] if message else f'exit code {result.returncode}'})")
    return result.stdout.decode("utf-8", "replace")


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
