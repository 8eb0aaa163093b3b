"""Reading a file the user named, safely: regular files only, never through a link out of its folder, never
more than the size limit, and never blocking on a FIFO or a device."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from .errors import DocumentError

_BLOCK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """A document's identity: the SHA-256 of its bytes, whatever its name."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str | None:
    """The SHA-256 of a file's bytes, read in blocks; None when there is no such file."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(_BLOCK), b""):
                digest.update(block)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def read_file(path: Path, name: str, *, max_bytes: int | None = None, within: Path | None = None) -> bytes:
    """The bytes of `path`, or DocumentError naming the file (`name`) and the reason.

    The size is checked from the open file's metadata before a byte is read, so a huge or sparse file costs
    nothing. With `within` (the real path of the folder the user named), the last path component is opened
    without following a link and the file actually opened must lie inside that folder, so a link (or a folder
    swapped for one) can never make us read outside it.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if within is not None:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        if within is not None and os.path.islink(path):
            raise DocumentError(name, "is a symbolic link; links inside a folder are not followed.") from exc
        raise DocumentError(name, f"cannot be read ({exc.strerror or exc}).") from exc
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(name, f"is {file_kind(info.st_mode)}, not a regular file; skipped.")
        if within is not None and not _inside(_opened_path(descriptor, path), within):
            raise DocumentError(name, "lies outside the folder it was found in (through a link); not read.")
        check_size(info.st_size, name, max_bytes)
        return _read_at_most(descriptor, name, max_bytes)
    finally:
        os.close(descriptor)


def check_size(size: int, name: str, max_bytes: int | None) -> None:
    """Refuse a file over the size limit, from its size alone."""
    if max_bytes is not None and size > max_bytes:
        raise DocumentError(
            name, f"the file is {size / 1e6:,.1f} MB, over the {max_bytes / 1e6:,.0f} MB limit (max_file_mb)."
        )


def _read_at_most(descriptor: int, name: str, max_bytes: int | None) -> bytes:
    """Read to the end, but never more than the limit even if the file grows while it is read."""
    blocks, total = [], 0
    while True:
        try:
            block = os.read(descriptor, _BLOCK)
        except OSError as exc:
            raise DocumentError(name, f"cannot be read ({exc.strerror or exc}).") from exc
        if not block:
            return b"".join(blocks)
        blocks.append(block)
        total += len(block)
        if max_bytes is not None and total > max_bytes:
            check_size(total, name, max_bytes)


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"


def _opened_path(descriptor: int, path: Path) -> str:
    """The real path of the file behind an open descriptor (Linux: /proc; elsewhere the path's real path)."""
    try:
        return os.readlink(f"/proc/self/fd/{descriptor}")
    except OSError:
        return os.path.realpath(path)


def _inside(real: str, folder: Path) -> bool:
    folder_text = str(folder)
    return real == folder_text or real.startswith(folder_text.rstrip(os.sep) + os.sep)
