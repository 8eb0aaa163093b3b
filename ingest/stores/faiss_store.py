"""The FAISS backend, the default: each collection a folder of atomic commits (`commits.py`) under the index
folder, read whole into memory as a `FaissCollection`."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from ..errors import IndexStoreError
from ..names import COLLECTION_NAME
from .base import IndexConfig, Store, checked_name
from .commits import config_of, writer_lock
from .faiss_collection import DEFAULT_ANN_THRESHOLD, FaissCollection


class FaissStore(Store):
    """Collections as folders under `root` (`settings.index_dir`)."""

    kind = "faiss"

    def __init__(self, root: Path, ann_threshold: int = DEFAULT_ANN_THRESHOLD) -> None:
        self.root = Path(root)
        self.ann_threshold = ann_threshold

    def directory(self, name: str) -> Path:
        return self.root / checked_name(name)

    def describe(self, name: str | None = None) -> str:
        return str(self.root if name is None else self.directory(name))

    def collection_names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(c.name for c in self.root.iterdir() if c.is_dir() and COLLECTION_NAME.match(c.name))

    def config_of(self, name: str) -> IndexConfig | None:
        return config_of(self.directory(name))

    def open(self, name: str, config: IndexConfig, *, create: bool = False) -> FaissCollection:
        return FaissCollection.open(self.directory(name), config, create=create, ann_threshold=self.ann_threshold)

    def open_for_rebuild(self, name: str, config: IndexConfig) -> FaissCollection:
        directory = self.directory(name)
        old_config = config_of(directory)
        if old_config is None:
            return FaissCollection(directory, config, ann_threshold=self.ann_threshold)
        old = FaissCollection.open(directory, old_config)
        # Vectors of the old config are dropped entirely: the rebuild commits only what is added to it.
        return FaissCollection(
            directory, config, commit_name=old.commit_name, documents=dict(old.documents),
            ann_threshold=self.ann_threshold,
        )  # fmt: skip

    def create_collection(self, name: str) -> None:
        self.directory(name).mkdir(parents=True, exist_ok=True)

    def delete_collection(self, name: str, *, lock_timeout: float = 600.0) -> None:
        directory = self.directory(name)
        if not directory.is_dir():
            raise IndexStoreError(f"There is no collection {name!r} in {self.root}.")
        with writer_lock(directory, timeout=lock_timeout):
            # Moved aside first: readers see it vanish at once, never half-deleted.
            doomed = directory.with_name(f".deleted-{name}")
            shutil.rmtree(doomed, ignore_errors=True)
            directory.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def writer_lock(self, name: str, timeout: float = 600.0) -> contextlib.AbstractContextManager[None]:
        return writer_lock(self.directory(name), timeout=timeout)
