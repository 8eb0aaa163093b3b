"""Load on the team server: N concurrent clients on loopback ask, search and open evidence at once.

Each client, in each round, streams a chat answer with the official `openai` client, and meanwhile searches
and fetches a page image with plain HTTP. Printed: throughput, p50/p95 time to the evidence (the first chunk
of a streamed answer, which carries the sources, and a plain search) and to the first token, and errors.

    .venv/bin/python scripts/load_api.py --clients 16                  # starts its own server, small model
    .venv/bin/python scripts/load_api.py --url http://127.0.0.1:8000 --key dq_... --collection default
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
from openai import OpenAI

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "How many vacation days do employees get?",
    "What is the policy on remote work?",
    "How are travel expenses reimbursed?",
    "What happens during the probation period?",
    "How much parental leave is there?",
    "Who approves overtime?",
]


class Results:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def add(self, name: str, seconds: float) -> None:
        with self.lock:
            self.times[name].append(seconds)

    def fail(self, what: str, exc: BaseException) -> None:
        with self.lock:
            self.errors.append(f"{what}: {type(exc).__name__}: {str(exc)[:160]}")


def client_loop(number: int, url: str, key: str, collection: str, rounds: int, max_tokens: int, out: Results) -> None:
    chat = OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=900)
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120)
    for round_ in range(rounds):
        question = QUESTIONS[(number + round_) % len(QUESTIONS)]
        searcher = threading.Thread(target=evidence, args=(http, collection, question, out))
        started = time.perf_counter()
        try:
            stream = chat.chat.completions.create(
                model=f"docs:{collection}",
                messages=[{"role": "user", "content": question}],
                stream=True,
                max_tokens=max_tokens,
            )
            first_token, evidence_seen = None, False
            for chunk in stream:
                if "sources" in (chunk.model_extra or {}) and not evidence_seen:
                    out.add("chat: time to evidence", time.perf_counter() - started)
                    evidence_seen = True
                    searcher.start()  # search and open a page while this answer waits for the model
                if chunk.choices and chunk.choices[0].delta.content and first_token is None:
                    first_token = time.perf_counter() - started
                    out.add("chat: time to first token", first_token)
            out.add("chat: whole answer", time.perf_counter() - started)
        except Exception as exc:
            out.fail("chat", exc)
        if searcher.ident is not None:
            searcher.join()


def evidence(http: httpx.Client, collection: str, question: str, out: Results) -> None:
    started = time.perf_counter()
    try:
        found = http.post(f"/v1/collections/{collection}/search", json={"query": question})
        found.raise_for_status()
        out.add("search: time to evidence", time.perf_counter() - started)
        sources = [s for s in found.json()["sources"] if s["page"]]
        if sources:
            started = time.perf_counter()
            page = http.get(
                f"/v1/collections/{collection}/documents/{sources[0]['doc_id']}/pages/{sources[0]['page']}/image"
            )
            page.raise_for_status()
            out.add("page image", time.perf_counter() - started)
    except Exception as exc:
        out.fail("search/evidence", exc)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def own_server(model: str, max_tokens: int) -> tuple[subprocess.Popen[bytes], str, str, str]:
    """Index the sample documents in a temporary folder, make a key, and start the server on a free port."""
    import socket

    work = Path(tempfile.mkdtemp(prefix="load-api-"))
    env = {
        **os.environ,
        "DOCQA_INDEX_DIR": str(work / "index"),
        "DOCQA_UPLOAD_DIR": str(work / "uploads"),
        "DOCQA_CHAT_MODEL": model,
        "DOCQA_MAX_ANSWER_TOKENS": str(max_tokens),
        "DOCQA_CONTEXT_SIZE": "2048",
    }
    python = sys.executable
    subprocess.run([python, "-m", "ingest", str(ROOT / "data" / "docs")], env=env, check=True, capture_output=True)
    made = subprocess.run(
        [python, "-m", "assistant.server", "keys", "create", "--name", "load", "--collections", "default"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = made.stdout.split("keep it secret): ")[1].strip()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [python, "-m", "assistant.server", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    return process, url, key, "default"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="questions per client")
    parser.add_argument("--max-tokens", type=int, default=32, help="answer length per question")
    parser.add_argument("--model", default="packaged:smollm2-135m-instruct-q4_1", help="chat model of its own server")
    parser.add_argument("--url", help="an already running server (else one is started)")
    parser.add_argument("--key", default="")
    parser.add_argument("--collection", default="default")
    args = parser.parse_args()
    process = None
    if args.url:
        url, key, collection = args.url.rstrip("/"), args.key, args.collection
    else:
        process, url, key, collection = own_server(args.model, args.max_tokens)
    try:
        # Warm up: load the chat model once, so the figures are of serving, not of loading.
        OpenAI(base_url=f"{url}/v1", api_key=key or "none", max_retries=0, timeout=900).chat.completions.create(
            model=f"docs:{collection}", messages=[{"role": "user", "content": QUESTIONS[0]}], max_tokens=4
        )
        out = Results()
        started = time.perf_counter()
        threads = [
            threading.Thread(
                target=client_loop, args=(n, url, key or "none", collection, args.rounds, args.max_tokens, out)
            )
            for n in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    answers = len(out.times["chat: whole answer"])
    requests = sum(
        len(v) for k, v in out.times.items() if k not in ("chat: time to first token", "chat: time to evidence")
    )
    print(f"{args.clients} clients x {args.rounds} rounds against {url} ({args.max_tokens}-token answers)")
    print(
        f"wall time {elapsed:.1f} s; answers {answers} ({answers / elapsed * 60:.1f}/min); "
        f"requests {requests} ({requests / elapsed:.2f}/s)"
    )
    for name in sorted(out.times):
        values = out.times[name]
        print(
            f"  {name:28} n={len(values):3}  p50 {statistics.median(values):6.2f} s  "
            f"p95 {percentile(values, 0.95):6.2f} s  max {max(values):6.2f} s"
        )
    print(f"errors: {len(out.errors)}")
    for error in out.errors[:10]:
        print(f"  {error}")
    return 1 if out.errors else 0


if __name__ == "__main__":
    sys.exit(main())
