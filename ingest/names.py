"""Name rules, in one place: collection names, display names safe to show and cite, and names made unique."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from pathlib import PurePosixPath

#: A collection name: also a folder name, so no separators, no leading dot or space, no trailing space, bounded
#: length. Spaces inside are fine ("biology 101").
COLLECTION_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9_. -]{0,62}[A-Za-z0-9_.-])?$"
#: The same rule, in words, for messages.
COLLECTION_RULE = (
    "1 to 64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit, not ending with a space"
)
COLLECTION_NAME = re.compile(COLLECTION_PATTERN)

#: Unicode categories never shown raw: controls (ANSI/OSC escapes, newlines), format characters (bidi
#: overrides, zero-width), surrogates, private use and unassigned code points.
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn"}


def printable(text: str) -> str:
    """`text` with every control, format or unassigned character written as a visible `\\x1b`-style escape,
    so that a name can never move the cursor, recolour a terminal, split a table row or reverse its text."""
    if all(unicodedata.category(ch) not in _HIDDEN for ch in text):
        return text
    return "".join(ch if unicodedata.category(ch) not in _HIDDEN else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def display_name(uploaded_name: str, limit: int = 120) -> str:
    """A name safe to show and cite for an upload: no folders, control or bidirectional characters, bounded."""
    name = uploaded_name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _HIDDEN)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > limit:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: limit - len(suffix) - 2] + "…." + suffix) if dot and len(suffix) <= 8 else name[:limit]
    return name or "unnamed"


def unique_names(
    wanted: Mapping[str, str], locations: Mapping[str, str], established: Collection[str] = ()
) -> dict[str, str]:
    """Display names that tell documents apart: `wanted` maps a key to the name it would like, `locations`
    maps the same key to where its file is (a path, or `upload:<id>`).

    Keys whose wanted names collide are named by as many of their location's last path components as it
    takes to tell them apart (`A/notes.md`, `B/notes.md`); what is still equal after that (uploads, the
    same path) is numbered: `minutes.md (2)`, the `established` keys (documents already known by their name) keeping
    theirs first. Sorting by key makes the result the same on every run."""
    by_name: dict[str, list[str]] = {}
    for key in sorted(wanted):
        by_name.setdefault(wanted[key], []).append(key)
    names: dict[str, str] = {}
    for name, keys in by_name.items():
        if len(keys) == 1:
            names[keys[0]] = name
            continue
        names.update(_tell_apart(name, keys, locations))
    # Lengthened names may now collide with a name someone else wanted: number what is still shared.
    seen: dict[str, int] = {}
    for key in sorted(names, key=lambda k: (names[k], k not in established, k)):
        count = seen.get(names[key], 0) + 1
        seen[names[key]] = count
        if count > 1:
            names[key] = _numbered(names[key], count)
    return names


def _tell_apart(name: str, keys: list[str], locations: Mapping[str, str]) -> dict[str, str]:
    parts = {k: PurePosixPath(locations.get(k, "").replace("\\", "/")).parts for k in keys}
    base_depth = len(PurePosixPath(name).parts)
    longest = max((len(p) for p in parts.values()), default=0)
    for depth in range(base_depth + 1, longest + 1):
        candidates = {k: "/".join(p[-depth:]) if not locations.get(k, "").startswith("upload:") else name
                      for k, p in parts.items()}  # fmt: skip
        if len(set(candidates.values())) == len(keys):
            return {k: printable(v.lstrip("/")) for k, v in candidates.items()}
    return {k: name for k in keys}


def _numbered(name: str, count: int) -> str:
    return f"{name} ({count})"
