"""Quote mode: an answer that is, by construction, a verbatim span of one numbered source, or the refusal.

The model does not write the answer; it only chooses where a quote starts and where it stops. At each step
`SpanConstraint.allowed()` lists the tokens that keep the text generated so far a substring of some source
(matched byte by byte against the sources with their whitespace collapsed), plus, at the first step, the first
token of the refusal mark, and, once the quote ends on a word boundary, the tokens that stop it. The model's
probability of refusing at that first step, against every span it could start, is what `decline` calibrates.
A quote made only of the question's own words ("What are clades?" -> "clades") answers nothing, so decoding
starts again with that first token ruled out, up to `ECHO_RETRIES` times.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ingest.stores.keyword import tokens

#: What the model writes, in quote mode, when no source states the answer.
REFUSAL_MARK = "NOT FOUND"
_SPACE = re.compile(r"\s+")
#: How many times decoding starts again after a quote that only repeats the question's words.
ECHO_RETRIES = 2
_WORD_BYTE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") | frozenset(range(128, 256))


class Vocabulary:
    """A model's tokens as bytes, indexed so that the tokens that are prefixes of a byte string are found with
    one dictionary lookup per prefix length."""

    def __init__(self, pieces: Sequence[bytes], stop_ids: Iterable[int]) -> None:
        self.size = len(pieces)
        self.pieces = list(pieces)
        self.by_bytes: dict[bytes, list[int]] = {}
        for token, piece in enumerate(pieces):
            if piece:
                self.by_bytes.setdefault(piece, []).append(token)
        self.longest = max((len(p) for p in self.by_bytes), default=1)
        stops = set(stop_ids)
        for marker in (b"[", b" [", b"\n", b"\n\n"):  # a citation or a new line ends the quote as well
            stops.update(self.by_bytes.get(marker, ()))
        self.stop_ids = frozenset(stops)

    def prefixes_of(self, data: bytes, at: int) -> Iterable[tuple[int, int]]:
        """(token, its length) for every token whose bytes equal data[at:at+length]."""
        for length in range(1, min(self.longest, len(data) - at) + 1):
            for token in self.by_bytes.get(data[at : at + length], ()):
                yield token, length


State = tuple[int, int, int]
"""(source, where the quote started, how far it has matched), byte offsets into the collapsed source."""


@dataclass
class SpanConstraint:
    """Which tokens may come next so the answer stays a quote (or becomes the refusal mark)."""

    texts: list[str]
    vocabulary: Vocabulary
    max_tokens: int = 48
    refusal: str = REFUSAL_MARK
    question: str = ""
    """The question, so a quote of nothing but its words can be recognised (`echoes`)."""
    _data: list[bytes] = field(init=False)
    _maps: list[list[int]] = field(init=False)
    _active: list[State] = field(init=False)
    _tokens: list[int] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._data, self._maps = [], []
        for text in [*self.texts, self.refusal]:
            data, offsets = _collapse(text)
            self._data.append(data)
            self._maps.append(offsets)
        self._asked = frozenset(tokens([self.question])[0]) if self.question.strip() else frozenset()
        self.banned_first: set[int] = set()
        self.restart()

    def restart(self) -> None:
        """Back to the first step (tokens in `banned_first` may not start the quote)."""
        self._active = [(i, p, p) for i in range(len(self.texts)) for p in _starts(self._data[i])]
        self._active.append((self.refusal_index, 0, 0))  # the refusal mark, matched from its start only
        self._tokens = []
        self.finished = self.finished_by_stop = False

    def echoes(self, quote: Quote) -> bool:
        """True when every word of `quote` is a word of the question (stemmed, stopwords aside)."""
        words = set(tokens([quote.text])[0]) if not quote.refused and quote.text else set()
        return bool(self._asked) and bool(words) and words <= self._asked

    @property
    def first_token(self) -> int | None:
        return self._tokens[0] if self._tokens else None

    @property
    def refusal_index(self) -> int:
        return len(self.texts)

    @property
    def steps(self) -> int:
        return len(self._tokens)

    def allowed(self) -> dict[int, list[State]]:
        """token -> the states it leads to; a stop token maps to [] (it ends the quote)."""
        options: dict[int, list[State]] = {}
        if len(self._tokens) < self.max_tokens:
            for source, start, at in self._active:
                for token, length in self.vocabulary.prefixes_of(self._data[source], at):
                    options.setdefault(token, []).append((source, start, at + length))
        if self.may_stop():
            for token in self.vocabulary.stop_ids:
                options.setdefault(token, [])
        return options

    def refusal_tokens(self, options: dict[int, list[State]]) -> set[int]:
        """The allowed tokens that lead only into the refusal mark."""
        return {t for t, states in options.items() if states and all(s[0] == self.refusal_index for s in states)}

    def advance(self, token: int, options: dict[int, list[State]]) -> None:
        """Take `token` (one of `options`); a stop token, or one with nowhere to go, finishes the quote."""
        states = options.get(token)
        if not states:
            self.finished_by_stop = token in options
            self._active = [s for s in self._active if self._whole(s)]
            self.finished = True
            return
        self._tokens.append(token)
        self._active = states

    finished: bool = field(init=False, default=False)
    finished_by_stop: bool = field(init=False, default=False)

    def may_stop(self) -> bool:
        """True when the text so far is a whole quote: it ends on a word boundary and holds a word."""
        return bool(self._tokens) and any(self._whole(s) for s in self._active)

    def _whole(self, state: State) -> bool:
        source, start, at = state
        data = self._data[source]
        if source == self.refusal_index:
            return at == len(data)
        ends_word = at == len(data) or data[at] not in _WORD_BYTE or data[at - 1] not in _WORD_BYTE
        return ends_word and any(b in _WORD_BYTE for b in data[start:at])

    def result(self) -> Quote:
        """Where the quote is: the first (best-ranked) source whose text holds it, as a span of that text."""
        for source, start, at in sorted(s for s in self._active if self._whole(s)):
            if source == self.refusal_index:
                return Quote("", None, 0, 0, refused=True)
            data, offsets = self._data[source], self._maps[source]
            while start < at and data[start] == 0x20:
                start += 1
            while at > start and data[at - 1] == 0x20:
                at -= 1
            if at <= start:
                continue
            begin, end = offsets[start], offsets[at - 1] + 1
            return Quote(self.texts[source][begin:end], source + 1, begin, end, refused=False)
        return Quote("", None, 0, 0, refused=True)


@dataclass(frozen=True, slots=True)
class Quote:
    """A quoted span: its text, the 1-based number of the source it is from and its character span there."""

    text: str
    source: int | None
    start: int
    end: int
    refused: bool
    refuse_probability: float = 0.0
    span_probability: float = 0.0
    steps: int = 0
    """Tokens decoded (a stop token included)."""
    constraint_seconds: float = 0.0
    """Time spent working out the allowed tokens, outside the model: the decoding overhead."""


def _collapse(text: str) -> tuple[bytes, list[int]]:
    """`text` as UTF-8 with every run of whitespace turned into one space, and for each byte the index of the
    character of `text` it came from."""
    data = bytearray()
    offsets: list[int] = []
    index = 0
    for match in _SPACE.finditer(text + " "):
        for position in range(index, match.start()):
            encoded = text[position].encode("utf-8", "replace")
            data += encoded
            offsets += [position] * len(encoded)
        if match.start() < len(text):
            data += b" "
            offsets.append(match.start())
        index = match.end()
    return bytes(data), offsets


def _starts(data: bytes) -> list[int]:
    """Where a quote may begin: each word's first byte, and the space before it (tokens carry a leading space)."""
    starts = []
    for at, byte in enumerate(data):
        if byte == 0x20:
            continue
        before = data[at - 1] if at else 0x20
        if before == 0x20:
            starts.append(at)
            if at:
                starts.append(at - 1)
        elif before not in _WORD_BYTE and byte in _WORD_BYTE and before in b"(\"'$\xe2":
            starts.append(at)
    return starts


