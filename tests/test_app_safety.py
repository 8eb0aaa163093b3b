"""What a document can make the app show, and who the app's server answers to.

- `safe_markdown`: text from documents or the model is shown literally, also Streamlit's own Markdown extensions
  (emoji and Material icon shortcodes, colored-text directives, LaTeX, autolinked URLs and e-mail addresses),
  checked on the helper, in the app (AppTest) and in a real browser against Streamlit's renderer.
- The real server (`streamlit run streamlit_app.py`) refuses a forged Host (DNS rebinding) and other origins,
  also `http://localhost` on another port, and never asks the internet for its address.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assistant.hostcheck import AllowList
from assistant.ui import JOINER, chat_markdown, safe_markdown
from ingest import Settings, collect_sources, ingest
from scripts.live_app import CHROMIUM, browser, free_port, start_app
from tests.conftest import ROOT, HashEmbedder
from tests.test_app import app_env, run_app  # noqa: F401 - app_env: the fixture that gives the app fakes

HOSTILE = [
    "root:x:0:0 and :man: and :+1: and :streamlit: and :smile:",
    "Mail alice@example.com or see https://evil.example/x.png and www.evil.example/y",
    ":material/warning: then :red[secret] then :blue-background[hidden] then :small[tiny] then :violet-badge[b]",
    "It costs $5 and $10, or $x^2$; <b>bold</b> <img src=x> &lt; &#58; <https://evil.example>",
    "![leak](https://evil.example/p.png) [click](javascript:alert(1)) **not bold** _not italic_ ~~no~~ `no code`",
    "- not a list",
    "1. not a list",
    "# not a heading",
    "> not a quote",
    "a | b",
    "step-back, snake_case_name, C# 10:30 p. 3 \\* \\",
    "First line\n---",
]
#: Markdown that would still do something: an unescaped special character, or ':', '@', 'www.' left joined.
_LIVE = re.compile(rf"(?<!\\)(?:\\\\)*[`*\[\]<|~$]|[:@][^\s{JOINER}]|(?i:www)\.|https?://")


def displayed(markdown: str) -> str:
    """What a Markdown renderer shows for text that `safe_markdown` escaped: escapes resolved, joiners unseen."""
    shown = re.sub(r"\\([!-/:-@\[-`{-~])|&lt;", lambda m: m.group(1) or "<", markdown)
    return shown.replace(JOINER, "").replace("  \n", "\n")


def live_markdown(markdown: str) -> list[str]:
    return [m.group() for m in _LIVE.finditer(markdown)]


# The helper -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_safe_markdown_shows_text_literally_and_leaves_nothing_live(text: str) -> None:
    escaped = safe_markdown(text)
    assert displayed(escaped) == text
    assert live_markdown(escaped) == [], escaped
    assert not re.search(r":[\w+-]+:", escaped), "no emoji or icon shortcode"
    assert not re.search(r":[a-z-]+\\?\[", escaped), "no colored-text directive"
    assert not re.search(r"[\w.+-]+@[\w-]+\.\w", escaped), "no e-mail autolink"


def test_safe_markdown_breaks_block_syntax_at_every_line_start() -> None:
    escaped = safe_markdown("intro\n- item\n  2) item\n# title\n> quote\n===\n+ plus")
    assert escaped.split("  \n") == ["intro", "\\- item", "  2\\) item", "\\# title", "\\> quote", "\\===", "\\+ plus"]


def test_safe_markdown_escapes_only_what_could_act() -> None:
    prose = "A step-back (see p. 3, 'Rules'); it's 10 % more! snake_case stays. Note: done."
    assert safe_markdown(prose) == prose


def test_the_export_is_safe_and_without_needless_escapes() -> None:
    passage = ":material/warning: <img src=x> alice@example.com"
    messages = [
        {"role": "user", "content": "What about root:x:0:0?"},
        {
            "role": "assistant",
            "content": "Write to :red[them], a step-back [1]",
            "sources": [{"number": 1, "citation": "a:red[b].md, p. 3", "text": passage, "cited": True}],
        },
    ]
    text = chat_markdown(messages)
    assert live_markdown(text) == [], text
    shown = displayed(text)
    assert "## What about root:x:0:0?" in shown and "Write to :red[them], a step-back [1]" in shown
    assert f"- [1] a:red[b].md, p. 3\n  > {passage}" in shown
    assert "step-back" in text and "p. 3" in text, "no needless escapes"


# The app, headless ----------------------------------------------------------------------------------------


def strip_app_markup(markdown: str) -> str:
    """Without the app's own Markdown: bold citation titles and highlighted sentences."""
    return re.sub(r":orange-background\[((?:\\.|[^\]\\])*)\]", r"\1", markdown).replace("**", "")


