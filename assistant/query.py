"""Search queries: what a question asks for, without the instructions written around it.

Analysts write "Round your answer to two decimal places. Base your judgments on the information provided
primarily in the balance sheet": the first sentence only shapes the answer, the second names where it is (the
balance sheet), and neither is worth matching word for word. The question, the definitions it gives and the
statements it names are kept; persona, format and rounding instructions go.
"""

from __future__ import annotations

import re

#: Sentences (or clauses) that only say how to answer, or who to be while answering.
_INSTRUCTION = re.compile(
    r"^\s*(?:please\s+)?(?:"
    r"answer\s+(?:in|the|with|using|by|only|to|based|as)\b|round\s+(?:your|the|it|to|off|up|down)\b|respond\b|give\s+(?:a\s+)?response|provide\s+(?:a\s+)?response|approach\b|assume\b|"
    r"we\s+(?:need|want)\s+to\b|please\s+(?:help|answer|base|respond)|here'?s\s+the\s+question|"
    r"(?:base|basing)\s+your\b|calculate\s+\(or|compute\s+or\s+extract|(?:the\s+)?answer\s+should\b|"
    r"if\s+[^.]{0,80}\bis\s+not\s+(?:a\s+)?(?:useful|relevant)|address\s+the\s+question|"
    r"calculate\s+what\s+was\s+asked"
    r")",
    re.IGNORECASE,
)
#: Where the answer is, as analysts name it: kept from an instruction that is otherwise dropped.
_SOURCE = re.compile(
    r"\b(balance\s+sheet|statements?\s+of\s+(?:cash\s+flows?|income|operations|financial\s+position|"
    r"comprehensive\s+income|earnings|(?:stockholders'?|shareholders'?)\s+equity)|"
    r"(?:cash\s+flows?|income|p&l|operations)\s+statement|notes\s+to\s+the\s+financial\s+statements)\b",
    re.IGNORECASE,
)
#: Lead-ins that name a source before the question proper: "Using the cash flow statement, answer ...: what".
_LEAD_IN = re.compile(r"^(.{0,240}?)(?::\s+|\?\s+|,\s+)(?=(?:what|how|which|who|when|where|why|is|are|does|do|did)\b)",
                      re.IGNORECASE)  # fmt: skip
_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=[A-Z])")


def search_query(question: str) -> str:
    """The question with its instruction sentences dropped (the statements they name kept), or the question
    as asked when nothing in it is an instruction."""
    kept: list[str] = []
    named: list[str] = []
    changed = False
    for sentence in _SENTENCE.split(question.strip()):
        lead = _LEAD_IN.match(sentence)
        if lead and (_INSTRUCTION.match(lead.group(1)) or _SOURCE.search(lead.group(1))):
            named += [m.group(0) for m in _SOURCE.finditer(lead.group(1))]
            sentence, changed = sentence[lead.end() :], True
        if _INSTRUCTION.match(sentence) or _persona(sentence):
            named += [m.group(0) for m in _SOURCE.finditer(sentence)]
            changed = True
            continue
        kept.append(sentence)
    if not changed or not kept:
        return question
    query = " ".join(kept)
    missing = [n for n in dict.fromkeys(named) if n.lower() not in query.lower()]
    return " ".join([query, *missing]).strip()


def _persona(sentence: str) -> bool:
    """ "Assume that you are a public equities analyst", "by assuming the perspective of an analyst who ..."."""
    return bool(re.search(r"\b(?:standpoint|perspective|point\s+of\s+view)\s+of\s+an?\b", sentence, re.IGNORECASE))
