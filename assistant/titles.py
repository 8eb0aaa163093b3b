"""Documents by title: the title a document states (PDF info, Word properties, HTML title, its first heading),
else its file name; and citations that use it.

Worked out from the passages already in the index, so documents indexed before titles were shown get one too.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from ingest import Chunk, ScoredChunk

#: A citation shows at most this much of a title, so citation buttons stay one line.
CITATION_TITLE_CHARS = 48
#: Titles some writing tools put in a PDF's info for every file: they say nothing about the document.
_MEANINGLESS = ("untitled", "microsoft word -", "microsoft powerpoint -", "document", "slide 1", "title")


def document_titles(chunks: Iterable[Chunk]) -> dict[str, str]:
    """Each document's title, by document id."""
    first: dict[str, Chunk] = {}
    for chunk in chunks:
        known = first.get(chunk.doc_id)
        if known is None or (chunk.page or 0, chunk.start) < (known.page or 0, known.start):
            first[chunk.doc_id] = chunk
    return {doc_id: title_of(chunk) for doc_id, chunk in first.items()}


def title_of(first: Chunk) -> str:
    """The title of the document whose first passage is `first`."""
    name = PurePosixPath(first.source.replace("\\", "/")).name
    stem = PurePosixPath(name).stem
    stated = " ".join(first.title.split())
    if stated and stated not in (stem, name) and not _meaningless(stated):
        return stated
    heading = (first.heading or "").split(" > ")[0].strip()
    if heading and not _meaningless(heading):
        return heading
    return name


def _meaningless(title: str) -> bool:
    lowered = title.lower()
    return len(title) < 3 or lowered in _MEANINGLESS or lowered.startswith(_MEANINGLESS[1:3])


def short_title(title: str, limit: int = CITATION_TITLE_CHARS) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def cite(hit: ScoredChunk, title: str = "") -> str:
    """`Employee Handbook, p. 3` or `Lecture 2, § Pruning`: the chunk's own citation, with the document's title
    (or name) in place of its file name."""
    plain, chunk = hit.citation(), hit.chunk
    if not title or not plain.startswith(chunk.source):
        return plain
    rest = plain[len(chunk.source) :]
    if chunk.heading and rest == f", § {chunk.heading}":  # the heading path is long: its last step will do
        last = chunk.heading.split(" > ")[-1]
        rest = "" if last == title else f", § {last}"
    return short_title(title) + rest
