"""The real app on fake models, for scripted browser sessions: `streamlit run scripts/fake_app.py`.

The embedder is the tests' hashed bag of words; the chat model answers like a careful small model would, from
its prompt alone: it quotes source [1] and cites it, writes quiz questions whose answers are copied from their
passage, summarizes with a section's first sentence, and declines when there is no source. Before its first
word it "reads" for `DOCQA_FAKE_READING_S` seconds (default 1.5), as a real model reads its sources.
Everything else (pages, storage, saved chats, the browser's view) is the real app.
"""

from __future__ import annotations

import os
import re
import runpy
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import ui  # noqa: E402
from assistant.generate import Message  # noqa: E402
from assistant.prompt import REWRITE_PROMPT  # noqa: E402
from assistant.study import QUIZ_PROMPT, SUMMARY_PROMPT  # noqa: E402
from ingest import Settings  # noqa: E402
from tests.conftest import HashEmbedder, ScriptedChatModel  # noqa: E402

_PASSAGE = re.compile(r"<passage>\n(.+?)\n</passage>", re.DOTALL)
_SENTENCE = re.compile(r"[^.!?]{20,200}[.!?]")


class StudentModel(ScriptedChatModel):
    """A stand-in chat model with a reading delay and replies for every prompt the app sends."""

    def __init__(self, reading_s: float) -> None:
        super().__init__(context_size=4096)
        self.name = "fake-student-model"
        self.reading_s = reading_s

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float) -> Iterator[str]:
        system, user = messages[0]["content"], messages[-1]["content"]
        if system == REWRITE_PROMPT:
            reply = ""  # nothing usable: the app searches the previous question and this one together
        elif system in (QUIZ_PROMPT, SUMMARY_PROMPT):
            reply = self._study(system, user)
        else:
            yield from self._answer(messages, max_tokens, temperature)
            return
        time.sleep(self.reading_s / 4)
        self.prompts.append(list(messages))
        yield reply

    def _answer(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str]:
        time.sleep(self.reading_s)
        for piece in super().stream(messages, max_tokens=max_tokens, temperature=temperature):
            time.sleep(0.02)
            yield piece

    @staticmethod
    def _study(system: str, user: str) -> str:
        found = _PASSAGE.search(user)
        lines = (found.group(1) if found else user).splitlines()
        text = " ".join(" ".join(line for line in lines if not line.lstrip().startswith("#")).split())
        sentences = [s.strip() for s in _SENTENCE.findall(text)] or [text[:160]]
        if system == SUMMARY_PROMPT:
            return " ".join(sentences[:2])
        with_number = [s for s in sentences if re.search(r"\b\d+\b", s)]
        sentence = (with_number or sentences)[0]
        number = re.search(r"\b\d+\b", sentence)
        answer = number.group() if number else max(re.findall(r"[A-Za-z][\w-]{3,}", sentence) or [sentence], key=len)
        question = sentence.replace(answer, "_____", 1)
        return f"Question: Fill in the blank: {question}\nAnswer: {answer}"


def fake_services(settings: Settings) -> ui.Services:
    model = StudentModel(float(os.environ.get("DOCQA_FAKE_READING_S", "1.5")))
    return ui.Services(settings, HashEmbedder(), lambda _chosen: model)


ui.services_factory = fake_services
runpy.run_path(str(ROOT / "streamlit_app.py"), run_name="__main__")
