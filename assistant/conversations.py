"""Saved conversations: chats per collection in one SQLite file, each turn stored as it finishes.

A turn keeps the question, the query it was searched with, the answer, and the sources the model was given
(identifiers, citation and passage text, as JSON), so a reopened chat shows its citation cards again without
searching. Nothing is pickled; every row is plain text or JSON.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest import Settings

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chats_by_collection ON chats (collection, updated_at);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    query TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    sources TEXT NOT NULL DEFAULT '[]',
    withheld TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_chat ON turns (chat_id, id);
"""
#: The fields of a source record kept with a turn, and their types: anything else is dropped on the way in.
SOURCE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "number": int,
    "citation": str,
    "score": (int, float),
    "text": str,
    "cited": bool,
    "doc_id": str,
    "source": str,
    "page": (int, type(None)),
    "title": str,
}
TITLE_CHARS = 60


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """One saved chat, as listed to the user."""

    id: int
    collection: str
    title: str
    created_at: str
    updated_at: str
    turns: int = 0


@dataclass(frozen=True, slots=True)
class Turn:
    """One question and its answer, with the sources the model was given."""

    question: str
    answer: str
    query: str = ""
    error: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)

    @classmethod
    def from_record(cls, question: str, record: dict[str, Any]) -> Turn:
        """A turn from the app's assistant message (a plain dict)."""
        return cls(
            question=question,
            answer=str(record.get("content", "")),
            query=str(record.get("query", "") or ""),
            error=str(record.get("error", "") or ""),
            sources=[_clean_source(s) for s in record.get("sources", [])],
            withheld=[str(w) for w in record.get("withheld", [])],
        )

    def messages(self) -> list[dict[str, Any]]:
        """The user's message and the assistant's, as the app keeps them."""
        answer: dict[str, Any] = {
            "role": "assistant",
            "content": self.answer,
            "question": self.question,
            "sources": [dict(s) for s in self.sources],
            "withheld": list(self.withheld),
        }
        if self.query:
            answer["query"] = self.query
        if self.error:
            answer["error"] = self.error
        return [{"role": "user", "content": self.question}, answer]


def _clean_source(source: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in source.items() if k in SOURCE_FIELDS and isinstance(v, SOURCE_FIELDS[k])}


def chat_title(question: str) -> str:
    """A chat's first title: its first question, on one line, cut to a sane length."""
    title = " ".join(question.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Conversations:
    """The saved chats of every collection, in one SQLite file (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def from_settings(cls, settings: Settings) -> Conversations:
        return cls(settings.chats_path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                db.execute("PRAGMA journal_mode = WAL")  # readers in other sessions never wait for a writer
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            with db:  # one transaction per call: committed, or rolled back on error
                yield db

    def create(self, collection: str, title: str) -> int:
        now = _now()
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO chats (collection, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (collection, chat_title(title) or "New chat", now, now),
            )
            return int(cursor.lastrowid or 0)

    def chats(self, collection: str) -> list[ChatInfo]:
        """The collection's chats, the most recently used first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT c.id, c.collection, c.title, c.created_at, c.updated_at, COUNT(t.id) FROM chats c "
                "LEFT JOIN turns t ON t.chat_id = c.id WHERE c.collection = ? GROUP BY c.id "
                "ORDER BY c.updated_at DESC, c.id DESC",
                (collection,),
            ).fetchall()
        return [ChatInfo(*row) for row in rows]

    def get(self, chat_id: int) -> ChatInfo | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT c.id, c.collection, c.title, c.created_at, c.updated_at, COUNT(t.id) FROM chats c "
                "LEFT JOIN turns t ON t.chat_id = c.id WHERE c.id = ? GROUP BY c.id",
                (chat_id,),
            ).fetchone()
        return ChatInfo(*row) if row else None

    def rename(self, chat_id: int, title: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE chats SET title = ? WHERE id = ?", (chat_title(title) or "Untitled chat", chat_id))

    def delete(self, chat_id: int) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM chats WHERE id = ?", (chat_id,))

    def add_turn(self, chat_id: int, turn: Turn) -> None:
        now = _now()
        with self._connect() as db:
            db.execute(
                "INSERT INTO turns (chat_id, question, query, answer, error, sources, withheld, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chat_id,
                    turn.question,
                    turn.query,
                    turn.answer,
                    turn.error,
                    json.dumps(turn.sources, ensure_ascii=False),
                    json.dumps(turn.withheld, ensure_ascii=False),
                    now,
                ),
            )
            db.execute("UPDATE chats SET updated_at = ? WHERE id = ?", (now, chat_id))

    def turns(self, chat_id: int) -> list[Turn]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT question, query, answer, error, sources, withheld FROM turns WHERE chat_id = ? ORDER BY id",
                (chat_id,),
            ).fetchall()
        return [
            Turn(
                question,
                answer,
                query,
                error,
                [_clean_source(s) for s in _json_list(sources) if isinstance(s, dict)],
                [str(w) for w in _json_list(withheld)],
            )
            for question, query, answer, error, sources, withheld in rows
        ]

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The chat as the app keeps it: user and assistant messages, in order."""
        return [message for turn in self.turns(chat_id) for message in turn.messages()]


def _json_list(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []
