"""Which documents a question names: BM25 over each document's profile (its name, title, opening words and
what it says it is: company, form, fiscal year and quarter), the lexical half of retrieval that a store's own
keyword search over chunks cannot do. A question's years, quarters and forms are matched against each
document's self-description (`ingest.describe`), so the FY2019 10-K outranks the 2023 one of the same company."""

from __future__ import annotations

import re
from typing import Any

from ingest import Collection
from ingest.describe import facets_text
from ingest.stores.keyword import KeywordIndex, cached, tokens


class Lexical:
    """Document profiles of one snapshot, to tell which documents a question names."""

    def __init__(self, store: Collection) -> None:
        profiles = store.document_profiles()
        self.doc_ids = sorted(profiles)
        self.about = [store.documents[d].about if d in store.documents else {} for d in self.doc_ids]
        texts = [f"{profiles[d]}\n{facets_text(about)}" for d, about in zip(self.doc_ids, self.about, strict=True)]
        self.documents = KeywordIndex(texts)
        self._profile_words = [set(words) for words in tokens(texts)] if texts else []
        self.capitalizes_nouns = capitalized_share(_prose_sample(store)) > _NOUN_CAPITALS
        """Whether the collection's language capitalizes every noun (German): then a capitalized word is no
        name, and only acronyms (`USA`, `NFL`, `3M`) name documents."""

    def document_ranks(self, query: str) -> dict[str, int]:
        """doc_id -> rank (1 = best) of the documents the query names. A name is a run of capitalized words
        (a company, product, person, ticker, quarter); it names the few documents (at most a quarter of the
        collection) whose profile holds all its words. Documents named most often come first."""
        rest = query.strip().split(maxsplit=1)
        phrases = [p for p in (_NAME.findall(rest[1]) if len(rest) == 2 else []) if not _TOO_SHORT.fullmatch(p)]
        if self.capitalizes_nouns:
            phrases = [w for p in phrases for w in p.split() if _acronym(w) and not _TOO_SHORT.fullmatch(w)]
        if len(self.doc_ids) < 2:
            return {}
        limit = max(1, int(_NAMING_SHARE * len(self.doc_ids)))
        counts = [0.0] * len(self.doc_ids)
        for words in tokens(phrases) if phrases else []:
            holders = [i for i, profile in enumerate(self._profile_words) if words and set(words) <= profile]
            if 0 < len(holders) <= limit:
                for i in holders:
                    counts[i] += 1
        if not any(counts):
            return {}
        return self._ranked(query, counts)

    def period_ranks(self, query: str) -> dict[str, int]:
        """doc_id -> rank of the documents whose self-description fits the years, quarters and forms the query
        names best (`facet_match`), when they are few; those the query's words match best come first."""
        asked = asked_facets(query)
        if not asked["years"] and not asked["quarters"] and _LATEST.search(query):
            return self._latest(query, asked["forms"])
        if not any(asked.values()) or len(self.doc_ids) < 2:
            return {}
        facets = [facet_match(asked, about) for about in self.about]
        best = max(facets)
        fitting = [f if f == best else 0.0 for f in facets]
        if not best or sum(1 for f in fitting if f) > max(1, int(_NAMING_SHARE * len(self.doc_ids))):
            return {}
        return self._ranked(query, fitting)

    def _latest(self, query: str, forms: set[str]) -> dict[str, int]:
        """For "the most recent 10-Q of Microsoft": among the documents the question names, those of the latest
        period they describe themselves with (of the forms asked, if any)."""
        named = self.document_ranks(query)
        index = {d: i for i, d in enumerate(self.doc_ids)}
        ends = {
            d: str(self.about[index[d]].get("period_end") or "")
            for d in named
            if not forms or self.about[index[d]].get("form") in forms
        }
        latest = max(ends.values(), default="")
        if not latest or len(ends) < 2:
            return {}
        return self._ranked(query, [1.0 if ends.get(d) == latest else 0.0 for d in self.doc_ids])

    def _ranked(self, query: str, counts: list[float]) -> dict[str, int]:
        scores = dict(self.documents.search(query, len(self.doc_ids)))
        named = sorted((i for i, n in enumerate(counts) if n), key=lambda i: (-counts[i], -scores.get(i, 0.0)))
        return {self.doc_ids[i]: rank for rank, i in enumerate(named, start=1)}


def asked_facets(query: str) -> dict[str, Any]:
    """The years, quarters and forms a question names: `FY2019`, `fiscal 2020`, `2022 Q2`, `second quarter`,
    `10-K`, `annual report`."""
    years = sorted({int(y) for y in _YEAR.findall(query)})
    quarters = {int(a or b) for a, b in _QUARTER.findall(query)}
    quarters |= {_ORDINALS[w.lower()] for w in _QUARTER_WORDS.findall(query)}
    forms = {_FORMS.get(f.lower(), f.upper().replace(" ", "")) for f in _FORM.findall(query)}
    return {"years": years, "quarters": quarters, "forms": forms}