@pytest.mark.usefixtures("app_env")
def test_streamlit_markdown_extensions_in_documents_are_shown_literally(settings: Settings, tmp_path: Path) -> None:
    """Emoji and icon shortcodes, colored text, autolinks: the passage, its file name, its title and the answer, as
    written."""
    hostile = (
        "The account line is root:x:0:0 and the contact is alice@example.com for :material/warning: alerts, "
        "marked :red[secret] with a logo at https://evil.example/x.png and www.evil.example today."
    )
    notes = tmp_path / "team:x: alice@example.com.md"
    notes.write_text(f"# Account contact\n{hostile}")
    ingest(collect_sources([notes]), settings, HashEmbedder())
    app = run_app()
    app.chat_input[0].set_value("Who is the account contact for alerts?").run()
    evidence = next(e for e in app.expander if e.label.startswith("Evidence"))
    passages = strip_app_markup("\n".join(m.value for m in evidence.markdown))
    assert live_markdown(passages) == [] and hostile[:150] in displayed(passages), "in brief, under the answer"
    app.button_group(key="cite-1").set_value(1).run()
    assert not app.exception
    raw = strip_app_markup("\n".join(m.value for m in app.markdown))
    assert live_markdown(raw) == [], "nothing Streamlit would turn into something"
    shown = displayed(raw)
    assert shown.count(hostile) == 2, "in the answer (which quotes it) and in the source card"
    assert "[1] Account contact" in shown, "cited by its title, its first heading"
    captions = "\n".join(c.value for c in app.caption)
    assert "File: team:x: alice@example.com.md" in displayed(captions) and not live_markdown(captions)
    (option,) = app.button_group(key="cite-1").options
    assert displayed(option) == "[1] Account contact" and not live_markdown(option)


# The real renderer: Streamlit's Markdown in Debian's chromium ----------------------------------------------

PAGE = """
import json, os
import streamlit as st
from assistant.ui import safe_markdown
for text in json.loads(os.environ["SAMPLES"]):
    st.markdown(safe_markdown(text))
    st.markdown(f":orange-background[{safe_markdown(text)}]")  # as the app highlights a matching sentence
"""


@contextmanager
def serve(script: Path, env: dict[str, str], log: Path) -> Iterator[int]:
    """`streamlit run script` from the project folder (so with its config) on a free loopback port."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)]
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield port
    finally:
        server.terminate()
        server.wait(30)


def test_the_browser_shows_hostile_text_literally(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("DOCQA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing: run `apt-get install chromium chromium-driver`.")
        pytest.skip(f"{CHROMIUM} is not installed")
    script = tmp_path / "page.py"
    script.write_text(PAGE)
    env = {"SAMPLES": json.dumps(HOSTILE), "PYTHONPATH": str(ROOT)}
    with serve(script, env, tmp_path / "page.log") as port, browser() as chromium:
        page = chromium.new_page()
        page.goto(f"http://127.0.0.1:{port}")
        boxes = page.get_by_test_id("stMarkdownContainer")
        boxes.nth(2 * len(HOSTILE) - 1).wait_for(timeout=60_000)
        shown = [" ".join(t.replace(JOINER, "").split()) for t in boxes.all_inner_texts()]
        assert shown == [" ".join(t.split()) for t in HOSTILE for _ in (1, 2)]
        made = ':is(a, img, b, em, del, code, ul, ol, h1, blockquote, table, .katex, [data-testid="stIconMaterial"])'
        assert page.locator(f'[data-testid="stMarkdownContainer"] {made}').count() == 0, "only text, highlighted"


# The real server: Host and Origin checks, no lookups -------------------------------------------------------


class Trap:
    """A local HTTP proxy that answers nothing and records every request sent to it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                self.requests.append(connection.recv(4096).split(b"\r\n", 1)[0].decode("latin-1"))


