"""API keys of the team server: bearer tokens stored only as SHA-256 hashes, each scoped to some collections.

A token is 32 random bytes (`secrets.token_urlsafe`), so a plain SHA-256 is as good as a slow hash: there is
nothing to guess. The file holds JSON (never pickle), is written atomically with mode 0600, and is read again
whenever it changes, so a key revoked with the CLI stops working on a running server at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ingest import AssistantError

#: A key's collections may be this, meaning every collection, present and future.
ALL = "*"
_PREFIX = "dq_"


@dataclass(frozen=True)
class Key:
    """Who is asking: a key's id, name and scope. `collections` are the names it may read (or `*`)."""

    id: str
    name: str
    collections: tuple[str, ...]
    write: bool
    created: str = ""
    digest: str = field(default="", repr=False)

    def can_read(self, collection: str) -> bool:
        return ALL in self.collections or collection in self.collections

    def can_write(self, collection: str) -> bool:
        return self.write and self.can_read(collection)

    def public(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "collections": list(self.collections), "write": self.write,
                "created": self.created}  # fmt: skip


#: With no key at all, the server is one person's, on loopback only: it may do anything.
LOCAL = Key("local", "no keys configured (loopback only)", (ALL,), True)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class KeyStore:
    """The keys file: create, list, revoke, and find the key a bearer token belongs to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._keys: list[Key] = []

    def active(self) -> list[Key]:
        with self._lock:
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                self._seen, self._keys = None, []
                return []
            if (stat.st_mtime_ns, stat.st_size) != self._seen:
                self._keys = self._read()
                self._seen = (stat.st_mtime_ns, stat.st_size)
            return list(self._keys)

    def _read(self) -> list[Key]:
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))["keys"]
            return [Key(r["id"], r["name"], tuple(r["collections"]), bool(r["write"]), r.get("created", ""),
                        r["sha256"]) for r in rows]  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AssistantError(f"The keys file {self.path} cannot be read ({exc}); fix or remove it.") from exc

    def authenticate(self, token: str) -> Key | None:
        """The key this token is, compared in constant time against every stored hash; None if none."""
        digest, found = _hash(token), None
        for key in self.active():
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found

    def create(self, name: str, collections: list[str], write: bool) -> tuple[Key, str]:
        """A new key and its token; the token is shown once and never stored."""
        if not collections:
            raise AssistantError("A key needs at least one collection (`--collections a,b`, or `*` for all).")
        token = _PREFIX + secrets.token_urlsafe(32)
        key = Key(secrets.token_hex(4), name, tuple(collections), write,
                  datetime.now(UTC).isoformat(timespec="seconds"), _hash(token))  # fmt: skip
        self._write([*self.active(), key])
        return key, token

    def revoke(self, key_id: str) -> Key:
        keys = self.active()
        gone = [k for k in keys if k.id == key_id]
        if not gone:
            raise AssistantError(f"No key {key_id!r}; `python -m assistant.server keys list` shows them.")
        self._write([k for k in keys if k.id != key_id])
        return gone[0]

    def _write(self, keys: list[Key]) -> None:
        rows = [{**{k: v for k, v in asdict(key).items() if k != "digest"}, "sha256": key.digest} for key in keys]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"version": 1, "keys": rows}, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        with self._lock:
            self._seen = None
