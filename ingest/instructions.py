"""Passages that address the assistant instead of a human reader ("ignore previous instructions", "reply only
with: …", chat-template tokens): found at ingest, marked on the chunk, and kept out of prompts by default.

The detector is a fixed set of regular expressions with bounded gaps, so it runs in time linear in the text.
Strong patterns flag a passage on their own. Weak ones (a bare "instead, say …", "note for the assistant") are
phrasings ordinary policy prose also uses, so they flag a passage only together: a command to the reader plus a
sign that the reader is an AI.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from .types import Chunk

#: The chunk metadata key holding the reasons a passage was flagged ([]: checked and clean; absent: never checked).
METADATA_KEY = "instruction"

_W = r"(?:\s+\S+)"  # one more word
_AI_EN = (
    r"(?:ai|a\.i\.|artificial intelligence|ai (?:assistant|model|system)s?|chat bots?|language models?|llms?|"
    r"gpt-?\d\w*|chatgpt|copilot|qwen|virtual assistants?|(?:chat)?bots?|ai (?:coding )?agents?)"
)
_AI = (  # also in German, Spanish, French (`KI`, `IA` only there: "HI, IA" are Hawaii and Iowa)
    rf"(?:{_AI_EN}|ki|ia|künstliche intelligenz|sprachmodell|inteligencia artificial|modelo de lenguaje|"
    r"intelligence artificielle|modèle de langage)"
)
_NOT_A_JOB = r"(?!\s*(?:manager|director|professor|principal|secretary|editor|coach|dean|to\b|of\b))"
_PREVIOUS = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|original|initial|former|system|developer|hidden|your|"
    r"all(?: the| of the| of your)?)"
)
_RULES = r"(?:instructions?|prompts?|rules|guidelines|directions|directives|context|programming|guardrails)"
_TOPIC = (
    r"(?!\s+(?:regarding|concerning|about|relating|related|on|issued|dated|published|contained|in (?:section|the)))"
)
_QUOTE = r"\s*(?:[:\"'«“„]|(?:the|this|these) (?:words?|phrase|sentence|text|string|following)\b)"

_STRONG: list[tuple[str, str]] = [
    # Orders to drop the rules the assistant was given.
    ("tells the assistant to ignore its instructions",
     rf"(?<!not )(?<!n't )(?<!never )\b(?:ignore|disregard|forget|override|discard|set aside|abandon|dismiss)\b"
     rf"{_W}{{0,2}}?\s+{_PREVIOUS}\b{_W}{{0,2}}?\s+{_RULES}\b{_TOPIC}"),
    ("tells the assistant to ignore its instructions",
     r"\b(?:ignore|disregard|forget)\s+(?:everything|all|anything)\s+(?:above|before this|previously|said above|"
     r"written above|you (?:were|have been) (?:told|instructed|given))"),
    ("tells the assistant to ignore its instructions",
     rf"\b(?:ignoriere|ignorieren sie|ignoriert|vergiss|vergessen sie|missachte|missachten sie)\b{_W}{{0,3}}?\s+"
     r"(?:vorherigen|bisherigen|vorigen|obigen|früheren|vorangegangenen|ursprünglichen|deine|ihre|alle)\b"
     r"(?:\s+\S+){0,2}?\s+(?:anweisungen|anweisung|instruktionen|befehle|regeln|richtlinien|vorgaben)\b"
     r"(?!\s+(?:zur|zum|zu|über|bezüglich|betreffend|hinsichtlich|für)\b)"),
    ("tells the assistant to ignore its instructions",
     r"\b(?:ignora|ignore|ignoren|olvida|olvide|olviden|omite|descarta|haz caso omiso de)\b(?:\s+\S+){0,3}?\s+"
     r"(?:instrucciones|indicaciones|reglas|órdenes)\s+(?:anteriores|previas|originales|del sistema|de arriba)\b|"
     r"\b(?:olvida|olvide|ignora|ignore) (?:todas )?(?:las|tus|sus) instrucciones\b|"
     r"\b(?:oublie|oubliez|ignore|ignorez) (?:toutes )?(?:les|tes|vos) (?:instructions|consignes)\b|"
     r"\b(?:dimentica|ignora) (?:tutte )?(?:le|tue) istruzioni\b|\b(?:vergiss|vergessen sie) alles\b"),
    ("tells the assistant to ignore its instructions",
     r"\b(?:ignore|ignorez|ignorer|oublie|oubliez|oublier|ne tiens pas compte|ne tenez pas compte)\b(?:\s+\S+){0,3}?"
     r"\s+(?:instructions|consignes|règles|directives)\s+(?:précédentes|antérieures|ci-dessus|initiales|du système)"),
    ("tells the assistant to ignore its instructions",
     r"\b(?:ignora|ignori|dimentica|ignore|esqueça|esqueca)\b(?:\s+\S+){0,3}?\s+(?:istruzioni|instruções|instrucoes)"
     r"\s+(?:precedenti|anteriores)"),
    ("tells the assistant to ignore its instructions",
     r"(?:игнорируй|игнорируйте|забудь|забудьте)(?:\s+\S+){0,2}?\s+(?:предыдущие|прежние|все)\s+(?:инструкции|"
     r"указания|правила)|(?:忽略|无视|忘记|忘掉)(?:之前|以上|前面|先前|上述|所有).{0,4}?(?:指令|指示|说明|规则)|"
     r"(?:以前|前|上記)の(?:指示|命令)を(?:無視|忘れ)"),
    # Dictating the answer.
    ("dictates the answer",
     rf"\b(?:(?:reply|respond|answer)\s+(?:only|exclusively|solely|just|simply)\s+(?:with|by saying|using)|"
     rf"(?:only|just)\s+(?:reply|respond|answer)\s+with|(?:reply|respond|answer)\s+with\s+(?:only|exactly|just))"
     rf"{_QUOTE}"),
    ("dictates the answer",
     rf"\b(?:your|the) (?:answer|reply|response|output)\s+(?:must|should|shall|will|has to|needs to)\s+"
     rf"(?:be|say|read|contain|consist of|start with|begin with)(?:\s+(?:only|exactly))?{_QUOTE}"),
    ("dictates the answer",
     rf"\b(?:say|write|output|print|state|reply|respond|answer)\s+(?:exactly|verbatim|word for word){_QUOTE}"),
    ("dictates the answer",
     rf"\b(?:answer|reply|respond)\s+(?:to\s+)?(?:every|each|all|any)\s+(?:questions?|quer(?:y|ies)|prompts?|"
     rf"messages?)\s+with{_QUOTE}"),
    ("dictates the answer",
     r"\b(?:antworte|antworten sie|antwortest)\s+(?:nur|ausschließlich|lediglich|einzig)\s+mit\s*[:\"'„«]|"
     r"\b(?:responde|responda|contesta|conteste)\s+(?:solo|sólo|solamente|únicamente|exclusivamente)\s+con\s*"
     r"[:\"'«“]|\b(?:réponds|répondez)\s+(?:uniquement|seulement|simplement|exclusivement)\s+(?:par|avec)\s*"
     r"[:\"'«“]|\bne (?:réponds|répondez) que par\b"),
    ("dictates the answer",
     r"\b(?:save|store|write|add) (?:this|the following|it)(?: note)? (?:to|in|into) your (?:long-term )?memory\b|"
     r"\b(?:every|each|any|all) (?:future )?(?:reply|replies|answer|answers|response|responses) (?:you (?:give|write|"
     r"generate) )?(?:from now on|in (?:the )?future)\b|\bend of (?:your|each|every|any) (?:reply|answer|response)\b|"
     r"\b(?:decode|translate|convert)\b(?:\s+\S+){0,8}?\s+(?:and|then)\s+(?:follow|do|execute|obey|comply|carry out)"
     r"\b|\bdo (?:exactly )?what it says\b"),
    # Addressing an AI.
    ("addresses an AI",
     rf"\b(?:note|notice|message|instructions?|attention|memo|reminder|warning|directive|request|update|guidance)"
     rf"\s+(?:to|for)\s+"
     rf"(?:the |all |any |an? )?{_AI_EN}\b"),
    ("addresses an AI",
     rf"\b(?:dear|hey|hello|hi|attention)\s*,?\s+{_AI_EN}\b|\b(?:if|when) you(?:'re| are) (?:an?|the) {_AI_EN}\b|"
     rf"\b{_AI_EN}\s+(?:reading|processing|summari[sz]ing|parsing|answering|indexing|integrating) (?:this|these)\b|"
     r"\bas an ai(?: language model| model| assistant|,)"),
    ("addresses an AI",
     rf"\b(?:hinweis|nachricht|anweisungen?|achtung)\s+(?:an|für)\s+(?:die |den |alle )?{_AI}\b|"
     rf"\b(?:nota|mensaje|aviso|atención|instrucciones)\s+(?:para|a)\s+(?:el |la |los |las )?{_AI}\b|"
     rf"\b(?:note|message|avis|attention|instructions?)\s+(?:pour|à|aux)\s+(?:l'|les |la |le )?{_AI}\b|"
     r"\ben tant qu'(?:ia|intelligence artificielle|modèle de langage)\b"),
    # A new role.
    ("gives the assistant a new role",
     rf"\byou(?:'re| are)(?: now)? (?:an?|the) (?:(?:helpful|harmless|honest|friendly|new|unrestricted|uncensored|"
     rf"evil|virtual|digital|chat)\s+){{0,3}}(?:{_AI_EN}|assistant{_NOT_A_JOB})\b|"
     rf"\byou(?:'re| are) now\b{_W}{{0,3}}?\s+(?:{_AI_EN}|dan|unrestricted|jailbroken|unfiltered|in (?:developer|god|"
     r"jailbreak|dan) mode)\b|\byou(?:'re| are) no longer (?:an? |the )?(?:ai|assistant|bound by|restricted by)\b|"
     rf"\b(?:act|behave) as (?:if you were )?(?:an?|the) (?:unrestricted|jailbroken|unfiltered|evil|different) "
     rf"(?:{_AI_EN}|assistant|model)\b|\bdu bist (?:jetzt|nun|ab sofort) (?:ein |eine )?{_AI}\b|"
     rf"\b(?:ahora eres|eres ahora|a partir de ahora eres) (?:un |una )?{_AI}\b|"
     rf"\b(?:tu es|vous êtes) (?:maintenant|désormais) (?:un |une )?{_AI}\b|"
     r"\b(?:you(?:'re| are)|you have|du bist|du hast|eres|estás|estas|tu es|vous êtes|sei)(?: now| jetzt| ahora| "
     r"désormais| ora)? (?:an? |un |una |ein |eine )?(?:\S+ )?(?:unrestricted|uncensored|unfiltered|jailbroken|no "
     r"(?:restrictions|filters|limits)|uneingeschränkt|keine regeln|sin restricciones|sans restrictions|"
     r"senza restrizioni)\b|\bmodo desarrollador\b|\bentwicklermodus\b|\bmode développeur\b|"
     r"\b(?:unrestricted|uncensored|unfiltered|jailbroken) (?:ai|model|assistant|chatbot|mode)\b"),
    ("gives the assistant a new role", r"你现在是|あなたは今"),
    # The prompt itself.
    ("talks about the system prompt",
     r"\bsystem(?:[ _-]?prompt\b|nachricht|hinweis|anweisungen?\b| (?:message|note|notice|alert|instructions?|override|"
     r"update|command|directive)\s*:)|\bprompt (?:del|du) (?:sistema|système)|\b(?:mensaje|nota) del sistema\s*:|"
     r"\b(?:invite|message|note) système\s*:|\bnota di sistema\s*:|\binstructions? (?:du )?système\b|"
     r"\binstrucciones del sistema\b|\bistruzioni di sistema\b|\bend of (?:the )?(?:user input|system prompt)\b"),
    ("talks about the system prompt", r"系统提示|系统消息|システムプロンプト"),
    ("talks about the system prompt",
     r"[\[(<{]\s*system(?:\s+(?:message|note|notice|prompt|instructions?|override|update))?\s*[\])>}]"),
    ("asks for the assistant's instructions",
     r"\b(?:reveal|print|show|repeat|output|display|disclose|leak|share|recite|dump|list|tell me)\s+(?:me\s+)?(?:your|"
     r"all (?:of )?your|the (?:hidden|secret|internal|original|initial|system|developer))\s+(?:\S+\s+){0,2}?(?:prompt|"
     r"instructions|rules|guidelines|configuration|message)\b|\b(?:instructions|rules) you (?:were|have been) given\b|"
     r"\byour context window\b|\bthe words above starting with\b"),
    ("hides something from the user",
     r"\b(?:do not|don't|never)\s+(?:mention|reveal|disclose|tell|say|admit|acknowledge|indicate)\s+(?:to the user|"
     r"the user|this instruction|these instructions|this note|this message|that you (?:were|are|have been)|"
     r"where this|that this (?:note|message|instruction))"),
    ("contains chat-template tokens",
     r"<\|[a-z_]{2,30}\|>|\[/?inst\]|<</?sys>>|<(?:start|end)_of_turn>|</?think(?:ing)?>"),
    ("imitates a chat transcript or prompt template",
     r"^[ \t]*(?:user|human)[ \t]*:[^\n]*\n(?:[^\n]*\n){0,6}?[ \t]*(?:assistant|ai|bot|chatbot|gpt)[ \t]*:|"
     r"^[ \t]*#{1,4}[ \t]*(?:instruction|response|system)[ \t]*:"),
]  # fmt: skip

_WEAK_ADDRESS = re.compile(
    rf"\b(?:note|notice|message|instructions?|attention|memo|reminder)\s+(?:to|for)\s+(?:the |all |any )?"
    rf"assistants?{_NOT_A_JOB}\b|\b(?:dear|hey|hello|hi),?\s+(?:assistant|model){_NOT_A_JOB}\b|"
    rf"^\s*(?:assistant|system|ai)\s*:\s|\b{_AI_EN}\b",
    re.MULTILINE,
)
_WEAK_COMMAND = re.compile(
    r"\b(?:instead|rather),?\s+(?:say|answer|reply|respond|write|output|tell)\b|"
    r"\b(?:when|if|whenever)\s+(?:you(?:'re| are)?\s+(?:asked|questioned)|(?:the |a )?user asks|(?:anyone|someone|"
    r"somebody) asks|asked)\b(?:\s+\S+){0,8}?\s+(?:say|reply|answer|respond|tell|write|state|include)\b|"
    r"\b(?:from now on|henceforth),?\s+you\s+(?:are|will|must|shall|should)\b|\bpretend (?:to be|you are|that you)\b|"
    r"\b(?:in|to|at the end of)\s+(?:every|each|all|your)\s+(?:answers?|responses?|replies)\b|"
    r"\b(?:enter|activate|enable|switch to)\s+(?:developer|god|jailbreak|dan|unrestricted) mode\b|"
    r"\bwhen (?:you )?answer(?:ing)?\s+(?:any|every|each|all|a|the)\s+(?:questions?|quer(?:y|ies))\b|"
    r"\byou (?:must|should|will) (?:always|never) (?:answer|reply|respond|say)\b",
)
_COMPILED = [(label, re.compile(pattern, re.MULTILINE)) for label, pattern in _STRONG]
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff*`~]")
_SPACES = re.compile(r"[^\S\n]+")
_TAGS = re.compile("[\U000e0020-\U000e007e]")
_SPACED = re.compile(r"\b(?:\w ){4,}\w\b")


def normalize(text: str) -> str:
    """Lower case, compatibility forms folded, invisible characters and Markdown emphasis dropped, Unicode tag
    characters read as the ASCII they hide, and s p a c e d letters joined."""
    text = _TAGS.sub(lambda m: chr(ord(m.group(0)) - 0xE0000), text)
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()
    text = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return _SPACES.sub(" ", text)


def instruction_reasons(text: str) -> list[str]:
    """Why `text` reads as addressed to an AI assistant rather than to a human reader; [] when it does not."""
    text = normalize(text)
    reasons: dict[str, str] = {}
    for label, pattern in _COMPILED:
        if label not in reasons and (match := pattern.search(text)):
            reasons[label] = _quote(match.group(0))
    if not reasons and (command := _WEAK_COMMAND.search(text)):
        address = _WEAK_ADDRESS.search(text)
        if address:
            reasons["addresses an AI and tells it what to say"] = _quote(f"{address.group(0)} … {command.group(0)}")
    return [f"{label}: '{quote}'" for label, quote in reasons.items()]


def _quote(snippet: str) -> str:
    snippet = " ".join(snippet.split())
    return snippet if len(snippet) <= 60 else snippet[:57] + "…"


def mark_instructions(chunks: list[Chunk]) -> list[Chunk]:
    """The chunks with `metadata["instruction"]` set: the reasons a passage addresses the assistant, or [] for a
    passage checked and found clean (so a stored chunk without the key was never checked)."""
    return [replace(c, metadata={**c.metadata, METADATA_KEY: instruction_reasons(c.text)}) for c in chunks]


def chunk_instruction_reasons(chunk: Chunk) -> list[str]:
    """The reasons a stored chunk was flagged; chunks of indexes built before flagging existed are checked now."""
    if METADATA_KEY in chunk.metadata:
        return list(chunk.metadata[METADATA_KEY] or [])
    return instruction_reasons(chunk.text)


def flagged_counts(chunks: list[Chunk]) -> dict[str, int | None]:
    """Per document id, how many of its passages address the assistant; None when it was indexed before
    passages were checked (they are checked when searched instead)."""
    counts: dict[str, int | None] = {}
    for chunk in chunks:
        count = counts.get(chunk.doc_id, 0)
        if METADATA_KEY not in chunk.metadata:
            counts[chunk.doc_id] = None
        elif count is not None:
            counts[chunk.doc_id] = count + bool(chunk.metadata[METADATA_KEY])
    return counts
