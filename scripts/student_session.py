"""A student's session in a real browser, timed and checked: `python scripts/student_session.py [--short]`.

Starts the app on a loopback port (on fake models by default, `--real` for the configured ones) and drives
Debian's chromium through Playwright: uploads documents, asks a standalone question, a follow-up, one the
documents can't answer and a summary question, makes a quiz and answers it, summarizes, reloads, switches
collection and back, exports, and asks again at 420 px. Prints each step's time and what it checked:
  - the first visible sign of answering comes within 1 s of pressing Enter;
  - the answer is visible without scrolling at 1400×900 and at 420 px;
  - a reload keeps the chat, switching collections switches chats, and no citation claims its file moved;
  - the quiz survives a summary and exports as Markdown and as flashcard CSV.
Exits with 1 when a check fails. `tests/test_student_session.py` runs the short form in `make test`.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.live_app import ANSWER_DONE, ANSWERING, ROOT, browser, live_app

DOCS = [
    ROOT / "data" / "docs" / "northwind-handbook.pdf",
    *sorted((ROOT / "data" / "docs" / "course-notes").glob("*.md")),
]
QUESTIONS = [  # (kind, question)
    ("standalone", "How many vacation days do employees get per year?"),
    ("follow-up", "And how many of them can be carried over?"),
    ("unanswerable", "What is the boiling point of tungsten?"),
    ("summary", "Summarize the travel and expenses policy."),
]
MOVED = re.compile(r"no longer where it was indexed|no longer in the collection|has moved")


class Session:
    """The steps of one session: each timed, each with the checks it made."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.figures: dict[str, float] = {}

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - started
        self.figures[name] = seconds
        print(f"{seconds:7.2f} s  {name}", flush=True)
        return result

    def check(self, ok: bool, what: str) -> None:
        print(f"           {'ok  ' if ok else 'FAIL'} {what}", flush=True)
        if not ok:
            self.failures.append(what)


def answer_box(page: Any) -> Any:
    """The latest answer's text (not its evidence): the first paragraph of the last chat message."""
    message = page.get_by_test_id("stChatMessage").last
    return message.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(r"\[\d+\]|don't cover")).first


def in_view(page: Any, element: Any) -> bool | None:
    """Whether `element` is on screen, without scrolling; None when it is already gone."""
    try:
        box = element.bounding_box(timeout=500)
    except Exception:  # Playwright's TimeoutError: the element was replaced meanwhile
        return None
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 60) <= height


#: JavaScript: whether the last chat message, of more than `n`, shows what `pattern` matches (and no Stop button).
LAST_SHOWS = """([n, pattern, finished]) => {
    const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
    const last = messages.length >= n + 2 ? messages[messages.length - 1].innerText : "";
    return new RegExp(pattern).test(last) && !(finished && last.includes("Stop generating"));
}"""

#: JavaScript: whether the latest message's sign of answering ("The model is reading… 2 s") is on screen.
SIGN_IN_VIEW = f"""() => {{
    const last = [...document.querySelectorAll('[data-testid="stChatMessage"]')].pop();
    const sign = last && [...last.querySelectorAll("*")].filter(e => /{ANSWERING}/.test(e.innerText)).pop();
    const box = sign && sign.getBoundingClientRect();
    return !!box && box.top >= 0 && box.bottom <= window.innerHeight;
}}"""


