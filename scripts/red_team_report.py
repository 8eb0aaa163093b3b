"""The red team's classes of issue 17, tried against the real library (the red-team part of robustness_report.py).

    python scripts/red_team_report.py        (or: python scripts/robustness_report.py --red-team-only)

Real files in a temporary folder, ingested with the parsing worker on (a hash embedder stands in for the model),
pages drawn by the render worker, the app served on loopback. Per class: cases tried; data lost (an expected text
missing from the index); read outside (a canary from outside the named folder indexed or served); stalls (over the
case's limit plus 5 s: render_timeout_s per page, 60 s per ingest; or a file stopped at parse_timeout_s);
tracebacks (an exception escaping the library, or 'Traceback' on stderr). Exits 1 unless all are 0 and every
class-specific check holds (the notes).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from shutil import which

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from red_team_harness import (  # noqa: E402
    BUDGET_S,
    CANARY,
    Tally,
    case,
    failed,
    missing,
    rss_mb,
    run,
    run_all,
    settings_in,
    table,
    texts,
    write,
)  # fmt: skip

from ingest import DocumentError, Settings, collect_sources, load_bytes, open_index  # noqa: E402
from tests.conftest import HANDBOOK, HashEmbedder, ScriptedChatModel  # noqa: E402


def same_name(t: Tally, scratch: Path) -> None:
    from ingest import IndexStoreError, save_upload
    from ingest.manage import delete_documents

    one, two, stale = settings_in(scratch / "s1"), settings_in(scratch / "s2"), 0
    for where in (scratch / "s1", scratch / "s2"):
        write(where / "A" / "notes.md", "# Notes\n\nApples are red and grow on trees.")
        write(where / "B" / "notes.md", "# Notes\n\nBananas are yellow and grow in bunches.")
    with case(t, "A, then B", BUDGET_S):
        run(t, [scratch / "s1" / "A"], one), run(t, [scratch / "s1" / "B"], one)
        t.lost += missing(one, "Apples", "Bananas")
    run(t, [scratch / "s2" / "A", scratch / "s2" / "B"], two)
    write(scratch / "s2" / "A" / "notes.md", "# Notes\n\nApricots are orange.")
    for number in (1, 2, 3):
        with case(t, f"A and B, A edited, run {number}", BUDGET_S):
            run(t, [scratch / "s2" / "A", scratch / "s2" / "B"], two)
            t.lost += missing(two, "Apricots", "Bananas") + (len(texts(two)) != 2)
            stale += missing(two, "Apples") == 0
    with case(t, "two uploads with one name", BUDGET_S):
        for verdict in ("approved", "rejected"):
            data = f"# Minutes\n\nThe budget was {verdict}.".encode()
            run(t, [save_upload(data, "minutes-march.md", one.upload_dir, 10**6)], one)
        t.lost += missing(one, "approved", "rejected")
    with case(t, "delete by path", BUDGET_S):
        with contextlib.suppress(IndexStoreError):  # the bare name is ambiguous: refused with a message
            t.problems += bool(delete_documents(one, ["notes.md"]))
        removed = delete_documents(one, [str(scratch / "s1" / "A" / "notes.md")])
        t.lost += missing(one, "Bananas", "approved")
        t.problems += [d.source for d in removed] != ["A/notes.md"] or missing(one, "Apples") == 0
    t.problems += stale
    t.notes.append(f"stale text kept {stale}")


def links(t: Tally, scratch: Path) -> None:
    secret = write(scratch / "outside" / "secret.txt", f"The vault code is {CANARY}.")
    write(scratch / "outside" / "folder" / "inner.md", f"# Inner\n\nThe vault code is {CANARY}.")
    plants = {"link to /etc/passwd": ("passwd.txt", "/etc/passwd"), "link to an outside file": ("secret.txt", secret),
              "relative link to ../../outside": ("rel.md", "../../outside/secret.txt"),
              "link to an outside folder": ("linked", secret.parent / "folder"),
              "file swapped for a link after the walk": ("notes.txt", None)}  # fmt: skip
    reported = 0
    for number, (label, (name, target)) in enumerate(plants.items()):
        folder = write(scratch / f"links{number}" / "docs" / "policy.md", "# Policy\n\nVacation is 27 days.").parent
        write(folder / name, "harmless notes") if target is None else (folder / name).symlink_to(target)
        settings = settings_in(folder.parent)
        with case(t, label, BUDGET_S):
            sources = collect_sources([folder])
            if target is None:  # the race: the walk saw a file, the read finds a link
                (folder / name).unlink()
                (folder / name).symlink_to(secret)
            report = run(t, sources, settings)
            joined = " ".join(texts(settings).values())
            t.lost += missing(settings, "27 days")
            t.outside += CANARY in joined or "root:x:" in joined
            reported += report[name].status in ("skipped", "failed") and "link" in report[name].reason
    t.problems += len(plants) - reported
    t.notes.append(f"links reported {reported}/{len(plants)}")


#: name -> (content, a word the index must hold if the file is indexed)
SLOW = {
    "300 KB '# ###…###x' heading line": ("# " + "#" * 300_000 + "xylophone\n", "xylophone"),
    "300 KB of spaces and tabs, then x": (" \t" * 150_000 + "xylophone\n", "xylophone"),
    "3.8 MB of headings": ("".join(f"## Heading {i}\n" for i in range(210_000)), "209999"),
    "nested lists, emphasis, quotes": ("".join("  " * i + f"- item {i}\n" for i in range(1000)) + "*_" * 50_000
                                       + "deepword" + "_*" * 50_000 + "\n" + "> " * 20_000 + "quoted\n", "deepword"),
    "10 MB single line": (" ".join(f"word{i % 997}" for i in range(1_400_000)), "word996"),
}  # fmt: skip
VIA_CLI = ("300 KB '# ###…###x' heading line", "10 MB single line")


def slow_text(t: Tally, scratch: Path) -> None:
    """parse_timeout_s is 30 s here, so that a file the worker has to stop does not hold the report up for long."""
    from tests.test_red_team import _INGEST_WITH_FAKE

    refused = []
    for number, (label, (content, word)) in enumerate(SLOW.items()):
        folder = scratch / f"slow{number}" / "docs"
        write(folder / "hostile.md", content), write(folder / "fine.md", "# Fine\n\nThis file is fine.")
        settings = settings_in(folder.parent, parse_timeout_s=30)
        with case(t, label, BUDGET_S):
            if label in VIA_CLI:  # the command line, so that its tracebacks show too
                env = {**os.environ, "DOCQA_INDEX_DIR": str(settings.index_dir), "DOCQA_PARSE_TIMEOUT_S": "30"}
                done = subprocess.run([sys.executable, "-c", _INGEST_WITH_FAKE, str(folder)], cwd=ROOT, env=env,
                                      capture_output=True, text=True, timeout=2 * BUDGET_S)  # fmt: skip
                t.tracebacks += "Traceback" in done.stderr
                status = next((line for line in done.stdout.splitlines() if line.startswith("hostile.md ")), "")
                t.stalls += "longer than" in status
                failed, settings = " indexed " not in status, Settings(index_dir=settings.index_dir, _env_file=None)  # type: ignore[call-arg]
            else:
                failed = run(t, [folder], settings)["hostile.md"].status == "failed"
            t.lost += missing(settings, "fine") + (not failed and missing(settings, word))
            refused += [label] if failed else []
    t.notes.append(f"{len(VIA_CLI)} via the CLI; refused with a reason: {', '.join(refused) or 'none'}")


def oversized(t: Tally, scratch: Path) -> None:
    settings, growth = settings_in(scratch / "big"), 0.0
    real = int(settings.max_file_mb * 1e6) + 10**6
    cases = [("100 GB sparse", 100 * 10**9), ("1 GB sparse", 10**9), (f"{real / 1e6:.0f} MB of real bytes", real),
             ("a FIFO named on the command line", -1)]  # fmt: skip
    for number, (label, size) in enumerate(cases):
        good = write(scratch / "big" / f"case{number}" / "good.md", f"# Good\n\nGood file number {number} goes in.")
        hostile = good.parent / "hostile.txt"
        if size < 0:
            os.mkfifo(hostile)
        else:
            with hostile.open("wb") as handle:
                for _ in range(size // 1_040_000 + 1 if size == real else 0):
                    handle.write(b"filler words " * 80_000)
                handle.truncate(size)
        before = rss_mb()
        with case(t, label, BUDGET_S):
            report = run(t, [hostile, good] if size < 0 else [good.parent], settings)
            reason = report["hostile.txt"].reason
            t.problems += report["hostile.txt"].status != "failed" or not ("over the" in reason or "FIFO" in reason)
            t.lost += missing(settings, f"number {number}")
        growth = max(growth, rss_mb() - before)
        hostile.unlink()
    t.problems += growth > 100
    t.notes.append(f"peak memory growth {growth:.0f} MB")


SYNC_CHILD = r"""
import json, os, sys
from pathlib import Path
sys.path.insert(0, ".")
from tests.conftest import HashEmbedder
import ingest.__main__ as cli
from ingest import Settings, open_index
cli.embedder_for = lambda settings: HashEmbedder()
folder, mode, simulate = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
(folder / "share").mkdir(parents=True)
(folder / "top.md").write_text("# Top\n\nTopmost alpaca.")
(folder / "share" / "deep.md").write_text("# Deep\n\nDeep badger.")
codes = [cli.main([str(folder), "--quiet"])]
locked = {"folder": folder / "share", "file": folder / "top.md", "root": folder}[mode]
os.chmod(locked, 0)
denied, scandir = not os.access(locked, os.R_OK), os.scandir
def refuse(path):
    if Path(path) == locked:
        raise PermissionError(13, "Permission denied", str(path))
    return scandir(path)
