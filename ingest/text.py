"""Text hygiene: decoding bytes of unknown encoding and cleaning what extractors return."""

from __future__ import annotations

import codecs
import re

from .errors import DocumentError

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_text(data: bytes, source: str = "") -> tuple[str, list[str]]:
    """Decode text whatever its encoding: BOMs first, then UTF-8, then Windows-1252; refuse binary."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding), []
            except UnicodeDecodeError as exc:
                raise DocumentError(
                    source, f"starts with a {encoding} byte-order mark but is not valid {encoding}."
                ) from exc
    sample = data[:65536]
    controls = sum(sample.count(bytes([c])) for c in (*range(0, 8), *range(14, 27), *range(28, 32)))
    if b"\x00" in sample or controls > len(sample) // 20:
        raise DocumentError(source, "the content is binary, not text (or UTF-16 without a byte-order mark).")
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    if text.count("\ufffd") > len(text) // 100:
        text = data.decode("latin-1")
    return text, ["not valid UTF-8; read as Windows-1252/Latin-1"]


def clean_text(text: str) -> str:
    """Drop control characters and trailing spaces, and collapse runs of blank lines."""
    text = _CONTROL_CHARS.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