def ask(session: Session, page: Any, kind: str, question: str) -> None:
    before = page.get_by_test_id("stChatMessage").count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    # The first sign: "Searching…", the evidence, "The model is reading…", or (declined at once) the answer itself.
    page.wait_for_function(LAST_SHOWS, arg=[before, f"{ANSWERING}|Evidence: |{ANSWER_DONE}", False], polling=20)
    first_sign = time.perf_counter() - started
    waiting = page.evaluate(f"() => /{ANSWERING}/.test(document.body.innerText)")
    in_sight = settles(page, SIGN_IN_VIEW, 1.0) if waiting else None  # the page may still be scrolling to it
    page.wait_for_function(LAST_SHOWS, arg=[before, ANSWER_DONE, True])
    answered = time.perf_counter() - started
    print(f"{answered:7.2f} s  ask ({kind}): {question}", flush=True)
    session.figures[f"first sign ({kind})"] = first_sign
    session.check(first_sign < 1.0, f"first visible sign of answering after {first_sign:.2f} s (< 1 s)")
    size = f"{page.viewport_size['width']}×{page.viewport_size['height']}"
    if in_sight is not None:  # (a question declined at once has nothing to wait for)
        session.check(in_sight, f"while waiting, the sign that the model is reading is in view at {size}")
    session.check(in_view(page, answer_box(page)), f"the answer is visible without scrolling at {size}")


def settles(page: Any, condition: str, seconds: float = 5.0) -> bool:
    """Whether a JavaScript condition becomes true within `seconds` (the page's last run may still be ending)."""
    try:
        page.wait_for_function(condition, timeout=seconds * 1000)
    except Exception:  # Playwright's TimeoutError
        return False
    return True


def upload(page: Any, files: list[Path]) -> None:
    page.get_by_test_id("stButtonGroup").first.get_by_text("Library", exact=True).click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files([str(f) for f in files])
    page.get_by_role("button", name="Add to index").click()
    for file in files:
        page.get_by_text(re.compile(re.escape(file.name) + r": (indexed|unchanged)")).first.wait_for()


def view(page: Any, name: str) -> None:
    page.get_by_test_id("stButtonGroup").first.get_by_text(name, exact=True).click()


def pick_collection(page: Any, name: str) -> None:
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=name, exact=True).click()
    page.wait_for_timeout(500)


def download(page: Any, label: str) -> str:
    with page.expect_download() as info:
        page.get_by_role("button", name=label).first.click()
    return Path(info.value.path()).read_text(encoding="utf-8")


