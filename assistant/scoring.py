"""Scoring for the evaluation: gold questions, retrieval hits at the level of the gold label, answer scores."""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .prompt import NOT_FOUND

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CITATION = re.compile(r"\[\d{1,3}\]")
_NUMBER = re.compile(r"(?<![\w.])[-−]?\$?\(?\d[\d,]*(?:\.\d+)?\)?%?")
_SHINGLE = 8


@dataclass(frozen=True, slots=True)
class Question:
    """One gold question, in the format of ../shared/eval/README.md."""

    id: str
    question: str
    answers: list[str]
    docs: list[str]
    pages: list[int] | None
    passage: str | None
    """The gold paragraph's text (SQuAD), when the gold label is a passage."""
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    """The dataset's own labels, e.g. TAT-QA's `answer_type` and `scale`."""

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    @property
    def level(self) -> str:
        """What a retrieved chunk must match: `passage`, `page` or `document`."""
        if self.passage is not None:
            return "passage"
        return "page" if self.pages else "document"

    @property
    def has_gold(self) -> bool:
        return self.answerable and bool(self.docs) and (self.level != "page" or bool(self.pages))


def load_questions(path: Path, passages: dict[str, str] | None = None) -> list[Question]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row: dict[str, Any] = json.loads(line)
        docs = row.get("docs") or ([row["doc"]] if row.get("doc") else [])
        passage_id = row.get("passage_id")
        questions.append(
            Question(
                id=str(row["id"]),
                question=row["question"],
                answers=[str(a) for a in row.get("answers") or []],
                docs=docs,
                pages=row.get("pages") or None,
                passage=(passages or {}).get(passage_id) if passage_id else None,
                meta=row.get("meta") or {},
            )
        )
    return questions


def load_passages(path: Path) -> dict[str, str]:
    """passage_id -> paragraph text, from a SQuAD-style passages.jsonl."""
    if not path.exists():
        return {}
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {row["passage_id"]: row["text"] for row in rows}


def is_hit(question: Question, source: str, page: int | None, text: str) -> bool:
    """Whether a retrieved chunk (its file name, 1-based page and text) matches the question's gold label."""
    if question.level == "passage":
        return _overlaps(text, question.passage or "") or any(_contains(text, a) for a in question.answers)
    if source not in question.docs:
        return False
    return question.level == "document" or (page is not None and page in (question.pages or []))


def rank_of_first_hit(question: Question, retrieved: list[tuple[str, int | None, str]]) -> int | None:
    """1-based rank of the first matching chunk, or None."""
    for rank, (source, page, text) in enumerate(retrieved, start=1):
        if is_hit(question, source, page, text):
            return rank
    return None


def clean_answer(answer: str) -> str:
    """The answer without [n] citation markers."""
    return _CITATION.sub("", answer).strip()


def exact_match(prediction: str, golds: list[str]) -> float:
    return max((float(normalize(prediction) == normalize(g)) for g in golds), default=0.0)


def token_f1(prediction: str, golds: list[str]) -> float:
    """SQuAD token F1, the best over the gold answers."""
    predicted = normalize(prediction).split()
    best = 0.0
    for gold in golds:
        expected = normalize(gold).split()
        common = sum((Counter(predicted) & Counter(expected)).values())
        if common:
            precision, recall = common / len(predicted), common / len(expected)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def containment(prediction: str, golds: list[str]) -> float:
    """Share of the gold answer's key figures the prediction states, numbers compared with tolerance
    (`$1,577` = `1577.00`). A gold answer without figures counts as found when its words all appear."""
    best = 0.0
    predicted_numbers = numbers(prediction)
    predicted_words = set(normalize(prediction).split())
    for gold in golds:
        figures = numbers(gold)
        if figures:
            found = sum(any(_close(f, p) for p in predicted_numbers) for f in figures)
            best = max(best, found / len(figures))
        else:
            words = normalize(gold).split()
            best = max(best, float(bool(words) and all(w in predicted_words for w in words)))
    return best


def numbers(text: str) -> list[float]:
    """The numbers a text states: `$1,577` -> 1577.0, `(12.5)%` -> 12.5; years and figures alike."""
    found = []
    for match in _NUMBER.findall(text):
        cleaned = match.replace("$", "").replace(",", "").replace("%", "").replace("(", "").replace(")", "")
        cleaned = cleaned.replace("−", "-")
        try:
            found.append(abs(float(cleaned)))
        except ValueError:
            continue
    return found


def normalize(text: str) -> str:
    """SQuAD normalization: lower case, no punctuation, no articles, single spaces."""
    text = clean_answer(text).lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    return " ".join(_ARTICLES.sub(" ", text).split())


def declined(answer: str) -> bool:
    return normalize(NOT_FOUND) in normalize(answer) or "documents do not cover" in normalize(answer)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(1e-9, 0.005 * max(abs(a), abs(b)))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _overlaps(chunk: str, passage: str) -> bool:
    """True when chunk and passage share a run of 8 words (or the whole of a shorter passage)."""
    chunk_words, passage_words = _words(chunk), _words(passage)
    if not passage_words:
        return False
    if len(passage_words) < _SHINGLE:
        return " ".join(passage_words) in " ".join(chunk_words)
    shingles = {tuple(passage_words[i : i + _SHINGLE]) for i in range(len(passage_words) - _SHINGLE + 1)}
    return any(tuple(chunk_words[i : i + _SHINGLE]) in shingles for i in range(len(chunk_words) - _SHINGLE + 1))


def _contains(text: str, answer: str) -> bool:
    needle = normalize(answer)
    return bool(needle) and f" {needle} " in f" {normalize(text)} "
