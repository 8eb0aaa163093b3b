"""Downloading a GGUF from the hub: resumable, checked by size and SHA-256, put in place only when whole.

The bytes go to `FILE.gguf.part` beside the target. An interrupted download keeps its part and the next attempt
asks only for the rest (an HTTP Range request); a server that answers with the whole file instead starts the part
again. At the end the size and SHA-256 are checked, and only then is the part renamed to `FILE.gguf`, so a file
with the model's name is always a whole one. A part that fails the hash is deleted. A model with no known hash is
still downloaded and checked for size and GGUF header, but not marked verified.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from ingest import ModelError
from ingest.files import sha256_file

from .model_catalog import CatalogModel, checked_sha256, download_folder, hub_entry, is_plain_gguf_name
from .model_files import _check_gguf_magic, _is_verified, _marker, _write_marker

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""`on_progress(bytes done, bytes in all)`; the total is 0 when the server does not say."""

_BLOCK = 1 << 20
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_USER_AGENT = "docqa-model-download/1"


class _StartAgain(Exception):
    """The server cannot continue the partial file: it is deleted and fetched from the first byte."""


@dataclass(frozen=True, slots=True)
class DownloadState:
    """What of a hub model is on disk: `verified`, `unverified` (whole, no hash to check it by), `partial`, `absent`."""

    kind: str
    bytes_on_disk: int


def fetch_model(
    model: CatalogModel, model_dir: Path, expected_sha256: str | None = None, on_progress: Progress | None = None
) -> Path:
    """Download a catalog model into its folder under `model_dir` (see `download_model`)."""
    return download_model(model, download_folder(model, model_dir), expected_sha256, on_progress)


def hub_model_file(spec: str, model_dir: Path, on_progress: Progress | None = None) -> Path:
    """The local file for `hf:OWNER/REPO/FILE.gguf` (`spec` without `hf:`), downloaded the first time."""
    model = hub_entry(spec)
    legacy = _legacy_hub_file(model, model_dir)
    if legacy is not None:
        return _existing(model, legacy, model.sha256, model_dir / "hub")
    return fetch_model(model, model_dir, None, on_progress)


def download_state(model: CatalogModel, model_dir: Path) -> DownloadState:
    folder = download_folder(model, model_dir)
    target = folder / model.file_name
    if target.is_file():
        verified = _verified_hash(target, folder) is not None
        return DownloadState("verified" if verified else "unverified", target.stat().st_size)
    part = folder / f"{model.file_name}.part"
    if part.is_file():
        return DownloadState("partial", part.stat().st_size)
    return DownloadState("absent", 0)


