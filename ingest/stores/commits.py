"""A FAISS collection on disk: a folder of self-describing commits, one live, switched by an atomic rename.

Layout of one collection::

    <index_dir>/<collection>/
        CURRENT                 name of the live commit, switched by an atomic rename
        writer.lock             one writer at a time
        commits/<NNNNNNNN>/     manifest.json, vectors.faiss, chunks.jsonl
                                [, vectors-<N>.faiss, chunks-<N>.jsonl: segments added by commit N]

A commit is written to a temporary folder, fsynced, renamed into place, and only then made live by
renaming a new CURRENT over the old one. A writer that dies at any instant leaves the previous commit live.
The manifest records the format version, the embedder and chunker settings, and the SHA-256 of every file,
so a damaged commit is detected and the previous good one is used instead. Nothing is ever unpickled.

A commit that only adds documents writes them as a new segment (`segments.py`) and hard-links the earlier
segments' files from the commit before it: no file is ever written in place, so sharing them is safe, and adding
one document to a large collection writes only that document's rows. Damage to a shared file shows in every
commit that holds it, and is reported by its checksum like any other.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import orjson
from filelock import FileLock, Timeout

from ..errors import IndexStoreError
from ..files import sha256_file
from ..types import Chunk, DocumentInfo
from .base import IndexConfig
from .segments import Segment

log = logging.getLogger(__name__)

#: Version 1 is one segment in `FILES`; version 2 lists its segments. A one-segment commit is still written as
#: version 1, so an older reader can read it.
FORMAT_VERSION = 2
_READABLE = (1, 2)
FILES = ("vectors.faiss", "chunks.jsonl")
_KEEP_COMMITS = 3


class CorruptCommit(Exception):
    """A commit's files are missing, truncated or do not match the manifest."""


@contextlib.contextmanager
def writer_lock(directory: Path, timeout: float = 600.0) -> Iterator[None]:
    """Hold the collection's writer lock; waits up to `timeout` seconds for another writer."""
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / "writer.lock"))
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise IndexStoreError(
            f"Another ingest is writing to {directory} and did not finish within {timeout:.0f} s. "
            "Wait for it, or stop it, then run the command again."
        ) from exc
    try:
        yield
    finally:
        lock.release()


def read_current(directory: Path) -> str | None:
    try:
        name = (directory / "CURRENT").read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexStoreError(f"Cannot read {directory / 'CURRENT'} ({exc}).") from exc
    if not name.isdigit():
        raise IndexStoreError(f"{directory / 'CURRENT'} is damaged; rebuild with `python -m ingest --rebuild PATH`.")
    return name


