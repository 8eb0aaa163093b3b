"""What a question is about, and whether a source speaks of it: the check that an answer's source is about the
question before the answer is shown. The only module that imports wordfreq.

A quote or a calculation always comes from a source, but the source the model picked can be about something else:
asked "How tall is Mount Aconcagua?" of a collection without it, a small model quotes a height from an article on
Warsaw. The question's words are weighed by how rare they are in its language (`wordfreq`'s Zipf scale: "the" ≈ 7,
"tungsten" ≈ 2.5), so the names and terms that say what it is about count most; question and arithmetic words
count nothing. The share of that weight whose words (stemmed as BM25 stems them) the source contains is its
coverage. Only English questions over English sources are judged: BM25's stemmer is English, so in German or
Russian an inflected word ("Тесле") would miss its source's form ("Тесла"), and across languages no word matches.
"""

from __future__ import annotations

import re
from functools import lru_cache

import wordfreq

from ingest.stores.keyword import tokens

#: Languages a question's words are looked up in: English and the other languages of the eval sets and language
#: packs, each with a large wordfreq list.
LANGUAGES = ("en", "es", "de", "fr", "it", "pt", "nl", "ru")
#: Zipf frequency of the commonest words: a word's weight is how far below this it lies.
TOP_ZIPF = 7.0
#: Only a question that names its subject in at most this many specific words (weight at least `SPECIFIC`) is
#: judged. A short question ("How tall is Mount Aconcagua?") names what its source must mention; a long one (an
#: analyst's "notable changes in Apple's liquidity position or cash flows") paraphrases, and the page that answers
#: it need not repeat its words: judged, a quarter of financebench's answerable questions would be declined.
MAX_JUDGED_WORDS = 4
SPECIFIC = 2.0

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")

#: Words of a question that say what to compute or ask, not what it is about (English; in other languages the
#: question words are frequent and so weigh little).
_HOW = frozenset(
    tokens(
        [
            "what which who whom whose when where why how many much is are was were do does did have has had the "
            "percentage percent change difference increase decrease growth ratio proportion average mean sum total "
            "combined value amount number year years between from to in of and over than compared vs by rate "
            "annual yearly quarter quarterly fiscal fy"
        ]
    )[0]
)


def language(text: str) -> str | None:
    """The language among `LANGUAGES` whose word list knows `text`'s words best (None for CJK text or text
    without words)."""
    if _CJK.search(text):
        return None
    words = [w.lower() for w in _WORD.findall(text[:2000])][:200]
    if not words:
        return None
    scores = {lang: sum(_zipf(w, lang) for w in words) for lang in LANGUAGES}
    return max(scores, key=lambda lang: (scores[lang], lang == "en"))


def subject(question: str) -> dict[str, float]:
    """The stemmed words `question` is about, each weighted by its rarity in the question's language."""
    lang = language(question)
    if lang is None:
        return {}
    weights: dict[str, float] = {}
    for word in _WORD.findall(question):
        stems = tokens([word])[0]
        if not stems or stems[0] in _HOW:
            continue
        weight = max(0.0, TOP_ZIPF - _zipf(word.lower(), lang))
        weights[stems[0]] = max(weights.get(stems[0], 0.0), weight)
    return weights


def coverage(question: str, texts: list[str]) -> float:
    """The share of what `question` is about that `texts` mention, by weight (1.0 when there is nothing to judge:
    no weighted words, more than `MAX_JUDGED_WORDS` specific ones, no texts, or a question or texts not in
    English)."""
    weights = subject(question)
    total = sum(weights.values())
    joined = "\n".join(texts)
    if sum(weight >= SPECIFIC for weight in weights.values()) > MAX_JUDGED_WORDS:
        return 1.0
    if not total or not joined.strip() or language(question) != "en" or language(joined) != "en":
        return 1.0
    found = set(tokens([joined])[0])
    return sum(weight for word, weight in weights.items() if word in found) / total


@lru_cache(maxsize=65_536)
def _zipf(word: str, lang: str) -> float:
    return float(wordfreq.zipf_frequency(word, lang))
