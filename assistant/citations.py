"""Citations that hold: each `[n]` in a free-text answer must point at a source that states what its sentence
says, or it is dropped (never shown while unsupported).

A sentence is supported by a source when the source states every figure of the sentence and at least
`SUPPORT` of its content words (compared by their first five letters, so `grows` matches `growth`). A
sentence whose citations all fail is given the one source that supports it, if one does, and is otherwise left
uncited. Quotes and calculations are cited by construction and never pass through here.
"""

from __future__ import annotations

import re

SUPPORT = 0.5
_CITATION = re.compile(r"\s*\[(\d{1,3})\]")
_SENTENCE = re.compile(r"(?<=[.!?])(?:\s*\[\d{1,3}\])*\s+(?=[A-Z0-9\"'(])|\n+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W\d_]{3,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "was",
        "were",
        "with",
        "that",
        "this",
        "from",
        "have",
        "has",
        "had",
        "not",
        "but",
        "its",
        "their",
        "they",
        "them",
        "which",
        "who",
        "whom",
        "whose",
        "what",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "can",
        "could",
        "would",
        "should",
        "will",
        "may",
        "might",
        "also",
        "than",
        "then",
        "there",
        "these",
        "those",
        "into",
        "onto",
        "over",
        "under",
        "about",
        "after",
        "before",
        "between",
        "each",
        "other",
        "such",
        "only",
        "more",
        "most",
        "some",
        "very",
        "our",
        "your",
        "his",
        "her",
        "him",
        "she",
        "he",
        "you",
        "per",
        "via",
        "does",
        "did",
        "doing",
        "been",
        "being",
        "according",
        "source",
        "sources",
        "document",
        "documents",
        "states",
        "stated",
    ]
)


def check_citations(answer: str, texts: list[str]) -> str:
    """`answer` with every citation its source does not support removed, or moved to the source that does."""
    stems = [_stems(t) for t in texts]
    figures = [_figures(t) for t in texts]
    return "".join(_check(piece, stems, figures, len(texts)) for piece in _pieces(answer))


def supports(sentence: str, text: str) -> bool:
    """Whether `text` states what `sentence` says (its figures and most of its content words)."""
    return _supported(_CITATION.sub("", sentence), _stems(text), _figures(text))


def _pieces(answer: str) -> list[str]:
    """The answer cut into sentences, each keeping its citations and the whitespace after it."""
    pieces, start = [], 0
    for match in _SENTENCE.finditer(answer):
        pieces.append(answer[start : match.end()])
        start = match.end()
    pieces.append(answer[start:])
    return [p for p in pieces if p]


def _check(sentence: str, stems: list[set[str]], figures: list[set[str]], count: int) -> str:
    cited = [int(n) for n in _CITATION.findall(sentence) if 1 <= int(n) <= count]
    if not cited:
        return sentence
    plain = _CITATION.sub("", sentence)
    kept = [n for n in dict.fromkeys(cited) if _supported(plain, stems[n - 1], figures[n - 1])]
    if kept == list(dict.fromkeys(cited)):
        return sentence  # every citation holds: the sentence stays exactly as written
    if not kept:
        best = [n for n in range(1, count + 1) if _supported(plain, stems[n - 1], figures[n - 1])]
        kept = best[:1]
    marks = "".join(f"[{n}]" for n in kept)
    body = plain.rstrip()
    trailing = sentence[len(sentence.rstrip()) :]
    return f"{body} {marks}{trailing}" if marks else f"{body}{trailing}"


def _supported(sentence: str, stems: set[str], figures: set[str]) -> bool:
    words = [w for w in _WORD.findall(sentence.lower()) if w not in _STOP]
    numbers = set(_figures(sentence))
    if numbers - figures:
        return False
    if not words:
        return bool(numbers)
    found = sum(1 for w in words if w[:5] in stems)
    return found / len(words) >= SUPPORT


def _stems(text: str) -> set[str]:
    return {w[:5] for w in _WORD.findall(text.lower())}


def _figures(text: str) -> set[str]:
    """Numbers of two digits or more (single digits are list numbers and counts too often to check)."""
    return {n.replace(",", "") for n in _NUMBER.findall(text) if len(n.replace(",", "")) > 1}
