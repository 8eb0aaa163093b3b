"""The real app on a loopback port, and Debian's chromium to drive it: shared by the browser test and scripts.

    with live_app(env) as url:
        with browser() as chromium: ...

Chromium comes from `apt-get install chromium chromium-driver` (`make test` installs it); Playwright never
downloads a browser here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
#: Questions the sample documents in data/docs answer, one fact each.
QUESTIONS = [
    "How many vacation days do employees get per year?",
    "What is the daily meal allowance when travelling?",
    "How long must passwords be?",
    "How long is parental leave?",
    "What are the core working hours?",
    "What is the notice period when leaving the company?",
    "How much does Northwind contribute to the pension?",
    "When was Northwind Analytics founded?",
]
#: Text the app shows once an answer has finished (the citation buttons under it).
ANSWER_DONE = "Sources: pick one|Passages given to the model|The documents don't cover"
#: Text the app shows from the moment a question is sent until its answer begins.
ANSWERING = "Searching your documents|The model is reading|Waiting for the model"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_app(
    env: dict[str, str], port: int, log: Path | None = None, script: str = "streamlit_app.py"
) -> subprocess.Popen[bytes]:
    """`streamlit run streamlit_app.py` (or `script`, e.g. the app on fake models) on 127.0.0.1:`port`, returned
    once its health check answers."""
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
               "--server.headless", "true"]  # fmt: skip
    output = log.open("wb") if log else subprocess.DEVNULL
    app = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise RuntimeError(f"The app exited with code {app.returncode}" + (f"; see {log}" if log else ""))
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return app
        except OSError:
            time.sleep(0.5)
    app.kill()
    raise RuntimeError("The app did not start within 120 s.")


@contextmanager
def live_app(env: dict[str, str], log: Path | None = None, script: str = "streamlit_app.py") -> Iterator[str]:
    """The app running with `env` (on top of this process's environment); yields its URL."""
    port = free_port()
    app = start_app({**os.environ, **env}, port, log, script)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.terminate()
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()


@contextmanager
def browser() -> Iterator[Any]:
    """Headless Debian chromium through Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
