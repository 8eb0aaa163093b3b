"""Which way a question is answered: a quoted span, a computed figure, or an explanation in free text.

- `compute`: the question asks for arithmetic over figures (a change, difference, growth, ratio, average, sum).
- `explain`: it asks why or how, to explain, describe, compare or summarize; answered in free text with its
  citations, from section-level context.
- `quote`: everything else asks for a fact, answered by a verbatim span of one source.

The rules are plain patterns, checked against labelled questions (TAT-QA's answer types, SQuAD's spans) by
`python -m assistant.eval`, which prints how its questions were routed.
"""

from __future__ import annotations

import re
from typing import Literal

Mode = Literal["quote", "compute", "explain"]
MODES: tuple[Mode, ...] = ("quote", "compute", "explain")

_COMPUTE = re.compile(
    r"\b(percentage|percent|%)\s+(change|increase|decrease|growth|decline|difference)\b"
    r"|\b(change|difference|differ|increase|decrease|growth|decline|variance)\b.{0,80}\b(from|between|compared|"
    r"over|to|and|than|vs\.?)\b"
    r"|\bby how (much|many)\b|\bhow much (more|less|higher|lower|larger|smaller)\b"
    r"|\b(average|(the|a|arithmetic) mean|ratio|proportion|sum|total of|combined|in total|altogether)\b"
    r"|\bwhat (percentage|percent|fraction|share|portion)\b"
    r"|\bgrowth rate\b|\b(cagr|compound annual)\b"
    r"|\bpercentage\b.{0,80}\b(of|in|among|out of) (the )?total\b"
    r"|\btotal\b.{0,120}\b(19|20)\d\d,? and (fiscal )?(19|20)\d\d\b",
    re.IGNORECASE,
)
_NOT_COMPUTE = re.compile(r"\b(why|how (does|do|did|is|are|was|were|can|could|should))\b", re.IGNORECASE)
_EXPLAIN = re.compile(
    r"^\s*(why|how (does|do|did|can|could|should|would|is|are|was|were)|explain|describe|summari[sz]e|compare|"
    r"discuss|outline|give an overview|what are the (main |key )?(benefits|advantages|disadvantages|reasons|"
    r"differences|effects|implications|steps|arguments)|what (is|was) the (purpose|significance|role|reason))\b"
    r"|\b(explain|summari[sz]e|in your own words|step by step)\b",
    re.IGNORECASE,
)


def route(question: str) -> Mode:
    """The answer mode for `question`."""
    if _COMPUTE.search(question) and not _NOT_COMPUTE.search(question):
        return "compute"
    if _EXPLAIN.search(question):
        return "explain"
    return "quote"