def download_model(
    model: CatalogModel,
    dest_dir: Path,
    expected_sha256: str | None = None,
    on_progress: Progress | None = None,
    *,
    timeout: float = 30.0,
) -> Path:
    """`dest_dir/FILE.gguf`, downloaded from `model.url` unless already there, checked against the model's size
    and SHA-256 (or `expected_sha256`, the hash from the model's page, for a model with none in the catalog).

    The file name is the catalog's, never one from the URL or the server. ModelError says what went wrong (no
    network, not found, interrupted, damaged) and names the model.
    """
    if not is_plain_gguf_name(model.file_name):
        raise ModelError(f"{model.file_name!r} is not a plain .gguf file name; {model.display_name} is not downloaded.")
    sha256 = _wanted_hash(model, expected_sha256)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / model.file_name
    part = dest_dir / f"{model.file_name}.part"
    lock = FileLock(str(dest_dir / f".{model.file_name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout as exc:
        raise ModelError(f"{model.display_name} is being downloaded by another window or process already.") from exc
    try:
        if target.is_file():
            return _existing(model, target, sha256, dest_dir)
        log.info("Downloading %s from %s into %s", model.display_name, model.url, dest_dir)
        try:
            _transfer(model, part, timeout, on_progress)
        except _StartAgain:
            part.unlink(missing_ok=True)
            try:
                _transfer(model, part, timeout, on_progress)
            except _StartAgain as exc:
                raise ModelError(f"The server sent the wrong part of {model.display_name}; try again later.") from exc
        _install(model, part, target, sha256)
        return target
    finally:
        lock.release()


def _wanted_hash(model: CatalogModel, expected: str | None) -> str | None:
    given = checked_sha256(expected)
    if given and model.sha256 and given != model.sha256:
        raise ModelError(
            f"The SHA-256 given for {model.display_name} ({given[:12]}…) is not the catalog's ({model.sha256[:12]}…)."
        )
    return given or model.sha256


def _existing(model: CatalogModel, target: Path, sha256: str | None, marker_dir: Path) -> Path:
    """A file already in place: verified once (the marker remembers it), or used as it is when no hash is known."""
    if sha256 is None:
        if _verified_hash(target, marker_dir) is None:
            log.warning("%s is not verified: no published SHA-256 is known for it.", target)
        return target
    if _is_verified(target, sha256, marker_dir):
        return target
    digest = sha256_file(target)
    if digest != sha256:
        raise ModelError(
            f"{target} has SHA-256 {digest}, but {model.display_name} has {sha256}: it is damaged or another file. "
            "Delete it and download it again."
        )
    _write_marker(target, marker_dir, sha256)
    return target


def _transfer(model: CatalogModel, part: Path, timeout: float, on_progress: Progress | None) -> None:
    """Bring `part` up to the whole file, asking only for the bytes it lacks."""
    offset = part.stat().st_size if part.is_file() else 0
    if model.size is not None and offset >= model.size:
        if offset == model.size:
            return  # all there, from an earlier run that stopped before checking it
        raise _StartAgain
    headers = {"User-Agent": _USER_AGENT} | ({"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(urllib.request.Request(model.url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:  # the part is longer than the file is now
            raise _StartAgain from exc
        raise ModelError(_refusal(model, exc.code)) from exc
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelError(
            f"Cannot reach {model.url.split('/')[2]} to download {model.display_name} ({reason}). Check the "
            "network connection, or use a model already on this computer."
        ) from exc
    with response:
        start, length, total = _extent(model, response, offset)
        if model.size is not None and total is not None and total != model.size:
            part.unlink(missing_ok=True)  # a part of some other file is no use
            raise ModelError(
                f"The server offers {total:,} bytes for {model.display_name}, but the catalog's file has "
                f"{model.size:,}: the file there has changed. Nothing was kept."
            )
        if total is not None:
            free = shutil.disk_usage(part.parent).free
            if free < total - start:
                raise ModelError(
                    f"{model.display_name} needs {(total - start) / 1e9:.1f} GB more, and {part.parent} has "
                    f"{free / 1e9:.1f} GB free."
                )
        _receive(model, response, part, start, start + length if length is not None else total, total, on_progress)


def _extent(model: CatalogModel, response: http.client.HTTPResponse, offset: int) -> tuple[int, int | None, int | None]:
    """Where the response's bytes start, how many it says it sends, and the whole file's size, if known."""
    header = response.headers.get("Content-Length", "")
    length = int(header) if header.isdigit() else None
    if response.status == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if match is None or int(match[1]) != offset:
            raise _StartAgain
        start, total = offset, (int(match[3]) if match[3] != "*" else model.size)
    elif response.status == 200:
        if offset:
            log.info("The server sent all of %s, not the rest: starting it again.", model.display_name)
        start, total = 0, length if length is not None else model.size
    else:
        raise ModelError(f"The server answered {response.status} to the download of {model.display_name}.")
    return start, length, total


def _receive(
    model: CatalogModel,
    response: http.client.HTTPResponse,
    part: Path,
    start: int,
    end: int | None,
    total: int | None,
    on_progress: Progress | None,
) -> None:
    done, overflow = start, False
    with part.open("ab" if start else "wb") as out:  # "wb": a server that ignored the Range starts the part again
        while True:
            try:
                block = response.read(_BLOCK)
            except (OSError, http.client.HTTPException) as exc:
                raise _interrupted(model, done, total, exc) from exc
            if not block:
                break
            if total is not None and done + len(block) > total:
                overflow = True  # more than the file has: not this file
                break
            try:
                out.write(block)
            except OSError as exc:
                raise ModelError(f"Cannot save {model.display_name} in {part.parent}: {exc.strerror or exc}.") from exc
            done += len(block)
            if on_progress is not None:
                on_progress(done, total or 0)
        out.flush()
        os.fsync(out.fileno())
    if overflow:
        part.unlink(missing_ok=True)
        raise ModelError(f"The server sent more than the {total:,} bytes of {model.display_name}; nothing was kept.")
    if end is not None and done < end:  # http.client returns a short read, not an error, when a connection drops
        raise _interrupted(model, done, total, "the connection closed early")


def _install(model: CatalogModel, part: Path, target: Path, sha256: str | None) -> None:
    """Check the whole part and rename it into place; a part that is not the model is deleted."""
    size = part.stat().st_size
    if model.size is not None and size != model.size:
        raise _interrupted(model, size, model.size, "the server sent less than the whole file")
    try:
        _check_gguf_magic(part)
    except ModelError as exc:
        part.unlink(missing_ok=True)
        raise ModelError(f"The server sent something that is not a GGUF model for {model.display_name}.") from exc
    if sha256 is not None:
        digest = sha256_file(part)
        if digest != sha256:
            part.unlink(missing_ok=True)
            raise ModelError(
                f"The download of {model.display_name} has SHA-256 {digest}, expected {sha256}: it is damaged or "
                "not the published file, and was deleted. Download it again."
            )
    os.replace(part, target)
    if sha256 is not None:
        _write_marker(target, target.parent, sha256)
    else:
        log.warning("%s has no published SHA-256 to check it by; it is not marked verified.", target)


def _interrupted(model: CatalogModel, done: int, total: int | None, reason: object) -> ModelError:
    of = f" of {total / 1e6:,.0f}" if total else ""
    return ModelError(
        f"The download of {model.display_name} stopped after {done / 1e6:,.0f}{of} MB ({reason}). "
        "Download it again to continue from there."
    )


def _refusal(model: CatalogModel, code: int) -> str:
    if code == 404:
        return f"{model.display_name} is not at {model.url} (HTTP 404): the catalog entry may be out of date."
    if code in (401, 403):
        return f"The hub refused {model.display_name} (HTTP {code}): the model may need a login on its page."
    return f"The hub answered HTTP {code} to the download of {model.display_name}; try again later."


def _verified_hash(target: Path, marker_dir: Path) -> str | None:
    """The hash the marker records for this very file, if any (also one the user gave for a model without one)."""
    try:
        recorded = _marker(target, marker_dir).read_text(encoding="utf-8").split(" ", 1)[0]
    except (OSError, UnicodeDecodeError):
        return None
    return recorded if _is_verified(target, recorded, marker_dir) else None


def _legacy_hub_file(model: CatalogModel, model_dir: Path) -> Path | None:
    """A file the earlier `hf:` downloads (through huggingface_hub) left in `model_dir/hub`: not fetched again."""
    if not (model_dir / "hub").is_dir():
        return None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model.repo, model.file_name, cache_dir=model_dir / "hub")
    return Path(found) if isinstance(found, str) else None