os.scandir = refuse if simulate else scandir
codes.append(cli.main([str(folder), "--sync", "--quiet"]))
os.chmod(locked, 0o755)
text = " ".join(c.text for c in open_index(Settings(), HashEmbedder()).all_chunks())
print("RESULT " + json.dumps({"codes": codes, "text": text, "denied": denied}))
"""


def unreadable(t: Tally, scratch: Path) -> None:
    """As root, chmod denies nothing: the CLI runs as user nobody, on an interpreter nobody may run."""
    python, env, root = sys.executable, dict(os.environ), os.geteuid() == 0
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if root and which("setpriv") else []
    if prefix and not all(p.stat().st_mode & 1 for p in Path(os.path.realpath(python)).parents):
        python, env["PYTHONPATH"] = f"/usr/bin/python3.{sys.version_info.minor}", sysconfig.get_paths()["purelib"]
    simulate = root and not prefix
    os.chmod(scratch.parent, 0o755), os.chmod(scratch, 0o755)
    denied, modes = 0, {"folder": "unreadable subfolder", "file": "unreadable file", "root": "unreadable named folder"}
    for mode, label in modes.items():
        where = scratch / f"sync-{mode}"
        where.mkdir(), os.chmod(where, 0o777)
        with case(t, label, BUDGET_S):
            command = [*prefix, python, "-c", SYNC_CHILD, str(where / "docs"), mode, str(int(simulate))]
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=2 * BUDGET_S,
                                  env=env | {"DOCQA_INDEX_DIR": str(where / "index"), "HOME": str(where)})  # fmt: skip
            t.tracebacks += "Traceback" in done.stderr
            if "RESULT " not in done.stdout:
                raise RuntimeError(f"the --sync run failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.rsplit("RESULT ", 1)[1])
            t.lost += ("Topmost alpaca" not in result["text"]) + ("Deep badger" not in result["text"])
            denied += result["denied"]
            t.problems += mode != "file" and "cannot be listed" not in done.stdout
    with case(t, "the folder came back empty", BUDGET_S):
        settings, gone = settings_in(scratch / "empty"), write(scratch / "empty" / "mnt" / "a.md", "# A\n\nAardvark.")
        run(t, [gone.parent], settings)
        gone.unlink()
        report = run(t, [gone.parent], settings, sync=True)
        t.lost += missing(settings, "Aardvark")
        t.problems += not any("kept" in f.reason for f in report.values())
    how = "(simulated)" if simulate else "as nobody" if prefix else "as this user"
    t.notes.append(f"--sync by the CLI {how}; access really denied {denied}/{len(modes)}")


def render_bombs(t: Tally, scratch: Path) -> None:
    from assistant import evidence
    from ingest.render import MAX_PIXELS, MAX_SIDE_PX
    from tests.test_render import HOSTILE_PAGES, tiny_pdf

    settings = settings_in(scratch / "render")
    hurried = settings.model_copy(update={"render_timeout_s": 1.0})
    for own in (settings, hurried):  # the workers start outside the cases
        with contextlib.suppress(DocumentError):
            evidence.render_page(HANDBOOK, 1, own, width=100)
    before, refused, oversize = rss_mb(), 0, 0
    strokes = tiny_pdf("/MediaBox [0 0 612 792]", b"0 0 m 612 792 l 612 0 m 0 792 l S\n" * 20_000, flate=True)
    pages = [(entries or "no box", tiny_pdf(entries), settings) for entries in HOSTILE_PAGES]
    for number, (label, data, own) in enumerate([*pages, ("20,000 strokes, render_timeout_s=1", strokes, hurried)]):
        path = write(scratch / f"page{number}.pdf", data)
        for op in (evidence.render_page, evidence.page_pdf):
            with case(t, f"{op.__name__} {label}", own.render_timeout_s):
                try:
                    made = op(path, 1, own)
                except DocumentError as exc:
                    refused += 1
                    t.problems += "page 1" not in exc.reason or "Error" in exc.reason
                    t.problems += op is evidence.page_pdf and own is settings  # cutting a page out always works
                    continue
                if op is evidence.render_page:  # the PNG's IHDR: width and height, 4 bytes each
                    width, height = int.from_bytes(made[16:20], "big"), int.from_bytes(made[20:24], "big")
                    oversize += max(width, height) > MAX_SIDE_PX or width * height > MAX_PIXELS
                else:
                    oversize += not made.startswith(b"%PDF-") or len(made) > 10_000
    status = Path(f"/proc/{evidence._renderer(settings)._process.pid}/status").read_text()  # type: ignore[union-attr]
    worker_mb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
    t.problems += oversize + (worker_mb > 500) + (rss_mb() - before > 50)
    t.notes.append(f"refused {refused}, over the caps {oversize}, app +{rss_mb() - before:.0f} MB, "
                   f"worker peak {worker_mb:.0f} MB")  # fmt: skip


def encodings(t: Tally, scratch: Path) -> None:
    from ingest.text import clean_text
    from tests.test_encodings import CASES, PARAGRAPHS

    settings, folder, mojibake, refused = settings_in(scratch), scratch / "docs", 0, 0
    for language, encoding, _ in CASES:
        original = f"# {language}\n\n{PARAGRAPHS[language]}\n\n{PARAGRAPHS[language]}\n"
        with case(t, f"{language} in {encoding}", settings.parse_timeout_s):
            document = load_bytes(original.encode(encoding), f"policy-{language}.md", suffix=".md")
            mojibake += document.pages[0].text != clean_text(original)
        write(folder / f"{language}-{encoding}.txt", PARAGRAPHS[language].encode(encoding))
    for seed in range(5):
        noise = bytes(byte | 0x80 for byte in random.Random(seed).randbytes(4096))  # no NUL: not "binary"
        with case(t, f"random bytes, seed {seed}", settings.parse_timeout_s):
            try:
                load_bytes(noise, "noise.txt", suffix=".txt")
            except DocumentError as exc:
                refused += "could not be recognised" in exc.reason
    write(folder / "noise.txt", noise)
    with case(t, "all of them through the ingest worker", BUDGET_S):
        report = run(t, [folder], settings)
        t.lost += missing(settings, *{PARAGRAPHS[language][:20] for language, _, _ in CASES})
        refused += report["noise.txt"].status == "failed"
    t.problems += mojibake + (6 - refused)
    t.notes.append(f"mojibake {mojibake}, random bytes refused with a message {refused}/6")


def markdown(t: Tally, scratch: Path) -> None:
    from assistant.ui import chat_markdown, safe_markdown
    from tests.test_app_safety import HOSTILE, displayed, live_markdown

    live = 0
    for text in [*HOSTILE, ":a" * 50_000 + "x", "\\" * 100_001 + "*x", "[" * 50_000 + "](" * 50_000]:
        with case(t, repr(text[:30]), 5):
            escaped = safe_markdown(text)
            live += len(live_markdown(escaped))
            t.lost += displayed(escaped) != text
    with case(t, "chat export", 5):
        source = {"number": 1, "citation": "a:red[b].md, p. 3", "text": HOSTILE[2], "cited": True}
        exported = chat_markdown([{"role": "user", "content": HOSTILE[0]},
                                  {"role": "assistant", "content": HOSTILE[1], "sources": [source]}])  # fmt: skip
        live += len(live_markdown(exported))
        t.lost += any(text not in displayed(exported) for text in HOSTILE[:3])
    t.problems += live
    t.notes.append(f"live Markdown constructs {live}")


def host_origin(t: Tally, scratch: Path) -> None:
    from scripts.live_app import free_port, start_app
    from tests.test_app_safety import Trap, get, upgrade

    trap, port, log, accepted, refused = Trap(), free_port(), scratch / "app.log", 0, 0
    env = {name: f"http://127.0.0.1:{trap.port}" for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    env |= {"NO_PROXY": "", "no_proxy": "", "DOCQA_INDEX_DIR": str(scratch / "index"),
            "DOCQA_UPLOAD_DIR": str(scratch / "uploads"), "DOCQA_ALLOWED_HOSTS": '["docs.lan"]'}  # fmt: skip
    app, own = start_app({**os.environ, **env}, port, log), f"127.0.0.1:{port}"
    try:
        for path in ("/", "/_stcore/health", "/_stcore/host-config", "/media/x.png"):
            for forged in (f"attacker.example:{port}", "attacker.example", f"localhost:{port + 1}", f"{own}@x"):
                with case(t, f"GET {path} with Host {forged}", 10):
                    accepted += get(port, path, forged) != 403
        for host, origin in [(f"attacker.example:{port}", f"http://attacker.example:{port}"),
                             (f"attacker.example:{port}", None), (own, "http://localhost:9999"), (own, "null"),
                             (own, f"http://127.0.0.1:{port + 1}"), (own, "http://attacker.example")]:  # fmt: skip
            with case(t, f"WebSocket upgrade, Host {host}, Origin {origin}", 10):
                accepted += upgrade(port, host, origin) != 403
        for host in (own, f"localhost:{port}"):
            with case(t, f"WebSocket upgrade from {host} itself", 10):
                refused += upgrade(port, host, f"http://{host}") != 101
        for origin in (f"http://[::1]:{port}", f"http://docs.lan:{port}"):  # Streamlit checks these cross-origin
            with case(t, f"WebSocket upgrade, Origin {origin}", 10):
                upgrade(port, own, origin)
        for path in ("/../../../../etc/passwd", "/media/..%2f..%2f..%2fetc%2fpasswd", "/app/static/../../etc/passwd",
                     "/static/..%2F..%2F..%2F..%2Fetc/passwd", "//etc/passwd"):  # fmt: skip
            with case(t, f"GET {path}", 10):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", path, headers={"Host": own})
                t.outside += b"root:x:" in connection.getresponse().read()
                connection.close()
        time.sleep(3)  # Streamlit's address lookup has a 1 s timeout per URL: by now it would have reached the trap
    finally:
        app.terminate()
        app.wait(30)
    t.tracebacks += log.read_text(errors="replace").count("Traceback")
    t.problems += accepted + refused + len(trap.requests)
    t.notes.append(f"forged accepted {accepted}, own refused {refused}, outside lookups {len(trap.requests)}")


def injection(t: Tally, scratch: Path) -> None:
    from assistant import Assistant
    from assistant.prompt import _TAG
    from ingest.instructions import METADATA_KEY, chunk_instruction_reasons
    from tests.test_instructions import ATTACKS, INJECTION

    def prompted(settings: Settings) -> tuple[int, int]:
        """(flagged passages that reached a prompt, flagged passages), each attack's question asked once."""
        store, model = open_index(settings, HashEmbedder()), ScriptedChatModel()
        assistant = Assistant(settings, HashEmbedder(), store, model)
        for attack in ATTACKS:
            with case(t, attack["file"], 30):
                assistant.ask(attack["question"]).consume()
        prompts = "\n".join(m["content"] for prompt in model.prompts for m in prompt)
        flagged = [_TAG.sub("", c.text) for c in store.all_chunks() if chunk_instruction_reasons(c)]
        return sum(passage in prompts for passage in flagged), len(flagged)

    settings = settings_in(scratch)
    with case(t, "ingest the attack set and the handbook", BUDGET_S):
        run(t, [HANDBOOK, INJECTION], settings)
    indexed = {Path(source).name for source in texts(settings)}
    marked = {
        Path(c.source).name for c in open_index(settings, HashEmbedder()).all_chunks() if c.metadata.get(METADATA_KEY)
    }
    hard, every = {a["file"] for a in ATTACKS if a["hard"]}, {a["file"] for a in ATTACKS}
    t.lost += len(every - indexed) + ("northwind-handbook.pdf" not in indexed)
    reached, flagged = prompted(settings)
    baseline = prompted(settings.model_copy(update={"include_instruction_passages": True}))[0]
    t.problems += len(every - hard - marked) + reached + (baseline == 0)  # the baseline shows the check can see
    t.notes.append(f"flagged at ingest {len(marked & every)}/{len(every)} (unflagged: {len(hard - marked)} hard, "
                   f"{len(every - hard - marked)} others); flagged passages in a prompt {reached}/{flagged} "
                   f"({baseline} with include_instruction_passages)")  # fmt: skip


#: Shown in this order; the classes that measure memory run first, before anything else raises the peak.
CLASSES = {"same-name files": same_name, "symlinks out of the folder": links, "slow regex & structure": slow_text,
           "oversized & sparse files": oversized, "unreadable folders, --sync": unreadable,
           "page-render bombs": render_bombs, "legacy encodings": encodings,
           "Streamlit Markdown extensions": markdown, "Host/Origin checks": host_origin,
           "injection documents": injection}  # fmt: skip


def main() -> int:
    from ingest.quiet import quiet_third_party_output

    quiet_third_party_output()
    tallies = run_all(CLASSES)
    print("\n" + table(tallies))
    return int(failed(tallies))


if __name__ == "__main__":
    sys.exit(main())