def facet_match(asked: dict[str, Any], about: dict[str, Any]) -> float:
    """How well a document's self-description fits what the question names: its fiscal year is the latest year
    asked (1) or one of them (0.5), its quarter (1) and its form (0.5) are the ones asked."""
    score = 0.0
    year = about.get("fiscal_year")
    if asked["years"] and year:
        score += 1.0 if year == asked["years"][-1] else 0.5 if year in asked["years"] else 0.0
    if asked["quarters"] and about.get("fiscal_quarter") in asked["quarters"]:
        score += 1.0
    if asked["forms"] and about.get("form") in asked["forms"]:
        score += 0.5
    return score


#: Words asking for the newest of a company's documents ("last" is left out: "last year" is a period of its own).
_LATEST = re.compile(r"\b(?:most recent|latest|newest)\b", re.IGNORECASE)
#: A name names documents when at most this share of the collection's documents hold it in their profile.
_NAMING_SHARE = 0.25
#: Runs of capitalized words and acronyms: the names a question may give (its first word is skipped); `3M` too.
_NAME = re.compile(r"\b(?:[A-Z]|\d[A-Z])[\w&.'-]*(?:\s+[A-Z][\w&.'-]*)*")
#: Too short to name anything: `Q3`, `F1`, `AI`.
_TOO_SHORT = re.compile(r"[A-Z][\w&.'-]?")
_YEAR = re.compile(r"(?<![\w.])(?:FY\s?|fiscal\s+(?:year\s+)?)?((?:19|20)\d\d)(?![\d])", re.IGNORECASE)
_QUARTER = re.compile(r"(?<![A-Za-z])Q([1-4])(?!\d)|(?<!\d)([1-4])Q(?![A-Za-z])")
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4}
_QUARTER_WORDS = re.compile(r"\b(first|second|third|fourth)\s+(?:fiscal\s+)?quarter\b", re.IGNORECASE)
_FORM = re.compile(r"\b(10-?K|10-?Q|8-?K|annual\s+report|quarterly\s+report|earnings\s+release)\b", re.IGNORECASE)
_FORMS = {"10k": "10-K", "10-k": "10-K", "10q": "10-Q", "10-q": "10-Q", "8k": "8-K", "8-k": "8-K",
          "annual report": "10-K", "quarterly report": "10-Q", "earnings release": "earnings release"}  # fmt: skip


def capitalized_share(texts: list[str]) -> float:
    """The share of words that are capitalized inside sentences of running prose (eight words or more, ending
    in `.`, `!` or `?`; a sentence's first word is not counted): how often the language capitalizes where no
    sentence begins. Measured on the eval collections: English 0.07-0.19 (SEC filings, Wikipedia, papers),
    Spanish and Russian 0.11, German 0.35, which capitalizes every noun. 0 below 200 such words."""
    capitalized = total = 0
    for text in texts:
        for sentence in _SENTENCE_END.split(text):
            words = _WORD.findall(sentence)
            if len(words) >= 8 and sentence.rstrip()[-1:] in ".!?":
                total += len(words) - 1
                capitalized += sum(word[0].isupper() for word in words[1:])
    return capitalized / total if total >= 200 else 0.0


def _prose_sample(store: Collection, chunks: int = 400) -> list[str]:
    """The texts of whole documents' chunks, about `chunks` of them (documents in doc_id order, which puts no
    kind of document first), read with one call."""
    wanted: list[str] = []
    count = 0
    for doc_id in sorted(store.documents):
        if count >= chunks:
            break
        wanted.append(doc_id)
        count += store.documents[doc_id].chunks
    return [chunk.text for chunk in store.chunks_of(wanted)] if wanted else []


#: Above this share of capitalized words inside sentences, a language capitalizes nouns, not only names (nouns
#: are a quarter to a third of running words; names, in the English sets, at most a fifth).
_NOUN_CAPITALS = 0.25
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
_WORD = re.compile(r"[^\W\d_][\w'-]*")
_CAPITALS = re.compile(r"[A-Z0-9][A-Z0-9&.-]*[A-Z0-9.]s?")


def _acronym(word: str) -> bool:
    """What names a document where every noun is capitalized: capitals, digits and `&.-` (and a plural `s`), with
    two capitals or a capital and a digit (`USA`, `NFL`, `U.S.`, `AT&T`, `3M`, `CDs`)."""
    capitals = sum(c.isupper() for c in word)
    return bool(_CAPITALS.fullmatch(word)) and capitals >= 1 and capitals + any(c.isdigit() for c in word) >= 2


def lexical_index(store: Collection) -> Lexical:
    """The document profiles of this snapshot, read once and shared."""
    return cached(f"profiles:{store.version}", lambda: Lexical(store))
