"""Financial statement pages: which statements a question needs, and which pages of a filing are those statements.

Analysts ask for figures that live in the balance sheet, the income statement or the cash flow statement, but
the notes and the management discussion mention the same words in more prose, so they outrank the statement
page itself. A statement page is recognised by its layout: a line near the top that is the statement's title
("Consolidated Balance Sheets", "Statement of Cash Flows", "(continued)" allowed) and a page full of amounts.
A question needs a statement when it names it ("based on the balance sheet") or a line item found there
("capital expenditure", "inventory", "net income"); a ratio of two items needs both statements.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from ingest import Chunk
from ingest import Collection as Snapshot
from ingest.stores.keyword import cached

from .prompt import join_page

_TITLE = re.compile(
    r"(\S+\s+)?(?:condensed\s+)?(?:consolidated\s+)?(?P<title>balance\s+sheets?|statements?\s+of\s+(?:consolidated\s+)?"
    r"(?:financial\s+(?:position|condition)|income|operations|earnings|cash\s+flows?))",
    re.IGNORECASE,
)
#: Words before a statement's name that make it a mention in a sentence or another table ("the accompanying
#: balance sheets", "selected balance sheet data", "average balance sheets"), not the statement's title.
_MENTION = re.compile(
    r"(?:^|[^a-z])(?:the|our|its|their|in|of|on|and|by|to|from|related|certain|selected|quarterly|supplemental"
    r"|average|other|unaudited|page)$|accompanying$|[’']s$|\d$|:$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(?<![\w.])\(?\$?\d[\d,]*(?:\.\d+)?\)?(?![\w.])")
_WORD = re.compile(r"[A-Za-z]{2,}")
#: A statement page: at least this many numbers, and this many per word.
MIN_NUMBERS, MIN_NUMBERS_PER_WORD = 30, 0.25
#: How far into a page its title may be (characters).
_TITLE_WITHIN = 300

_ASKS = {
    "balance": r"balance sheets?|financial (?:position|condition)|total assets|current assets|current liabilities"
    r"|total liabilities|working capital|inventor(?:y|ies)|receivables?|payables?|pp&e|property,? plant"
    r"|fixed assets?|total debt|long.term debt|(?:share|stock)holders'? equity|total equity|quick ratio"
    r"|current ratio|debt.to.equity|book value|goodwill|cash and cash equivalents|return on assets",
    "income": r"income statements?|statements? of (?:income|operations|earnings)|p&l|profit and loss|revenues?"
    r"|net sales|net income|net earnings|net profit|cogs|cost of (?:goods|sales|revenues?)|gross (?:margin|profit)"
    r"|operating (?:income|margin|expenses?|profit)|ebit(?:da)?|earnings per share|\beps\b|sg&a|interest expense"
    r"|effective tax|income tax|research and development|r&d|return on assets|turnover ratio",
    "cash": r"cash flows?|capex|capital expenditures?|purchases? of property|dividends? paid|cash dividends"
    r"|free cash flow|\bfcf\b|repurchases?|buybacks?|depreciation and amortization|\bd&a\b"
    r"|operating activities|investing activities|financing activities",
}
_ASK = {kind: re.compile(rf"\b(?:{pattern})", re.IGNORECASE) for kind, pattern in _ASKS.items()}


#: A figure broken down (by segment, product, region) or a rate the notes explain is not a statement line.
_BREAKDOWN = re.compile(
    r"\bsegments?\b|product (?:lines?|categor)|\bregions?\b|geograph|business (?:units?|lines?)|distribution across"
    r"|effective tax rate",
    re.IGNORECASE,
)


def asked_statements(question: str) -> set[str]:
    """The statements (`balance`, `income`, `cash`) whose pages hold what `question` asks for: none when it asks
    for a breakdown the notes give (by segment, product line, region) or the effective tax rate."""
    if _BREAKDOWN.search(question):
        return set()
    return {kind for kind, pattern in _ASK.items() if pattern.search(question)}


def statement_chunks(store: Snapshot, doc_ids: list[str], asked: set[str]) -> list[Chunk]:
    """The chunks on the pages of `doc_ids` that are the `asked` statements, by document in the given order, then
    page. A document's statement pages are found once per snapshot (kept beside its BM25 index: `cached`)."""
    known: dict[str, list[tuple[str, Chunk]]] = cached(f"statements:{store.version}", dict)
    lifted = []
    for doc_id in doc_ids:
        if doc_id not in known:
            chunks = store.chunks_of({doc_id})
            pages = statement_pages(chunks)
            known[doc_id] = [(kind, c) for c in chunks if (kind := pages.get((c.doc_id, c.page or 0))) is not None]
        lifted += [c for kind, c in known[doc_id] if kind in asked]
    return lifted


def statement_pages(chunks: Iterable[Chunk]) -> dict[tuple[str, int], str]:
    """(document, page) -> the statement that page is, for pages of `chunks` that are financial statements."""
    pages: dict[tuple[str, int], list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        if chunk.page is not None:
            pages[(chunk.doc_id, chunk.page)].append(chunk)
    found = {}
    for key, parts in pages.items():
        kind = statement_of(join_page(sorted(parts, key=lambda c: c.start)))
        if kind is not None:
            found[key] = kind
    return found


def statement_of(text: str) -> str | None:
    """`balance`, `income` or `cash` when `text` (a page) is that statement, else None: the statement's name
    near the top, not inside a sentence, on a page made mostly of numbers. (The title is looked for first: it reads
    300 characters, the numbers the whole page, and most pages have no such title.)"""
    kind = _titled(text[:_TITLE_WITHIN])
    if kind is None:
        return None
    numbers = len(_NUMBER.findall(text))
    if numbers < MIN_NUMBERS or numbers < MIN_NUMBERS_PER_WORD * len(_WORD.findall(text)):
        return None
    return kind


def _titled(top: str) -> str | None:
    """The statement whose name stands in `top` as a title, not inside a sentence."""
    for match in _TITLE.finditer(top):
        before = (match.group(1) or "").strip()
        if before and _MENTION.search(before):
            continue
        words = match.group("title").lower().split()
        if words[0] == "balance" or words[-2:-1] == ["financial"] or words[-1] in ("position", "condition"):
            return "balance"
        return "cash" if words[-1].startswith("flow") else "income"
    return None
