"""Saved conversations: chats per collection in SQLite, turns with their sources as JSON, never pickled."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from assistant.conversations import Conversations, Turn, chat_title
from ingest import Settings

SOURCE = {
    "number": 1,
    "citation": "Handbook, p. 3",
    "score": 0.7,
    "text": "27 days.",
    "cited": True,
    "doc_id": "ab" * 32,
    "source": "handbook.pdf",
    "page": 3,
    "title": "Handbook",
}


def test_chats_are_kept_per_collection_newest_first(tmp_path: Path) -> None:
    chats = Conversations(tmp_path / "chats.sqlite3")
    first = chats.create("default", "How many vacation days?")
    other = chats.create("biology 101", "What do mitochondria make?")
    second = chats.create("default", "What is the meal allowance?")
    chats.add_turn(first, Turn("How many vacation days?", "27 [1]", sources=[SOURCE]))
    assert [c.id for c in chats.chats("default")] == [first, second], "the one just used comes first"
    assert [c.title for c in chats.chats("biology 101")] == ["What do mitochondria make?"]
    assert chats.get(first).turns == 1 and chats.get(other).collection == "biology 101"  # type: ignore[union-attr]


def test_turns_come_back_as_the_apps_messages_with_their_sources(tmp_path: Path) -> None:
    chats = Conversations(tmp_path / "chats.sqlite3")
    chat = chats.create("default", "q")
    record = {
        "content": "27 days [1]",
        "query": "vacation days",
        "sources": [SOURCE | {"live": object()}],
        "withheld": ["x.md, p. 1"],
    }
    chats.add_turn(chat, Turn.from_record("How many vacation days?", record))
    chats.add_turn(chat, Turn("And managers?", "The chat model could not be loaded.", error="No model file"))
    user, answer, _, failed = Conversations(tmp_path / "chats.sqlite3").messages(chat)  # a new process's view
    assert user == {"role": "user", "content": "How many vacation days?"}
    assert answer["content"] == "27 days [1]" and answer["query"] == "vacation days"
    assert answer["sources"] == [SOURCE], "only the known fields, as plain JSON"
    assert answer["withheld"] == ["x.md, p. 1"] and answer["question"] == "How many vacation days?"
    assert failed["error"] == "No model file"
    raw = sqlite3.connect(tmp_path / "chats.sqlite3").execute("SELECT sources FROM turns").fetchone()[0]
    assert raw.startswith("[{") and "live" not in raw, "JSON text, nothing pickled"


def test_rename_and_delete(tmp_path: Path) -> None:
    chats = Conversations(tmp_path / "chats.sqlite3")
    chat = chats.create("default", "q")
    chats.add_turn(chat, Turn("q", "a"))
    chats.rename(chat, "  Vacation   questions ")
    assert chats.get(chat).title == "Vacation questions"  # type: ignore[union-attr]
    chats.delete(chat)
    assert chats.get(chat) is None and chats.turns(chat) == [] and chats.chats("default") == []


def test_titles_are_one_line_and_bounded() -> None:
    assert chat_title("How\nmany   days?") == "How many days?"
    long = chat_title("word " * 40)
    assert len(long) <= 60 and long.endswith("…")


def test_the_file_lives_in_the_index_folder_unless_configured(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", _env_file=None)  # type: ignore[call-arg]
    assert Conversations.from_settings(settings).path == tmp_path / "index" / "chats.sqlite3"
    moved = settings.model_copy(update={"chats_file": tmp_path / "elsewhere.db"})
    assert Conversations.from_settings(moved).path == tmp_path / "elsewhere.db"
