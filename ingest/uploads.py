"""Uploads: store uploaded bytes under a content-hash name and keep a cleaned display name for citations."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from .load import check_bytes, sniff
from .pipeline import SourceFile

_EXTENSION = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "markdown": ".md", "text": ".txt"}


def display_name(uploaded_name: str, limit: int = 120) -> str:
    """A name safe to show and cite: no folders, control or bidirectional characters, bounded length."""
    name = uploaded_name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"})
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > limit:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: limit - len(suffix) - 2] + "…." + suffix) if dot and len(suffix) <= 8 else name[:limit]
    return name or "unnamed"


def save_upload(data: bytes, uploaded_name: str, upload_dir: Path, max_bytes: int) -> SourceFile:
    """Write the bytes to `upload_dir/<sha256><ext>`; the extension comes from the content, not the name.

    The uploaded name is only ever displayed; it never becomes part of a path.
    """
    name = display_name(uploaded_name)
    check_bytes(data, name, max_bytes)
    suffix = os.path.splitext(name)[1].lower()
    kind = sniff(data, suffix, name)
    digest = hashlib.sha256(data).hexdigest()
    upload_dir.mkdir(parents=True, exist_ok=True)
    path = upload_dir / f"{digest}{_EXTENSION[kind]}"
    if not path.exists():
        temporary = upload_dir / f".{digest}.tmp"
        temporary.write_bytes(data)
        os.replace(temporary, path)
    return SourceFile(path, name)