def run(url: str, short: bool, screenshot: Path | None = None, timeout_s: float = 120) -> Session:
    session = Session()
    docs = DOCS[:2] if short else DOCS
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(timeout_s * 1000)
        session.step("open the app", lambda: (page.goto(url), page.get_by_test_id("stChatInputTextArea").wait_for()))
        session.step(f"upload {len(docs)} documents", lambda: upload(page, docs))
        view(page, "Chat")
        for kind, question in QUESTIONS:
            ask(session, page, kind, question)
        asked = page.get_by_test_id("stChatMessage").count()
        body = page.inner_text("body")
        session.check("Traceback" not in body and "Something went wrong" not in body, "no error on the page")

        view(page, "Study")
        session.step(
            "make a quiz",
            lambda: (
                page.get_by_role("button", name="Make a quiz").click(),
                page.get_by_text(re.compile(r"Score: 0 of \d+|did not write a question")).wait_for(),
            ),
        )
        made = page.get_by_placeholder("Your answer").count()
        session.check(made > 0, f"the quiz has {made} questions, each checked against its passage")
        if made:
            answer_field = page.get_by_placeholder("Your answer").first
            answer_field.fill("27")
            answer_field.press("Enter")
            page.get_by_role("button", name="Check").first.click()
            page.get_by_text(re.compile(r"Score: \d+ of \d+ \(1 answered\)")).wait_for()
        if made and screenshot is not None:  # the interactive quiz, for the README
            page.get_by_test_id("stExpander").filter(has_text="Answer and source").first.click()
            page.wait_for_timeout(500)
            page.screenshot(path=str(screenshot))
        session.step(
            "summarize by section",
            lambda: (
                page.get_by_role("button", name="Summarize by section").click(),
                page.get_by_text(re.compile(r"\d+ sections? summarized")).wait_for(),
            ),
        )
        session.check(
            page.get_by_text(re.compile(r"Score: \d+ of \d+ \(1 answered\)")).count() > 0,
            "the quiz and its score survive the summary",
        )
        quiz_md = session.step("export the quiz (Markdown)", lambda: download(page, "Quiz (Markdown)") if made else "")
        flashcards = session.step("export flashcards (CSV)", lambda: download(page, "Flashcards (CSV)") if made else "")
        cards = list(csv.reader(io.StringIO(flashcards)))
        session.check(quiz_md.startswith("# Quiz") and "**Answer:**" in quiz_md, "the quiz exports as Markdown")
        session.check(len(cards) >= 2 and all(len(row) == 2 for row in cards), f"{len(cards)} flashcards, front,back")

        view(page, "Chat")
        session.step("reload", lambda: (page.reload(), page.get_by_test_id("stChatMessage").nth(asked - 1).wait_for()))
        kept = page.get_by_test_id("stChatMessage").count() == asked and page.get_by_text(QUESTIONS[0][1]).count() > 0
        session.check(kept, "the reload keeps the chat")
        chat = download(page, "Export chat (Markdown)")
        session.check(
            QUESTIONS[0][1] in chat and "\\-" not in chat, "the chat exports as Markdown without needless escapes"
        )

        def switch_away() -> None:
            page.get_by_test_id("stSidebar").get_by_text("New collection").click()
            page.get_by_test_id("stSidebar").get_by_placeholder("e.g. biology notes").fill("biology 101")
            page.get_by_role("button", name="Create collection").click()
            page.get_by_text("has no documents yet").wait_for()

        session.step("create and switch to collection 'biology 101'", switch_away)
        session.check(
            settles(page, "() => !document.querySelector('[data-testid=\"stChatMessage\"]')"),
            "switching collections switches chats",
        )
        session.step(
            "switch back",
            lambda: (pick_collection(page, "default"), page.get_by_test_id("stChatMessage").nth(asked - 1).wait_for()),
        )
        page.get_by_test_id("stChatMessage").nth(1).get_by_test_id("stButtonGroup").locator("button").first.click()
        page.wait_for_timeout(1500)
        session.check(not MOVED.search(page.inner_text("body")), "no citation claims its file moved")

        narrow = chromium.new_page(viewport={"width": 420, "height": 900})
        narrow.set_default_timeout(timeout_s * 1000)
        narrow.goto(page.url)  # the same chat, by its address
        narrow.get_by_test_id("stChatMessage").nth(asked - 1).wait_for()
        ask(session, narrow, "standalone, 420 px", "What is the daily meal allowance when travelling?")
    return session


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="two documents (the form `make test` runs)")
    parser.add_argument("--real", action="store_true", help="the configured embedder and chat model, not fakes")
    parser.add_argument("--model", help="with --real: the chat model, e.g. packaged:smollm2-135m-instruct-q4_1")
    parser.add_argument("--screenshot", type=Path, help="save the study page, with a quiz being answered, here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="student-session-") as scratch:
        env = {
            "DOCQA_INDEX_DIR": f"{scratch}/index",
            "DOCQA_UPLOAD_DIR": f"{scratch}/uploads",
            "DOCQA_MAX_ANSWER_TOKENS": "96",
        }
        if not args.real:
            env |= {"DOCQA_EMBEDDING_MODEL": "hash-bow", "DOCQA_MIN_SCORE": "0.1", "DOCQA_REWRITE_FOLLOWUPS": "true"}
        elif args.model:
            env["DOCQA_CHAT_MODEL"] = args.model
        started = time.perf_counter()
        script = "streamlit_app.py" if args.real else "scripts/fake_app.py"
        with live_app(env, log=Path(scratch) / "app.log", script=script) as url:
            print(f"{time.perf_counter() - started:7.2f} s  start the app ({'real' if args.real else 'fake'} models)")
            session = run(url, args.short, args.screenshot, 900 if args.real else 120)
    print(
        f"{time.perf_counter() - started:7.2f} s  in all; "
        + (f"{len(session.failures)} checks failed" if session.failures else "every check passed")
    )
    return 1 if session.failures else 0


if __name__ == "__main__":
    sys.exit(main())
