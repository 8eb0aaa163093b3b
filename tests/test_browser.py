"""One real browser: Debian's chromium drives the real app (real embedder, the default GGUF) through Playwright.

It uploads the sample handbook, asks a question, waits for the evidence and the answer, opens the cited page,
and saves the screenshot the README shows (the answer, its citation card, and the saved chat in the sidebar).
`make test` installs chromium; without it this test is skipped, unless DOCQA_REQUIRE_BROWSER=1 (set by
`make test`), when it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from scripts.live_app import ANSWER_DONE, CHROMIUM, browser, live_app
from tests.conftest import HANDBOOK, ROOT

SCREENSHOT = ROOT / "docs" / "app-screenshot.png"
pytestmark = pytest.mark.real_models


@pytest.fixture
def chromium_available() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("DOCQA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing: run `apt-get install chromium chromium-driver`.")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium chromium-driver)")


def test_upload_ask_and_see_the_cited_page(chromium_available: None, tmp_path: Path) -> None:
    env = {
        "DOCQA_INDEX_DIR": str(tmp_path / "index"),
        "DOCQA_UPLOAD_DIR": str(tmp_path / "uploads"),
        "DOCQA_MODEL_DIR": str(ROOT / "data" / "models"),  # the default model, assembled once and reused
        "DOCQA_MAX_ANSWER_TOKENS": "48",
    }
    with live_app(env, log=tmp_path / "app.log") as url, browser() as chromium:
        page = chromium.new_page(viewport={"width": 1400, "height": 1500})
        page.set_default_timeout(120_000)
        page.goto(url)
        views = page.get_by_test_id("stButtonGroup").first
        views.get_by_text("Library", exact=True).click()
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(HANDBOOK))
        page.get_by_role("button", name="Add to index").click()
        page.get_by_text("northwind-handbook.pdf: indexed, 10 pages").wait_for()

        views.get_by_text("Chat", exact=True).click()
        question = page.get_by_test_id("stChatInputTextArea")
        question.fill("How many vacation days do employees get per year?")
        started = time.perf_counter()
        question.press("Enter")
        page.get_by_text("Evidence: ").wait_for()
        evidence_s = time.perf_counter() - started
        page.get_by_text(re.compile(ANSWER_DONE)).wait_for(timeout=600_000)
        answer = page.get_by_test_id("stChatMessage").last.inner_text()
        assert "27" in answer, answer

        message = page.get_by_test_id("stChatMessage").last
        assert message.get_by_text(re.compile(ANSWER_DONE)).first.is_visible(), "the answer's citations are in view"
        message.get_by_test_id("stButtonGroup").get_by_text("Northwind Analytics Employee Handbook, p. 3").click()
        page.get_by_text("Page 3", exact=True).wait_for()  # the page, drawn in the card
        page.get_by_role("button", name="Download page 3 (PDF)").wait_for()
        page.get_by_test_id("stSidebar").get_by_text("How many vacation days").first.wait_for()  # the chat, saved
        body = page.inner_text("body")
        assert "Traceback" not in body and "Something went wrong" not in body
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
        shutil.copyfile(tmp_path / "app.png", SCREENSHOT)
        print(f"evidence after {evidence_s:.2f} s; screenshot in {SCREENSHOT}")