def collect_garbage(directory: Path) -> None:
    """Remove temporary folders of dead writers and all but the newest commits; hold the writer lock."""
    commits = directory / "commits"
    if not commits.exists():
        return
    current = read_current(directory)
    for child in commits.iterdir():
        if child.name.startswith(".tmp-"):
            shutil.rmtree(child, ignore_errors=True)
    # Commits newer than CURRENT were renamed into place by a writer that died before switching to them.
    older = sorted((n for n in commit_names(directory) if current is None or n <= current), reverse=True)
    doomed = [n for n in commit_names(directory) if current is not None and n > current] + older[_KEEP_COMMITS:]
    for name in doomed:
        shutil.rmtree(commits / name, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (directory / "CURRENT.tmp").unlink()


def config_of(directory: Path) -> IndexConfig | None:
    """The config the live commit was built with, or None when there is no index."""
    name = read_current(directory)
    if name is None:
        return None
    manifest = read_manifest(directory / "commits" / name)
    return IndexConfig(**manifest["config"])


def commit_names(directory: Path) -> list[str]:
    commits = directory / "commits"
    if not commits.exists():
        return []
    return [c.name for c in commits.iterdir() if c.name.isdigit()]


def next_free_name(directory: Path) -> str:
    names = commit_names(directory)
    return f"{int(max(names)) + 1:08d}" if names else "00000001"


@dataclass
class NewSegment:
    """A segment a commit writes: its index, and its chunks: the lines of `head` (chunk files of the commit
    before, copied as they are) followed by `tail`."""

    index: faiss.Index
    tail: list[Chunk]
    head: list[Path] = field(default_factory=list)


def write_commit(
    directory: Path,
    name: str,
    config: IndexConfig,
    documents: dict[str, DocumentInfo],
    new: NewSegment | None,
    *,
    base: str | None = None,
    keep: list[Segment] | None = None,
) -> tuple[str, list[Segment]]:
    """Write the commit `name` and make it live: the segments `keep` of commit `base`, linked, then `new`.
    Returns the commit's content fingerprint and its segments."""
    commits = directory / "commits"
    commits.mkdir(parents=True, exist_ok=True)
    temporary = commits / f".tmp-{os.getpid()}-{uuid.uuid4().hex}"
    temporary.mkdir()
    try:
        manifest = _write_files(temporary, name, config, documents, new, None if base is None else commits / base, keep)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    os.rename(temporary, commits / name)
    _fsync_dir(commits)
    pointer = directory / "CURRENT.tmp"
    pointer.write_text(name + "\n", encoding="ascii")
    _fsync_file(pointer)
    os.replace(pointer, directory / "CURRENT")
    _fsync_dir(directory)
    return fingerprint(manifest), segments_of(manifest)


def _write_files(
    temporary: Path,
    name: str,
    config: IndexConfig,
    documents: dict[str, DocumentInfo],
    new: NewSegment | None,
    base: Path | None,
    keep: list[Segment] | None,
) -> dict[str, Any]:
    segments, files, written, first_index = list(keep or []), {}, [], ""
    if segments:
        assert base is not None
        recorded = read_manifest(base)
        first_index = recorded.get("index", "")
        for segment in segments:
            for file_name in (segment.vectors, segment.chunks):
                _link(base / file_name, temporary / file_name)
                files[file_name] = recorded["files"][file_name]
    if new is not None:
        vectors, chunk_file = FILES if not segments else (f"vectors-{name}.faiss", f"chunks-{name}.jsonl")
        faiss.write_index(new.index, str(temporary / vectors))
        with (temporary / chunk_file).open("wb") as handle:
            for path in new.head:
                with path.open("rb") as source:
                    shutil.copyfileobj(source, handle, 1 << 20)
            handle.writelines(_json_line(chunk.to_json()) for chunk in new.tail)
        segments.append(Segment(vectors, chunk_file, int(new.index.ntotal)))
        written = [vectors, chunk_file]
        files.update(
            {f: {"sha256": sha256_file(temporary / f), "bytes": (temporary / f).stat().st_size} for f in written}
        )
        first_index = first_index or type(new.index).__name__
    legacy = len(segments) == 1 and (segments[0].vectors, segments[0].chunks) == FILES
    manifest: dict[str, Any] = {
        "format_version": 1 if legacy else FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": asdict(config),
        "count": sum(s.count for s in segments),
        "index": first_index,  # the first segment's FAISS index (flat or HNSW), for people reading the manifest
        "files": files,
        "documents": [d.to_json() for d in documents.values()],
    }
    if not legacy:
        manifest["segments"] = [asdict(s) for s in segments]
    (temporary / "manifest.json").write_bytes(_json(manifest, indent=True))
    for file_name in [*written, "manifest.json"]:
        _fsync_file(temporary / file_name)
    _fsync_dir(temporary)
    return manifest


def _link(source: Path, target: Path) -> None:
    """`target` as a second name of `source` (never written in place, so sharing it is safe); a copy where the
    file system has no hard links."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
        _fsync_file(target)


def segments_of(manifest: dict[str, Any]) -> list[Segment]:
    """A commit's segments, in row order; a version 1 commit is the one segment in `FILES`."""
    if "segments" not in manifest:
        return [Segment(*FILES, int(manifest["count"]))]
    return [Segment(s["vectors"], s["chunks"], int(s["count"])) for s in manifest["segments"]]


def fingerprint(manifest: dict[str, Any]) -> str:
    """Names a commit's content by the checksums of its files: a collection deleted and made again reuses
    commit numbers, so caches must not key on them alone."""
    names = [n for s in segments_of(manifest) for n in (s.vectors, s.chunks)]
    return "".join(manifest["files"][name]["sha256"][:16] for name in names)


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = orjson.loads((folder / "manifest.json").read_bytes())
    except FileNotFoundError:
        if not folder.exists():
            raise
        raise CorruptCommit("manifest.json is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptCommit(f"manifest.json is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or "format_version" not in manifest:
        raise CorruptCommit("manifest.json is not a manifest")
    if manifest["format_version"] not in _READABLE:
        raise IndexStoreError(
            f"The index in {folder.parent.parent} has format version {manifest['format_version']}, this version "
            f"reads {' and '.join(map(str, _READABLE))}. Rebuild it with `python -m ingest --rebuild PATH`."
        )
    return manifest


def check_config(directory: Path, manifest: dict[str, Any], config: IndexConfig) -> None:
    built = IndexConfig(**manifest["config"])
    if built != config:
        raise IndexStoreError(
            f"The index in {directory} was built with {built.describe()}, but the settings ask for "
            f"{config.describe()}. Vectors from different settings are never mixed: rebuild the index with "
            f"`python -m ingest --rebuild PATH`, or change the settings back."
        )


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _json_line(data: dict[str, Any]) -> bytes:
    return _json(data) + b"\n"


def _json(data: dict[str, Any], *, indent: bool = False) -> bytes:
    try:
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 if indent else None)
    except TypeError:  # what orjson refuses (integers past 64 bits) the standard library still writes
        return json.dumps(data, indent=1 if indent else None, ensure_ascii=False).encode("utf-8")


def read_commit_or_fallback(
    directory: Path, config: IndexConfig, name: str
) -> tuple[str, str, list[Chunk], dict[str, DocumentInfo], list[faiss.Index], list[Segment]]:
    """The commit `name`, or the newest older one that is whole when it is damaged (logged); raises
    IndexStoreError when none is, and FileNotFoundError when a writer collected it meanwhile."""
    candidates = [name] + [c for c in sorted(commit_names(directory), reverse=True) if c < name]
    errors = []
    for candidate in candidates:
        try:
            read = _read_commit(directory, config, candidate)
        except CorruptCommit as exc:
            errors.append(f"{candidate}: {exc}")
            log.warning("Commit %s of %s is damaged (%s); trying the previous one.", candidate, directory, exc)
            continue
        if candidate != name:
            log.warning("Using commit %s of %s because %s is damaged.", candidate, directory, name)
        return (candidate, *read)
    raise IndexStoreError(
        f"The index in {directory} is damaged ({'; '.join(errors)}). Rebuild it with `python -m ingest --rebuild PATH`."
    )


def _read_commit(
    directory: Path, config: IndexConfig, name: str
) -> tuple[str, list[Chunk], dict[str, DocumentInfo], list[faiss.Index], list[Segment]]:
    folder = directory / "commits" / name
    manifest = read_manifest(folder)
    check_config(directory, manifest, config)
    segments = segments_of(manifest)
    indexes, chunks = [], []
    for segment in segments:
        for file_name in (segment.vectors, segment.chunks):
            expected = manifest["files"].get(file_name, {})
            if sha256_file(folder / file_name) != expected.get("sha256"):
                raise CorruptCommit(f"{file_name} does not match its checksum")
        index = faiss.read_index(str(folder / segment.vectors))
        if index.d != config.dimension:
            raise CorruptCommit(f"vectors have {index.d} dimensions, the manifest says {config.dimension}")
        with (folder / segment.chunks).open("rb") as handle:
            rows = [Chunk.from_json(orjson.loads(line)) for line in handle if line.strip()]
        if index.ntotal != len(rows) or segment.count != len(rows):
            raise CorruptCommit(
                f"{segment.vectors}: {index.ntotal} vectors, {len(rows)} chunks, manifest says {segment.count}"
            )
        indexes.append(index)
        chunks += rows
    documents = {d["doc_id"]: DocumentInfo.from_json(d) for d in manifest["documents"]}
    if manifest["count"] != len(chunks):
        raise CorruptCommit(f"{len(chunks)} chunks, manifest says {manifest['count']}")
    return fingerprint(manifest), chunks, documents, indexes, segments
