"""Which files a run reads: the paths the user named, walked without leaving them, with all that was passed
over (links, special files, folders that cannot be listed) reported rather than silently dropped."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .files import file_kind
from .load import SUPPORTED_SUFFIXES
from .names import printable
from .types import FileReport

#: Folders nested deeper than this below a named folder are reported and not entered.
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file to ingest: where to read it, the name it is cited by, and where it is (its identity).

    `location` is the absolute path of a file found on disk, or `upload:<sha256>` for an upload; two files
    with the same name in different places are two documents. `within` is the real path of the folder the
    file was found in: the file is never read from outside it."""

    path: Path
    source: str
    location: str = ""
    within: Path | None = None

    def __post_init__(self) -> None:
        if not self.location:
            object.__setattr__(self, "location", os.path.abspath(self.path))


class Sources(list[SourceFile]):
    """The files found, plus what the walk learned: the locations the user named (what `--sync` may remove
    documents from), the folders whose content is unknown (never synced away), and what was skipped."""

    def __init__(self, files: Iterable[SourceFile] = ()) -> None:
        super().__init__(files)
        self.roots: list[str] = []
        self.unknown: list[str] = []
        self.skipped: list[FileReport] = []


@dataclass(slots=True)
class _Walk:
    root: Path
    real_root: Path
    found: Sources
    pending: list[tuple[Path, int]] = field(default_factory=list)


def collect_sources(paths: list[Path]) -> Sources:
    """Files named directly keep their name; files found in a folder are named relative to that folder.

    Hidden files and folders and unsupported types are passed over quietly. Symbolic links inside a folder are
    not followed and are each reported; FIFOs, devices and sockets are reported; a folder that cannot be
    listed is reported and its documents count as unknown, so `--sync` keeps them.
    """
    found = Sources()
    for path in paths:
        location = os.path.abspath(path)
        found.roots.append(location)
        try:
            info = os.stat(path)
        except OSError as exc:
            found.unknown.append(location)
            found.skipped.append(_skip(printable(str(path)), f"cannot be read ({exc.strerror or exc})"))
            continue
        if stat.S_ISDIR(info.st_mode):
            _walk_folder(_Walk(Path(location), Path(os.path.realpath(path)), found))
        else:  # a file the user named is read as named, even through a link: they chose it
            found.append(SourceFile(Path(location), printable(Path(location).name), location))
    return found


def _walk_folder(walk: _Walk) -> None:
    """Depth-first with an explicit stack: no recursion, so a tree of any depth cannot overflow the stack."""
    walk.pending.append((walk.root, 0))
    files: list[SourceFile] = []
    while walk.pending:
        folder, depth = walk.pending.pop()
        relative = folder.relative_to(walk.root).as_posix()
        try:
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            walk.found.unknown.append(str(folder))
            shown = printable(relative + "/") if relative != "." else printable(str(walk.root))
            reason = f"the folder cannot be listed ({exc.strerror or exc}); its documents are kept as they are"
            walk.found.skipped.append(_skip(shown, reason))
            continue
        for entry in listed:
            if entry.name.startswith("."):
                continue
            name = printable(Path(entry.path).relative_to(walk.root).as_posix())
            try:
                if entry.is_symlink():
                    walk.found.skipped.append(_skip(name, f"a symbolic link (to {_target(entry.path)}); not followed"))
                elif entry.is_dir(follow_symlinks=False):
                    if depth + 1 > MAX_DEPTH:
                        walk.found.unknown.append(entry.path)
                        walk.found.skipped.append(_skip(name + "/", f"nested deeper than {MAX_DEPTH} folders"))
                    else:
                        walk.pending.append((Path(entry.path), depth + 1))
                elif Path(entry.name).suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue
                elif entry.is_file(follow_symlinks=False):
                    files.append(SourceFile(Path(entry.path), name, os.path.abspath(entry.path), walk.real_root))
                else:
                    kind = file_kind(entry.stat(follow_symlinks=False).st_mode)
                    walk.found.skipped.append(_skip(name, f"{kind}, not a regular file"))
            except OSError as exc:
                walk.found.skipped.append(_skip(name, f"cannot be read ({exc.strerror or exc})"))
    walk.found.extend(sorted(files, key=lambda f: Path(f.source).parts))


def _skip(name: str, reason: str) -> FileReport:
    return FileReport(name, "skipped", reason=reason + ".")


def _target(path: str) -> str:
    try:
        return printable(os.readlink(path))
    except OSError:
        return "somewhere unknown"
