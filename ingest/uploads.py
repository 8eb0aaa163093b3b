"""Uploads: store uploaded bytes under a content-hash name and keep a cleaned display name for citations."""

from __future__ import annotations

import os
from pathlib import Path

from .files import sha256_bytes
from .load import check_bytes, sniff
from .loaders import loader
from .names import display_name
from .sources import SourceFile


def save_upload(data: bytes, uploaded_name: str, upload_dir: Path, max_bytes: int) -> SourceFile:
    """Write the bytes to `upload_dir/<sha256><ext>`; the extension comes from the content, not the name.

    The uploaded name is only ever displayed; it never becomes part of a path. The upload is known by its
    content (`upload:<sha256>`), so two uploads with the same name and different content are two documents.
    """
    name = display_name(uploaded_name)
    check_bytes(data, name, max_bytes)
    suffix = os.path.splitext(name)[1].lower()
    kind = sniff(data, suffix, name)
    digest = sha256_bytes(data)
    upload_dir.mkdir(parents=True, exist_ok=True)
    path = upload_dir / f"{digest}{loader(kind).suffixes[0]}"
    if not path.exists():
        temporary = upload_dir / f".{digest}.tmp"
        temporary.write_bytes(data)
        os.replace(temporary, path)
    return SourceFile(path, name, f"upload:{digest}")
