"""The answer half of the evaluation: each question answered the way the settings route it (quote, compute or
free text) and, when asked, by the plain prompt (today's free-text behaviour) on the same retrieval; scored for
words (SQuAD F1), figures (TAT-QA's numeric tolerance and scale), declines and citations.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from ingest import Settings

from .chat import Assistant, Reply
from .retrieve import Retrieval
from .scoring import Question, clean_answer, containment, exact_match, normalize, token_f1

_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
_WITH_SCALE = re.compile(r"[-−]?\$?\(?\d[\d,]*(?:\.\d+)?\)?\s*(%|thousand|million|billion|k\b|m\b|bn\b)?", re.I)
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)
#: Subject coverages the quote declines are shown at (with the refusal threshold of the settings).
SUBJECT_THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6)


@dataclass
class Scored:
    """One answer, scored."""

    answer: str = ""
    mode: str = "free"
    declined: bool = False
    em: float | None = None
    f1: float | None = None
    containment: float | None = None
    numeric: bool | None = None
    """For a question whose gold answer is a figure: the answer states it (tolerance 1 %, scale respected)."""
    cited_supports: bool | None = None
    """For a right answer that cites: every cited source contains the gold answer."""
    refuse_probability: float | None = None
    span_probability: float | None = None
    constraint_seconds: float | None = None
    """For a quote: time spent outside the model working out the allowed tokens."""
    span_f1: float | None = None
    """For a quote: the F1 of the span decoded, declined or not (what any other threshold would have given)."""
    subject_coverage: float | None = None
    """For a quote: how much of what the question is about its source mentions."""
    seconds: float = 0.0


@dataclass
class AnswerOutcome:
    ours: Scored
    plain: Scored | None = None
    answer_type: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def answer(assistant: Assistant, question: Question, retrieval: Retrieval, plain: Assistant | None) -> AnswerOutcome:
    """The routed answer (and the plain prompt's, with `plain`) to `question`, scored."""
    outcome = AnswerOutcome(_run(assistant, question, retrieval), answer_type=question.meta.get("answer_type", ""))
    if plain is not None:
        outcome.plain = _run(plain, question, retrieval)
    return outcome


def _run(assistant: Assistant, question: Question, retrieval: Retrieval) -> Scored:
    started = time.perf_counter()
    reply = assistant.answer(question.question, retrieval)
    text = reply.consume()
    scored = Scored(answer=text, mode=reply.mode, declined=reply.refused, seconds=time.perf_counter() - started)
    quote = reply.detail.quote if reply.detail is not None else None
    if quote is not None:
        scored.refuse_probability, scored.span_probability = quote.refuse_probability, quote.span_probability
        scored.constraint_seconds = quote.constraint_seconds
        scored.subject_coverage = reply.detail.coverage if reply.detail is not None else None
    if question.answerable:
        _score(scored, reply, question)
        if quote is not None:
            scored.span_f1 = token_f1(quote.text, question.answers) if not quote.refused else 0.0
    return scored


def _score(scored: Scored, reply: Reply, question: Question) -> None:
    said = "" if scored.declined else clean_answer(_first_line(scored.answer, reply))
    golds = question.answers
    scored.em, scored.f1 = exact_match(said, golds), token_f1(said, golds)
    scored.containment = containment(said, golds)
    if _is_figure(golds[0]):
        scored.numeric = any(numeric_match(said, g, question.meta.get("scale", "")) for g in golds)
    right = bool(said) and (scored.numeric if scored.numeric is not None else scored.f1 >= 0.5)
    cited = reply.cited
    if right and cited and reply.mode != "compute":  # a calculation cites its inputs; the result is stated nowhere
        scored.cited_supports = all(_source_states(source.chunk.text, golds) for _, source in cited)


def _first_line(text: str, reply: Reply) -> str:
    """A calculation's answer is its first line (the formula follows it)."""
    return text.split("\n", 1)[0] if reply.mode == "compute" else text


def _source_states(text: str, golds: list[str]) -> bool:
    """Whether a cited source's text states a gold answer, by words or by figures."""
    for gold in golds:
        if f" {normalize(gold)} " in f" {normalize(text)} " or (_is_figure(gold) and containment(text, [gold]) == 1):
            return True
    return False


def numeric_match(answer: str, gold: str, scale: str = "") -> bool:
    """TAT-QA's figure scoring: a number in `answer` equals the gold within 1 % (sign ignored: "decreased by 12.6"
    states -12.6), with the gold's scale respected both ways (1.2 million = 1,200 thousand)."""
    try:
        expected = abs(float(re.sub(r"[^\d.]", "", gold.split()[0])))
    except (ValueError, IndexError):
        return False
    targets = {expected, expected * _SCALES.get(scale, 1.0)}
    for match in _WITH_SCALE.finditer(answer):
        digits = re.sub(r"[^\d.]", "", match.group(0).split("%")[0].split()[0] if match.group(0).split() else "")
        try:
            value = abs(float(digits))
        except ValueError:
            continue
        word = (match.group(1) or "").lower()
        multiplier = {"k": 1e3, "m": 1e6, "bn": 1e9}.get(word, _SCALES.get(word, 1.0))
        for candidate in {value, value * multiplier}:
            if any(abs(candidate - t) <= 0.01 * max(abs(t), 1e-9) for t in targets):
                return True
    return False


def _is_figure(gold: str) -> bool:
    return bool(re.fullmatch(r"\s*[-−]?\$?\(?\d[\d,]*(\.\d+)?\)?\s*%?\s*", gold))


def summarize(outcomes: list[Any]) -> dict[str, Any]:
    """Answer metrics for ours and the plain prompt, by answer type; routing; the decline curve; timing."""
    answered = [o for o in outcomes if o.answers is not None]
    summary: dict[str, Any] = {"modes": _count(o.answers.ours.mode for o in answered)}
    compared = [o for o in answered if o.answers.plain is not None]
    for who in ("ours", "ours_same", "plain"):
        if who == "ours_same":  # ours on just the questions the plain prompt answered too
            if not compared or len(compared) == len(answered):
                continue
            rows = [(o, o.answers.ours) for o in compared]
        else:
            rows = [(o, getattr(o.answers, who)) for o in answered if getattr(o.answers, who) is not None]
        if not rows:
            continue
        summary[who] = _metrics(rows)
        by_type: dict[str, Any] = {}
        for kind in sorted({o.answers.answer_type for o, _ in rows if o.answers.answer_type}):
            by_type[kind] = _metrics([(o, s) for o, s in rows if o.answers.answer_type == kind])
        if by_type:
            summary[f"{who}_by_type"] = by_type
    quoted = [o for o in answered if o.answers.ours.refuse_probability is not None]
    if quoted:
        summary["decline_curve"] = {f"{t:.2f}": _at_threshold(quoted, t) for t in THRESHOLDS}
        covered = [o for o in quoted if o.answers.ours.subject_coverage is not None]
        if covered:
            refusal = Settings().quote_decline_threshold
            summary["subject_curve"] = {f"{t:.2f}": _at_threshold(covered, refusal, t) for t in SUBJECT_THRESHOLDS}
        spent = [o.answers.ours for o in quoted if o.answers.ours.constraint_seconds is not None]
        summary["quote_overhead"] = {
            "constraint_seconds_per_answer": _mean([s.constraint_seconds for s in spent], digits=3),
            "share_of_answer_time": _mean([sum(s.constraint_seconds for s in spent) / sum(s.seconds for s in spent)])
            if spent and sum(s.seconds for s in spent)
            else None,
        }
    return summary


def _at_threshold(quoted: list[Any], threshold: float, subject: float = 0.0) -> dict[str, Any]:
    """What quote mode gives when it declines at refusal probability `threshold` (and below `subject` coverage):
    every span was decoded, so this is exact."""

    def declines(s: Scored) -> bool:
        return s.refuse_probability >= threshold or (s.subject_coverage is not None and s.subject_coverage < subject)

    answerable = [o.answers.ours for o in quoted if o.answerable]
    unanswerable = [o.answers.ours for o in quoted if not o.answerable]
    return {
        "answerable_declined": _mean([declines(s) for s in answerable]),
        "unanswerable_declined": _mean([declines(s) for s in unanswerable]),
        "f1": _mean([0.0 if declines(s) else (s.span_f1 or 0.0) for s in answerable]),
    }


def _metrics(rows: list[tuple[Any, Scored]]) -> dict[str, Any]:
    answerable = [s for o, s in rows if o.answerable]
    unanswerable = [s for o, s in rows if not o.answerable]
    return {
        "questions": len(rows),
        "em": _mean([s.em for s in answerable if s.em is not None]),
        "f1": _mean([s.f1 for s in answerable if s.f1 is not None]),
        "containment": _mean([s.containment for s in answerable if s.containment is not None]),
        "numeric_accuracy": _mean([s.numeric for s in answerable if s.numeric is not None]),
        "unanswerable_declined": _mean([s.declined for s in unanswerable]),
        "answerable_declined": _mean([s.declined for s in answerable]),
        "citation_precision": _mean([s.cited_supports for s in answerable if s.cited_supports is not None]),
        "seconds_per_answer": _mean([s.seconds for _, s in rows], digits=2),
    }


def table(summary: dict[str, Any]) -> list[str]:
    """Markdown rows: ours against the plain prompt, overall and per answer type, then routing and the curve."""
    if "ours" not in summary:
        return []
    plain, same = "plain" in summary, "ours_same" in summary
    header = ["answers", "ours (routed)"] + (["ours, plain's questions"] if same else []) + (["plain prompt"] * plain)
    lines = ["", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    groups = [("", summary["ours"], summary.get("ours_same"), summary.get("plain"))]
    for kind, metrics in summary.get("ours_by_type", {}).items():
        groups.append(
            (
                f"{kind}: ",
                metrics,
                summary.get("ours_same_by_type", {}).get(kind),
                summary.get("plain_by_type", {}).get(kind),
            )
        )
    for prefix, ours, ours_same, theirs in groups:
        for key, label in (
            ("f1", "token F1"),
            ("em", "exact match"),
            ("numeric_accuracy", "figure accuracy (1 %, scale)"),
            ("containment", "containment"),
            ("unanswerable_declined", "unanswerable declined"),
            ("answerable_declined", "answerable wrongly declined"),
            ("citation_precision", "citation precision (right answers)"),
            ("seconds_per_answer", "seconds per answer"),
        ):
            if ours.get(key) is None and (theirs or {}).get(key) is None:
                continue
            cells = [f"{prefix}{label}", f"{_fmt(ours.get(key))} ({ours['questions']} q)"]
            if same:
                cells.append(f"{_fmt((ours_same or {}).get(key))} ({(ours_same or {}).get('questions', 0)} q)")
            if plain:
                cells.append(f"{_fmt((theirs or {}).get(key))} ({(theirs or {}).get('questions', 0)} q)")
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Routed: " + ", ".join(f"{m} {n}" for m, n in summary["modes"].items())]
    if overhead := summary.get("quote_overhead"):
        lines += [
            "",
            f"Quote decoding overhead: {overhead['constraint_seconds_per_answer']} s per answer working out the "
            f"allowed tokens, {_fmt(overhead['share_of_answer_time'])} of the answer time.",
        ]
    for key, threshold in (("subject_curve", "below subject coverage"), ("decline_curve", "at refusal probability")):
        if key in summary:
            lines += ["", f"| quote declines {threshold} | answerable declined | unanswerable declined | F1 |"]
            lines.append("| --- | --- | --- | --- |")
            for t, row in summary[key].items():
                cells = [t, _fmt(row["answerable_declined"]), _fmt(row["unanswerable_declined"]), _fmt(row["f1"])]
                lines.append("| " + " | ".join(cells) + " |")
    return lines


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def _mean(values: list[Any], digits: int = 3) -> float | None:
    return round(statistics.fmean(float(v) for v in values), digits) if values else None


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) and value <= 1 else f"{value}"
