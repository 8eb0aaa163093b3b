"""The scripted student session, short form, in a real browser on fake models (`scripts/student_session.py`).

It checks what a student would: a reload keeps the chat, switching collections switches chats, no citation
claims its file moved, the answer is in view at 1400×900 and at 420 px, the first sign of answering comes within
1 s, and the quiz survives a summary and exports. Skipped without chromium, unless DOCQA_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.live_app import CHROMIUM
from tests.conftest import ROOT


def test_the_short_student_session_passes_every_check() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("DOCQA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing: run `apt-get install chromium chromium-driver`.")
        pytest.skip(f"{CHROMIUM} is not installed")
    run = subprocess.run(
        [sys.executable, "scripts/student_session.py", "--short", "--screenshot", "docs/study-screenshot.png"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "every check passed" in run.stdout
    assert run.stdout.count(" ok ") >= 20 and "FAIL" not in run.stdout