def decode(constraint: SpanConstraint, feed: Callable[[list[int]], np.ndarray]) -> Quote:
    """Greedy decoding under `constraint`. `feed(tokens)` runs the model on `tokens` (none: the prompt, whose
    evaluation is cached after the first time) and returns the logits for the next token.

    At the first step the refusal mark's tokens compete with every span start; their share of the probability
    (among the allowed tokens) is returned as `refuse_probability`, and the best span is decoded either way, so
    the caller decides with a calibrated threshold. `span_probability` is the geometric mean of the quote's
    tokens' probabilities under the unconstrained model: how natural the quote is to it.
    """
    first_quote: Quote | None = None
    steps, overhead = 0, 0.0
    for _attempt in range(ECHO_RETRIES + 1):
        quote = _decode_once(constraint, feed)
        steps, overhead = steps + quote.steps, overhead + quote.constraint_seconds
        first_quote = first_quote or quote
        if not constraint.echoes(quote) or constraint.first_token is None:
            break
        constraint.banned_first.add(constraint.first_token)
        constraint.restart()
    else:
        quote = first_quote  # every start tried only repeats the question: the model's first choice stands
    return replace(quote, refuse_probability=first_quote.refuse_probability, steps=steps, constraint_seconds=overhead)


def _decode_once(constraint: SpanConstraint, feed: Callable[[list[int]], np.ndarray]) -> Quote:
    logits = feed([])
    refuse_probability, log_probs, overhead, steps = 0.0, [], 0.0, 0
    while not constraint.finished:
        started = time.perf_counter()
        options = constraint.allowed()
        if constraint.steps == 0:
            refusing = constraint.refusal_tokens(options)
            ids = np.fromiter(options, dtype=np.int64, count=len(options))
            probs = _softmax(logits[ids])
            refuse_probability = float(sum(p for t, p in zip(ids, probs, strict=True) if int(t) in refusing))
            options = {t: s for t, s in options.items() if t not in refusing} or options
            options = {t: s for t, s in options.items() if t not in constraint.banned_first} or options
        if not options:
            break
        ids = np.fromiter(options, dtype=np.int64, count=len(options))
        token = int(ids[int(np.argmax(logits[ids]))])
        if options[token]:
            log_probs.append(float(logits[token] - _logsumexp(logits)))
        constraint.advance(token, options)
        overhead += time.perf_counter() - started
        steps += 1
        if not constraint.finished:
            logits = feed([token])
    quote = constraint.result()
    span_probability = float(np.exp(np.mean(log_probs))) if log_probs else 0.0
    return replace(
        quote,
        refuse_probability=refuse_probability,
        span_probability=span_probability,
        steps=steps,
        constraint_seconds=overhead,
    )


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max())
    return shifted / shifted.sum()


def _logsumexp(values: np.ndarray) -> float:
    top = float(values.max())
    return top + float(np.log(np.exp(values - top).sum()))
