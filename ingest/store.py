"""The index store: FAISS vectors plus JSON chunk metadata, written as atomic, self-describing commits.

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
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from filelock import FileLock, Timeout

from .errors import IndexStoreError
from .files import sha256_file
from .types import Chunk, DocumentInfo, ScoredChunk

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_FILES = ("vectors.faiss", "chunks.jsonl")
_KEEP_COMMITS = 3

#: Collections with more chunks than this are searched with an HNSW graph instead of exactly.
DEFAULT_ANN_THRESHOLD = 50_000
_HNSW_NEIGHBOURS = 32
_HNSW_EF_CONSTRUCTION = 80
#: Candidates the HNSW search explores; measured by scripts/bench_ann.py (recall@10 against exact search).
HNSW_EF_SEARCH = 128


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """What an index was built with; an index is only ever read or extended with the same config."""

    embedding_model: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    header_tokens: int
    document_prefix: str = ""

    def describe(self) -> str:
        return (
            f"embedder {self.embedding_model} ({self.dimension} dimensions), chunk_size {self.chunk_size}, "
            f"chunk_overlap {self.chunk_overlap}, header_tokens {self.header_tokens}"
        )


class IndexStore:
    """One consistent snapshot of a collection. Read-only; `commit` returns the next snapshot."""

    def __init__(
        self,
        directory: Path,
        config: IndexConfig,
        *,
        commit_name: str | None = None,
        chunks: list[Chunk] | None = None,
        vectors: np.ndarray | None = None,
        documents: dict[str, DocumentInfo] | None = None,
        index: faiss.Index | None = None,
        ann_threshold: int = DEFAULT_ANN_THRESHOLD,
    ) -> None:
        """A snapshot from `vectors` (one per chunk), or from an already built FAISS `index`.

        `ann_threshold` is the size past which the next commits build an approximate (HNSW) index.
        """
        self.directory = directory
        self.config = config
        self.commit_name = commit_name
        self.chunks = chunks or []
        self.documents = documents or {}
        self.ann_threshold = ann_threshold
        self._index = index if index is not None else build_index(config.dimension, vectors, ann_threshold)
        _tune(self._index)
        if self._index.ntotal != len(self.chunks):
            raise IndexStoreError(
                f"Index in {directory} is inconsistent: {self._index.ntotal} vectors, {len(self.chunks)} chunks."
            )

    # Reading -------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, directory: Path, config: IndexConfig, *, create: bool = False, ann_threshold: int = DEFAULT_ANN_THRESHOLD
    ) -> IndexStore:
        """Load the live commit of `directory`; an empty store if there is none and `create` is set."""
        for _attempt in range(5):
            name = read_current(directory)
            if name is None:
                if create:
                    return cls(directory, config, ann_threshold=ann_threshold)
                raise IndexStoreError(
                    f"No index in {directory}. Run `python -m ingest data/docs` (or your own folder) first."
                )
            try:
                store = cls._load_commit_or_fallback(directory, config, name)
                store.ann_threshold = ann_threshold
                return store
            except FileNotFoundError:
                # A writer collected this commit while we were reading it; read CURRENT again.
                time.sleep(0.05)
        raise IndexStoreError(f"The index in {directory} keeps changing under the reader; try again.")

    @classmethod
    def _load_commit_or_fallback(cls, directory: Path, config: IndexConfig, name: str) -> IndexStore:
        candidates = [name] + [c for c in sorted(_commit_names(directory), reverse=True) if c < name]
        errors = []
        for candidate in candidates:
            try:
                store = cls._load_commit(directory, config, candidate)
            except _CorruptCommit as exc:
                errors.append(f"{candidate}: {exc}")
                log.warning("Commit %s of %s is damaged (%s); trying the previous one.", candidate, directory, exc)
                continue
            if candidate != name:
                log.warning("Using commit %s of %s because %s is damaged.", candidate, directory, name)
            return store
        raise IndexStoreError(
            f"The index in {directory} is damaged ({'; '.join(errors)}). Rebuild it with "
            "`python -m ingest --rebuild PATH`."
        )

    @classmethod
    def _load_commit(cls, directory: Path, config: IndexConfig, name: str) -> IndexStore:
        folder = directory / "commits" / name
        manifest = _read_manifest(folder)
        _check_config(directory, manifest, config)
        for file_name in _FILES:
            expected = manifest["files"].get(file_name, {})
            if sha256_file(folder / file_name) != expected.get("sha256"):
                raise _CorruptCommit(f"{file_name} does not match its checksum")
        index = faiss.read_index(str(folder / "vectors.faiss"))
        if index.d != config.dimension:
            raise _CorruptCommit(f"vectors have {index.d} dimensions, the manifest says {config.dimension}")
        with (folder / "chunks.jsonl").open(encoding="utf-8") as handle:
            chunks = [Chunk.from_json(json.loads(line)) for line in handle if line.strip()]
        documents = {d["doc_id"]: DocumentInfo.from_json(d) for d in manifest["documents"]}
        if index.ntotal != len(chunks) or manifest["count"] != len(chunks):
            raise _CorruptCommit(f"{index.ntotal} vectors, {len(chunks)} chunks, manifest says {manifest['count']}")
        return cls(directory, config, commit_name=name, chunks=chunks, documents=documents, index=index)

    def is_stale(self) -> bool:
        """True when another writer has committed since this snapshot was loaded."""
        return read_current(self.directory) != self.commit_name

    def reload_if_stale(self) -> IndexStore:
        if not self.is_stale():
            return self
        return IndexStore.open(self.directory, self.config, create=True, ann_threshold=self.ann_threshold)

    @property
    def index_kind(self) -> str:
        """`exact` (flat) or `hnsw` (approximate)."""
        return "hnsw" if isinstance(self._index, faiss.IndexHNSW) else "exact"

    def __len__(self) -> int:
        return len(self.chunks)

    def vectors(self) -> np.ndarray:
        if not self.chunks:
            return np.zeros((0, self.config.dimension), dtype=np.float32)
        return self._index.reconstruct_n(0, self._index.ntotal)

    def search(self, query: np.ndarray, k: int) -> list[ScoredChunk]:
        """The k chunks nearest to a unit query vector, best first, with cosine similarity."""
        if not self.chunks or k <= 0:
            return []
        scores, rows = self._index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), min(k, len(self)))
        return [ScoredChunk(self.chunks[r], float(s)) for s, r in zip(scores[0], rows[0], strict=True) if r >= 0]

    def search_rows(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, cosine) of the k nearest chunks, best first; among `rows` only, searched exactly, if given."""
        if not self.chunks or k <= 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if rows is None:
            scores, found = self._index.search(query, min(k, len(self)))
            return [(int(r), float(s)) for s, r in zip(scores[0], found[0], strict=True) if r >= 0]
        rows = np.asarray(rows, dtype=np.int64)
        similarities = self.similarities(query[0], rows)
        order = np.argsort(-similarities, kind="stable")[:k]
        return [(int(rows[i]), float(similarities[i])) for i in order]

    def similarities(self, query: np.ndarray, rows: np.ndarray | list[int]) -> np.ndarray:
        """Cosine similarity of the query to the chunks at these rows."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        vectors = self._index.reconstruct_batch(rows)
        return vectors @ np.asarray(query, dtype=np.float32).reshape(-1)

    def exact_search(self, query: np.ndarray, k: int) -> list[ScoredChunk]:
        """Like `search`, but always exhaustive; the reference an approximate index is measured against."""
        if not self.chunks or k <= 0:
            return []
        vectors = self.vectors()
        scores = vectors @ np.asarray(query, dtype=np.float32).reshape(-1)
        rows = np.argsort(-scores, kind="stable")[: min(k, len(self))]
        return [ScoredChunk(self.chunks[r], float(scores[r])) for r in rows]

    def list_documents(self) -> list[DocumentInfo]:
        return sorted(self.documents.values(), key=lambda d: d.source.lower())

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        """The chunks with these ids, in the order asked; unknown ids are left out."""
        by_id = {c.id: c for c in self.chunks}
        return [by_id[i] for i in ids if i in by_id]

    # Writing -------------------------------------------------------------------------------------

    def commit(
        self,
        *,
        add_chunks: list[Chunk] | None = None,
        add_vectors: np.ndarray | None = None,
        add_documents: list[DocumentInfo] | None = None,
        remove_doc_ids: set[str] | None = None,
        remove_chunk_ids: set[str] | None = None,
    ) -> IndexStore:
        """Write the next commit and make it live; the caller must hold `writer_lock`.

        Removals apply before additions, so a chunk id that is removed and added again is replaced.
        """
        add_chunks = add_chunks or []
        remove = remove_doc_ids or set()
        remove_chunks = (remove_chunk_ids or set()) | {c.id for c in add_chunks}
        if add_vectors is None:
            add_vectors = np.zeros((0, self.config.dimension), dtype=np.float32)
        if len(add_chunks) != len(add_vectors):
            raise ValueError(f"{len(add_chunks)} chunks but {len(add_vectors)} vectors")
        if add_vectors.shape[1:] != (self.config.dimension,):
            raise IndexStoreError(
                f"Vectors of shape {add_vectors.shape} cannot go into {self.directory}, built with "
                f"{self.config.describe()}."
            )
        if len({c.id for c in add_chunks}) != len(add_chunks):
            raise ValueError("the chunks to add repeat an id")
        keep = [i for i, c in enumerate(self.chunks) if c.doc_id not in remove and c.id not in remove_chunks]
        chunks = [self.chunks[i] for i in keep] + add_chunks
        add_vectors = np.ascontiguousarray(add_vectors, dtype=np.float32)
        documents = {k: v for k, v in self.documents.items() if k not in remove}
        documents.update({d.doc_id: d for d in add_documents or []})
        if self.is_stale():
            raise IndexStoreError(
                f"The index in {self.directory} changed since this snapshot was loaded; reopen it under the "
                "writer lock and apply the change again."
            )
        collect_garbage(self.directory)  # first, so a dead writer's orphan commit never becomes a fallback
        name = _next_free_name(self.directory)
        if len(keep) == len(self.chunks) and _wants_hnsw(len(chunks), self.ann_threshold) == (
            self.index_kind == "hnsw"
        ):
            index = faiss.clone_index(self._index)  # only additions: extend a copy instead of rebuilding
            if len(add_vectors):
                index.add(add_vectors)
        else:
            vectors = np.concatenate([self.vectors()[keep], add_vectors]) if chunks else None
            index = build_index(self.config.dimension, vectors, self.ann_threshold)
        try:
            _write_commit(self.directory, name, self.config, chunks, index, documents)
        except (OSError, RuntimeError) as exc:  # faiss reports write errors as RuntimeError
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
            raise IndexStoreError(
                f"Could not write the index in {self.directory} ({reason}); the previous state is "
                "kept. Free some disk space or fix the folder's permissions, then run the command again."
            ) from exc
        store = IndexStore(
            self.directory,
            self.config,
            commit_name=name,
            chunks=chunks,
            documents=documents,
            index=index,
            ann_threshold=self.ann_threshold,
        )
        collect_garbage(self.directory)
        return store


class _CorruptCommit(Exception):
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
    older = sorted((n for n in _commit_names(directory) if current is None or n <= current), reverse=True)
    doomed = [n for n in _commit_names(directory) if current is not None and n > current] + older[_KEEP_COMMITS:]
    for name in doomed:
        shutil.rmtree(commits / name, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (directory / "CURRENT.tmp").unlink()


def config_of(directory: Path) -> IndexConfig | None:
    """The config the live commit was built with, or None when there is no index."""
    name = read_current(directory)
    if name is None:
        return None
    manifest = _read_manifest(directory / "commits" / name)
    return IndexConfig(**manifest["config"])


def build_index(dimension: int, vectors: np.ndarray | None, ann_threshold: int = DEFAULT_ANN_THRESHOLD) -> faiss.Index:
    """Inner-product search over unit vectors (cosine similarity): exact when small, an HNSW graph past
    `ann_threshold` vectors."""
    count = 0 if vectors is None else len(vectors)
    if _wants_hnsw(count, ann_threshold):
        index = faiss.IndexHNSWFlat(dimension, _HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = _HNSW_EF_CONSTRUCTION
    else:
        index = faiss.IndexFlatIP(dimension)
    if vectors is not None and count:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _tune(index)
    return index


def _wants_hnsw(count: int, ann_threshold: int) -> bool:
    return count > ann_threshold


def _tune(index: faiss.Index) -> None:
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH


def _commit_names(directory: Path) -> list[str]:
    commits = directory / "commits"
    if not commits.exists():
        return []
    return [c.name for c in commits.iterdir() if c.name.isdigit()]


def _next_free_name(directory: Path) -> str:
    names = _commit_names(directory)
    return f"{int(max(names)) + 1:08d}" if names else "00000001"


def _write_commit(
    directory: Path,
    name: str,
    config: IndexConfig,
    chunks: list[Chunk],
    index: faiss.Index,
    documents: dict[str, DocumentInfo],
) -> None:
    commits = directory / "commits"
    commits.mkdir(parents=True, exist_ok=True)
    temporary = commits / f".tmp-{os.getpid()}-{uuid.uuid4().hex}"
    temporary.mkdir()
    try:
        _write_files(temporary, config, chunks, index, documents)
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


def _write_files(
    temporary: Path, config: IndexConfig, chunks: list[Chunk], index: faiss.Index, documents: dict[str, DocumentInfo]
) -> None:
    faiss.write_index(index, str(temporary / "vectors.faiss"))
    with (temporary / "chunks.jsonl").open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(json.dumps(chunk.to_json(), ensure_ascii=False) + "\n")
    manifest = {
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": asdict(config),
        "count": len(chunks),
        "index": type(index).__name__,
        "files": {f: {"sha256": sha256_file(temporary / f), "bytes": (temporary / f).stat().st_size} for f in _FILES},
        "documents": [d.to_json() for d in documents.values()],
    }
    (temporary / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    for path in temporary.iterdir():
        _fsync_file(path)
    _fsync_dir(temporary)


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        if not folder.exists():
            raise
        raise _CorruptCommit("manifest.json is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _CorruptCommit(f"manifest.json is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or "format_version" not in manifest:
        raise _CorruptCommit("manifest.json is not a manifest")
    if manifest["format_version"] != FORMAT_VERSION:
        raise IndexStoreError(
            f"The index in {folder.parent.parent} has format version {manifest['format_version']}, this version "
            f"reads {FORMAT_VERSION}. Rebuild it with `python -m ingest --rebuild PATH`."
        )
    return manifest


def _check_config(directory: Path, manifest: dict[str, Any], config: IndexConfig) -> None:
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
