"""Streamlit-free logic behind the app: the services it runs on, and text made safe to render."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest import Embedder, ScoredChunk, Settings, embedder_for, quiet_third_party_output

from .generate import ChatModel, load_chat_model
from .model_catalog import RECOMMENDED_MODELS
from .model_download import download_state
from .model_files import PACKAGED_MODELS
from .titles import cite


@dataclass
class Services:
    """What the app needs, built once per process: the configured embedder (a collection built with another is
    searched with its own, `assistant.app.services.embedder`) and a way to get the chat model."""

    settings: Settings
    embedder: Embedder
    chat_model_factory: Callable[[Settings], ChatModel]


def real_services(settings: Settings) -> Services:
    quiet_third_party_output()
    return Services(settings, embedder_for(settings), real_chat_model)


def real_chat_model(settings: Settings) -> ChatModel:
    return load_chat_model(settings)


#: The app builds its services with this; tests replace it with one that returns fakes.
services_factory: Callable[[Settings], Services] = real_services

#: U+2060 WORD JOINER: invisible and zero-width. Put after a ':' or '@' (and inside "www."), it stops the
#: constructs that a backslash cannot: emoji shortcodes (`:x:`), Material icons (`:material/warning:`) and
#: autolinked URLs and e-mail addresses are all found in the parsed text, after escapes are resolved.
JOINER = "\u2060"
_INLINE = re.compile(
    r"""(?P<always>[`*\[\]|~$])         # code, emphasis, links/images/directive labels, tables, strike, math
    | (?P<lt><)                            # HTML and <autolinks>, as an entity: no '<' is left in the Markdown
    | (?P<paren>(?<=\])\()                 # no "](" is left either
    | (?P<backslash>\\(?=[!-/:-@\[-`{-~]|$))  # a backslash that would escape the next character
    | (?P<under>_)                         # emphasis, unless inside a word (snake_case stays as it is)
    | (?P<amp>&(?=\#?\w+;))               # an entity reference (&lt; &#58;)
    | (?P<hash>(?:^|(?<=\s))\#)            # a heading, or a heading's closing sequence
    | (?P<joined>[:@](?=\S))               # emoji, icons, directives (:red[), URL schemes, e-mail addresses
    | (?P<www>(?i:www)(?=\.))              # www. autolinks
    """,
    re.VERBOSE,
)
#: Block syntax a line can start with: lists (`-`, `+`, `1.`, `1)`), quotes, setext underlines.
_LINE_START = re.compile(r"^(\s*)([-+=>]|\d{1,9}(?=[.)]))")


def _escape_inline(match: re.Match[str]) -> str:
    char = match.group()
    if match.group("under") is not None:
        text, at = match.string, match.start()
        inside_word = 0 < at < len(text) - 1 and text[at - 1].isalnum() and text[at + 1].isalnum()
        return char if inside_word else "\\_"
    if match.group("joined") is not None or match.group("www") is not None:
        return char + JOINER
    if match.group("lt") is not None:
        return "&lt;"
    return "\\" + char


def _escape_line(line: str) -> str:
    line = _INLINE.sub(_escape_inline, line)
    start = _LINE_START.match(line)
    if start:
        lead, mark = start.groups()
        cut = start.end() + (1 if mark[0].isdigit() else 0)
        mark = line[len(lead) : cut]
        line = lead + (mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark) + line[cut:]
    return line


def safe_markdown(text: str) -> str:
    """Text from documents or the model, escaped so Markdown (and Streamlit's extensions to it) shows it literally.

    The one escaping function of the app and of the chat export. Nothing in the text can become a link, an
    autolinked URL or e-mail address, an image, HTML, an emoji or Material icon shortcode, a colored-text or
    badge directive, LaTeX, emphasis, a list, a heading or a table. Only what could start such a construct is
    escaped (so "step-back" stays as it is); line breaks are kept.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "  \n".join(_escape_line(line) for line in lines)


def model_picker(configured: str, catalog: dict[str, str]) -> tuple[list[str], int]:
    """The chat model picker's options and the position of the configured model, its default.

    The configured model is the catalog's own entry when it is one, also when spelled as another path to the
    same file; otherwise it comes first, ahead of the catalog.
    """
    options = list(catalog)
    for position, spec in enumerate(options):
        if spec == configured or (_is_path(spec) and _is_path(configured) and _same_file(spec, configured)):
            return options, position
    return [configured, *options], 0


def model_label(spec: str, catalog: dict[str, str]) -> str:
    """A chat model as the picker shows it: its name and size, short enough not to be cut off."""
    if spec in catalog:
        text = catalog[spec]
    elif spec.startswith("packaged:") and spec.removeprefix("packaged:") in PACKAGED_MODELS:
        text = PACKAGED_MODELS[spec.removeprefix("packaged:")].description.split(":")[0] + ", not installed"
    elif spec.startswith("hf:"):
        text = spec.rsplit("/", 1)[-1] + " (downloaded on first use)"
    elif spec.startswith("server:"):
        text = "model server at " + spec.removeprefix("server:")
    else:
        text = Path(spec).name
    return re.sub(r",\s*Q\d\w*|-Instruct\b", "", text.split(": ", 1)[0])  # the rest is in the caption below


def gguf_problem(spec: str) -> str | None:
    """Why a custom model file can't be used, in the app's words; None when it looks like a GGUF model."""
    if spec.startswith(("hf:", "packaged:")):
        return None
    path = Path(spec).expanduser()
    if not path.is_file():
        return f"There is no file at {spec}. Pick a .gguf file on this computer."
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        return f"{path.name} can't be read ({exc.strerror})."
    return None if magic == b"GGUF" else f"{path.name} is not a GGUF model file."


def recommended_rows(model_dir: Path) -> list[dict[str, Any]]:
    """The recommended chat models as the picker lists them: name, size, license, short SHA-256 and what of each is
    on disk; `can_download` while it is not whole there, `needs_hash` when no published hash is known."""
    on_disk = {
        "verified": "downloaded and verified",
        "unverified": "downloaded, not verified: no published SHA-256",
        "absent": "not downloaded",
    }
    rows = []
    for model in RECOMMENDED_MODELS.values():
        state = download_state(model, model_dir)
        size = f"{model.size / 1e9:.1f} GB" if model.size else f"about {model.about_gb:.1f} GB"
        sha256 = f"{model.sha256[:8]}…{model.sha256[-4:]}" if model.sha256 else "not published"
        share = f"{state.bytes_on_disk / model.size:.0%}" if model.size else f"{state.bytes_on_disk / 1e9:.1f} GB"
        rows.append(
            {
                "name": model.name,
                "spec": model.spec,
                "title": model.display_name,
                "details": f"{size} · {model.license} · SHA-256 {sha256}",
                "state": on_disk.get(state.kind, f"{share} downloaded; Download continues it"),
                "can_download": state.kind in ("absent", "partial"),
                "needs_hash": model.sha256 is None,
            }
        )
    return rows


def download_progress(done: int, total: int) -> tuple[float, str]:
    """A download's progress bar: the fraction done (0 while the size is unknown) and its caption."""
    if total <= 0:
        return 0.0, f"{done / 1e9:.2f} GB downloaded"
    return min(done / total, 1.0), f"{done / 1e9:.2f} of {total / 1e9:.2f} GB"


def _is_path(spec: str) -> bool:
    return not spec.startswith(("packaged:", "hf:"))


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except (OSError, RuntimeError):
        return False


# What the app keeps of a conversation (plain dicts, so session state holds no live objects) -------------


def source_record(number: int, hit: ScoredChunk, *, cited: bool = False, title: str = "") -> dict[str, Any]:
    """One numbered source of an answer, as the app stores and shows it: cited by the document's `title` when
    it has one (the file name is kept in `source`)."""
    chunk = hit.chunk
    return {
        "number": number,
        "citation": cite(hit, title),
        "title": title,
        "score": float(hit.score),
        "text": chunk.text,
        "cited": cited,
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "page": chunk.page,
    }


def chat_markdown(messages: list[dict[str, Any]], title: str = "Conversation") -> str:
    """The conversation as a Markdown file: each question, its answer, and the passages it cites.

    Everything from documents or the model goes through `safe_markdown`, so any Markdown viewer shows it
    literally and fetches nothing.
    """
    lines = [f"# {safe_markdown(title)}", ""]
    for message in messages:
        if message["role"] == "user":
            lines += [f"## {safe_markdown(message['content'])}", ""]
            continue
        if message.get("query"):
            lines += [f"*Searched for: {safe_markdown(message['query'])}*", ""]
        lines += [safe_markdown(message["content"]), ""]
        sources = [s for s in message.get("sources", []) if s.get("cited")] or message.get("sources", [])
        if sources:
            lines += ["Sources:", ""]
            for source in sources:
                lines.append(f"- \\[{source['number']}\\] {safe_markdown(source['citation'])}")
                quote = " ".join(str(source["text"]).split())
                lines.append(f"  > {safe_markdown(quote)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def quiz_markdown(title: str, items: list[dict[str, Any]]) -> str:
    """A quiz as Markdown: each question, its answer, and where in the material it comes from."""
    lines = [f"# Quiz: {safe_markdown(title)}", ""]
    for number, item in enumerate(items, 1):
        lines += [f"{number}\\. {safe_markdown(item['question'])}", ""]
        lines += [f"   **Answer:** {safe_markdown(item['answer'])}", ""]
        lines += [f"   *From {safe_markdown(item['source']['citation'])}*", ""]
    return "\n".join(lines).rstrip() + "\n"


def quiz_csv(items: list[dict[str, Any]]) -> str:
    """Flashcards, one `front,back` row per question, as flashcard apps (Anki, Quizlet) import them. A cell that
    a spreadsheet would read as a formula gets a leading space."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for item in items:
        writer.writerow([_cell(item["question"]), _cell(f"{item['answer']} ({item['source']['citation']})")])
    return out.getvalue()


def _cell(text: str) -> str:
    text = " ".join(str(text).split())
    return " " + text if text[:1] in ("=", "+", "-", "@") else text


def mark_quote(reply: Any, records: list[dict[str, Any]]) -> None:
    """Record which characters of its source a quoted answer copied (`record["quote"]`), for the source card to
    highlight exactly those."""
    detail = getattr(reply, "detail", None)
    quote = getattr(detail, "quote", None)
    if quote is None or quote.refused or detail.declined or not quote.source or quote.source > len(records):
        return
    record = records[quote.source - 1]
    text = str(record["text"])
    if text[quote.start : quote.end] == quote.text:
        record["quote"] = [quote.start, quote.end]
    elif (at := text.find(quote.text)) >= 0:
        record["quote"] = [at, at + len(quote.text)]
