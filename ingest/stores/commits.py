"""A FAISS collection on disk: a folder of self-describing commits, one live, switched by an atomic rename.

Layout of one collection::

    <index_dir>/<collection>/
        CURRENT                 name of the live commit, switched by an atomic rename
        writer.lock             one writer at a time
        commits/<NNNNNNNN>/     manifest.json, vectors.faiss, chunks.jsonl

A commit is written to a temporary folder, fsynced, renamed into place, and only then made live by
renaming a new CURRENT over the old one. A writer that dies at any instant leaves the previous commit live.
The manifest records the format version, the embedder and chunker settings, and the SHA-256 of every file,
so a damaged commit is detected and the previous good one is used instead. Nothing is ever unpickled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict
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

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
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


def write_commit(
    directory: Path,
    name: str,
    config: IndexConfig,
    chunks: list[Chunk],
    index: faiss.Index,
    documents: dict[str, DocumentInfo],
    *,
    base: str | None = None,
) -> str:
    """Write the commit `name` and make it live. With `base`, a commit whose chunks start with all of that
    commit's, in order, copies its chunk file and appends the rest instead of writing every chunk again."""
    commits = directory / "commits"
    commits.mkdir(parents=True, exist_ok=True)
    temporary = commits / f".tmp-{os.getpid()}-{uuid.uuid4().hex}"
    temporary.mkdir()
    try:
        manifest = _write_files(
            temporary, config, chunks, index, documents, base=None if base is None else commits / base
        )
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
    return fingerprint(manifest)


def _write_files(
    temporary: Path,
    config: IndexConfig,
    chunks: list[Chunk],
    index: faiss.Index,
    documents: dict[str, DocumentInfo],
    base: Path | None,
) -> dict[str, Any]:
    faiss.write_index(index, str(temporary / "vectors.faiss"))
    start = 0
    copied = read_manifest(base)["count"] if base is not None else 0
    if base is not None and copied <= len(chunks):
        shutil.copyfile(base / "chunks.jsonl", temporary / "chunks.jsonl")
        start = copied
    with (temporary / "chunks.jsonl").open("ab") as handle:
        handle.writelines(_json_line(chunk.to_json()) for chunk in chunks[start:])
    manifest = {
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": asdict(config),
        "count": len(chunks),
        "index": type(index).__name__,
        "files": {f: {"sha256": sha256_file(temporary / f), "bytes": (temporary / f).stat().st_size} for f in FILES},
        "documents": [d.to_json() for d in documents.values()],
    }
    (temporary / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    for path in temporary.iterdir():
        _fsync_file(path)
    _fsync_dir(temporary)
    return manifest


def fingerprint(manifest: dict[str, Any]) -> str:
    """Names a commit's content by the checksums of its files: a collection deleted and made again reuses
    commit numbers, so caches must not key on them alone."""
    return "".join(manifest["files"][name]["sha256"][:16] for name in FILES)


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
    if manifest["format_version"] != FORMAT_VERSION:
        raise IndexStoreError(
            f"The index in {folder.parent.parent} has format version {manifest['format_version']}, this version "
            f"reads {FORMAT_VERSION}. Rebuild it with `python -m ingest --rebuild PATH`."
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
    try:
        return orjson.dumps(data) + b"\n"
    except TypeError:  # what orjson refuses (integers past 64 bits) the standard library still writes
        return (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")


def read_commit_or_fallback(
    directory: Path, config: IndexConfig, name: str
) -> tuple[str, str, list[Chunk], dict[str, DocumentInfo], faiss.Index]:
    """The commit `name`, or the newest older one that is whole when it is damaged (logged); raises
    IndexStoreError when none is, and FileNotFoundError when a writer collected it meanwhile."""
    candidates = [name] + [c for c in sorted(commit_names(directory), reverse=True) if c < name]
    errors = []
    for candidate in candidates:
        try:
            content, chunks, documents, index = _read_commit(directory, config, candidate)
        except CorruptCommit as exc:
            errors.append(f"{candidate}: {exc}")
            log.warning("Commit %s of %s is damaged (%s); trying the previous one.", candidate, directory, exc)
            continue
        if candidate != name:
            log.warning("Using commit %s of %s because %s is damaged.", candidate, directory, name)
        return candidate, content, chunks, documents, index
    raise IndexStoreError(
        f"The index in {directory} is damaged ({'; '.join(errors)}). Rebuild it with `python -m ingest --rebuild PATH`."
    )


def _read_commit(
    directory: Path, config: IndexConfig, name: str
) -> tuple[str, list[Chunk], dict[str, DocumentInfo], faiss.Index]:
    folder = directory / "commits" / name
    manifest = read_manifest(folder)
    check_config(directory, manifest, config)
    for file_name in FILES:
        expected = manifest["files"].get(file_name, {})
        if sha256_file(folder / file_name) != expected.get("sha256"):
            raise CorruptCommit(f"{file_name} does not match its checksum")
    index = faiss.read_index(str(folder / "vectors.faiss"))
    if index.d != config.dimension:
        raise CorruptCommit(f"vectors have {index.d} dimensions, the manifest says {config.dimension}")
    with (folder / "chunks.jsonl").open("rb") as handle:
        chunks = [Chunk.from_json(orjson.loads(line)) for line in handle if line.strip()]
    documents = {d["doc_id"]: DocumentInfo.from_json(d) for d in manifest["documents"]}
    if index.ntotal != len(chunks) or manifest["count"] != len(chunks):
        raise CorruptCommit(f"{index.ntotal} vectors, {len(chunks)} chunks, manifest says {manifest['count']}")
    return fingerprint(manifest), chunks, documents, index