def get(port: int, path: str, host: str, origin: str | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Host": host} | ({"Origin": origin} if origin else {}))
    status = connection.getresponse().status
    connection.close()
    return status


def upgrade(port: int, host: str, origin: str | None = None) -> int:
    """The status of a WebSocket handshake on the app's stream: 101 accepted, 403 refused."""
    lines = ["GET /_stcore/stream HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]  # fmt: skip
    lines += [f"Origin: {origin}"] if origin else []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as stream:
        stream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return int(stream.recv(4096).split(b" ", 2)[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Trap]]:
    """The app on a free loopback port; any outbound HTTP(S) it tries goes to the trap instead of the internet."""
    folder = tmp_path_factory.mktemp("served")
    trap = Trap()
    proxy = f"http://127.0.0.1:{trap.port}"
    env = {name: proxy for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")}
    env |= {"NO_PROXY": "", "no_proxy": "", "DOCQA_INDEX_DIR": str(folder / "index")}
    env |= {"DOCQA_UPLOAD_DIR": str(folder / "uploads"), "DOCQA_ALLOWED_HOSTS": '["docs.lan"]'}
    port = free_port()
    app = start_app({**os.environ, **env}, port, folder / "app.log")
    try:
        yield port, trap
    finally:
        app.terminate()
        app.wait(30)


def test_the_server_answers_its_own_address_only(served: tuple[int, Trap]) -> None:
    port, _ = served
    for own in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"docs.lan:{port}", "docs.lan"):
        assert get(port, "/_stcore/health", own) == 200, own
    assert get(port, "/", f"127.0.0.1:{port}") == 200
    for path in ("/", "/_stcore/health", "/_stcore/host-config", "/media/x.png"):
        for forged in (f"attacker.example:{port}", "attacker.example", f"localhost:{port + 1}", f"127.0.0.1:{port}@x"):
            assert get(port, path, forged) == 403, (path, forged)


def test_the_stream_refuses_other_hosts_and_origins(served: tuple[int, Trap]) -> None:
    port, _ = served
    own = f"127.0.0.1:{port}"
    assert upgrade(port, own, f"http://{own}") == 101
    assert upgrade(port, f"localhost:{port}", f"http://localhost:{port}") == 101
    assert upgrade(port, f"attacker.example:{port}", f"http://attacker.example:{port}") == 403  # DNS rebinding
    assert upgrade(port, f"attacker.example:{port}") == 403
    for origin in ("http://localhost:9999", f"http://attacker.example:{port}", "null", f"http://127.0.0.1:{port + 1}"):
        assert upgrade(port, own, origin) == 403, origin
    assert get(port, "/_stcore/health", own, origin="http://localhost:9999") == 403


def test_nothing_is_looked_up_on_the_internet(served: tuple[int, Trap]) -> None:
    """Streamlit asks checkip.amazonaws.com when it checks a cross-origin WebSocket: through the trap, it would show."""
    port, trap = served
    upgrade(port, f"127.0.0.1:{port}", "http://attacker.example")  # refused
    upgrade(port, f"127.0.0.1:{port}", f"http://[::1]:{port}")  # allowed, but a cross-origin check for Streamlit
    upgrade(port, f"127.0.0.1:{port}", f"http://docs.lan:{port}")
    time.sleep(3)  # Streamlit's lookup has a 1 s timeout per URL
    assert trap.requests == []


def test_allowed_hosts_follow_the_configured_address() -> None:
    loopback = AllowList.build("127.0.0.1", 8501)
    assert loopback.allows("localhost:8501", "http") and loopback.allows("[::1]:8501", "http")
    assert not loopback.allows("localhost:8502", "http") and not loopback.allows("192.168.1.5:8501", "http")
    lan = AllowList.build("192.168.1.5", 8501)
    assert lan.allows("192.168.1.5:8501", "http") and not lan.allows("docs.lan:8501", "http")
    wildcard = AllowList.build("0.0.0.0", 8501, ["docs.lan:8501", "proxy.example"])
    assert not wildcard.allows("0.0.0.0:8501", "http") and wildcard.allows("docs.lan:8501", "http")
    assert not wildcard.allows("docs.lan:9000", "http") and wildcard.allows("proxy.example", "https")
    assert wildcard.allows_origin("https://proxy.example") and not wildcard.allows_origin("http://docs.lan:9000")
