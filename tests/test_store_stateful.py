"""A stateful property test: random sequences of ingest, change, rename, delete, sync and reload, checked after
every step against a plain dict of what the collection should hold; once per store backend."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ingest import Settings, collect_sources, ingest, open_index, open_store
from ingest.manage import delete_documents
from ingest.stores import close_stores, segments
from tests.conftest import HashEmbedder, backend_overrides

NAMES = st.sampled_from(["a.md", "b.md", "c.txt", "notes/d.md", "notes/e.txt"])
TEXTS = st.lists(st.sampled_from(["alpha", "beta", "gamma", "delta", "omega", "sigma"]), min_size=3, max_size=40)


class StoreMachine(RuleBasedStateMachine):
    backend = "faiss"

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="store-machine-"))
        self.folder = self.root / "docs"
        self.folder.mkdir()
        self.settings = Settings(
            index_dir=self.root / "index",
            embedding_model="hash-bow",
            chunk_size=40,
            chunk_overlap=8,
            header_tokens=16,
            isolate_parsing=False,
            _env_file=None,  # type: ignore[call-arg]
            **backend_overrides(self.backend, self.root),
        )
        self.embedder = HashEmbedder()
        self.expected: dict[str, str] = {}  # source -> text, what the index must hold
        self.on_disk: dict[str, str] = {}

    def teardown(self) -> None:
        close_stores()
        shutil.rmtree(self.root, ignore_errors=True)

    def _write(self, name: str, words: list[str]) -> str:
        text = f"# {name}\n\n" + " ".join(words) + f" {name}\n"
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.on_disk[name] = text
        return text

    def _ingest(self, sync: bool = False) -> None:
        """Ingest the folder, and apply the documented rules to the model: unchanged files are kept, changed
        ones replaced, a copy of indexed content is a duplicate, content whose file is gone (with sync) or
        changed moves to another file of the batch that holds it, and with sync files gone are removed, unless
        the folder holds no file at all."""
        ingest(collect_sources([self.folder]), self.settings, self.embedder, sync=sync)
        initial = dict(self.expected)
        owner = {text: source for source, text in initial.items()}
        order = sorted(self.on_disk, key=lambda name: Path(name).parts)
        removed: set[str] = set()  # texts leaving the index
        moved: dict[str, str] = {}  # text -> new source
        holders: dict[str, str] = {}  # text -> first other file holding it
        added: dict[str, str] = {}
        seen: set[str] = set()
        for source in order:
            text, previous = self.on_disk[source], initial.get(source)
            if previous is not None and previous != text:
                removed.add(previous)
            if text in seen:
                continue
            seen.add(text)
            if text in owner:
                if owner[text] != source:
                    if sync and owner[text] not in self.on_disk:
                        moved[text] = source
                    else:
                        holders.setdefault(text, source)
                continue
            added[source] = text
        if sync and self.on_disk:  # a folder that came back empty is unknown (unmounted?), never emptied
            removed |= {text for source, text in initial.items() if source not in self.on_disk}
        for text, source in holders.items():
            if text in removed and text not in moved:
                moved[text] = source
        result = {s: t for s, t in initial.items() if t not in removed and t not in moved}
        result.update({source: text for text, source in moved.items()})
        result.update(added)
        self.expected = result

    @rule(name=NAMES, words=TEXTS)
    def add_or_change_and_ingest(self, name: str, words: list[str]) -> None:
        self._write(name, words)
        self._ingest()

    @rule(name=NAMES, other=NAMES)
    def copy_a_file_over_another_and_sync(self, name: str, other: str) -> None:
        if name in self.on_disk and other != name:
            path = self.folder / other
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.on_disk[name], encoding="utf-8")
            self.on_disk[other] = self.on_disk[name]
            self._ingest(sync=True)

    @precondition(lambda self: self.on_disk)
    @rule(data=st.data())
    def remove_file_and_sync(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.on_disk)))
        (self.folder / name).unlink()
        del self.on_disk[name]
        self._ingest(sync=True)

    @precondition(lambda self: self.on_disk)
    @rule(data=st.data(), new=NAMES)
    def rename_and_sync(self, data: st.DataObject, new: str) -> None:
        old = data.draw(st.sampled_from(sorted(self.on_disk)))
        if new in self.on_disk:
            return
        (self.folder / new).parent.mkdir(parents=True, exist_ok=True)
        (self.folder / old).rename(self.folder / new)
        self.on_disk[new] = self.on_disk.pop(old)
        self._ingest(sync=True)

    @precondition(lambda self: self.expected)
    @rule(data=st.data())
    def delete_document(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.expected)))
        delete_documents(self.settings, [name])
        del self.expected[name]

    @rule()
    def reingest(self) -> None:
        before = self.embedder.documents_embedded
        expected_before = dict(self.expected)
        self._ingest()
        if self.expected == expected_before:
            assert self.embedder.documents_embedded == before, "an unchanged re-ingest embedded something"

    @invariant()
    def index_matches_the_model(self) -> None:
        if open_store(self.settings).config_of(self.settings.collection) is None:
            assert not self.expected
            return
        store = open_index(self.settings, self.embedder)  # a fresh reload every step
        assert {d.source for d in store.documents.values()} == set(self.expected)
        everything = store.all_chunks()
        assert {c.source for c in everything} == set(self.expected)
        for document in store.documents.values():
            chunks = [c for c in everything if c.doc_id == document.doc_id]
            assert len(chunks) == document.chunks
            assert all(c.text in self.expected[document.source] for c in chunks)
        assert len(everything) == len(store) == len({c.id for c in everything})


StoreMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestStoreMachine = StoreMachine.TestCase


class MilvusStoreMachine(StoreMachine):
    backend = "milvus"


# Fewer examples: each starts a Milvus Lite engine, and every step is a round trip to it.
MilvusStoreMachine.TestCase.settings = settings(
    max_examples=8, stateful_step_count=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestMilvusStoreMachine = MilvusStoreMachine.TestCase


class SegmentedStoreMachine(StoreMachine):
    """The FAISS backend with every addition written as a new segment (up to `MAX_SEGMENTS`), so the sequences
    run through linked segments, merges and rebuilds."""

    def __init__(self) -> None:
        super().__init__()
        self._share = segments.DELTA_SHARE
        segments.DELTA_SHARE = 100.0

    def teardown(self) -> None:
        segments.DELTA_SHARE = self._share
        super().teardown()


SegmentedStoreMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestSegmentedStoreMachine = SegmentedStoreMachine.TestCase
