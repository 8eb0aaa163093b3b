"""Parsing untrusted files in a worker process with a wall-clock timeout and a memory cap.

PDF parsers are where hostile files bite: infinite loops, decompression bombs, deep recursion. The worker reads
one file at a time; a file that hangs or blows up the memory kills the worker, never the app or the CLI, and is
reported as failed with its reason. The worker is started once and reused, and started again after a kill.

The same worker runs the other work on untrusted files, each an operation named in `OPERATIONS`: "load" (parse a
file), "prepare" (parse, split into passages and flag them: `ingest.prepare`), "render_page" (draw a PDF page or a
slide as a PNG) and "page_pdf" (cut a page out as a PDF): see `ingest.render`.
A request is a JSON frame and a bytes frame; so is a reply. Nothing crosses the pipes as a pickle.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import logging
import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from . import render
from .errors import DocumentError
from .types import Chunk, LoadedDocument, Page

log = logging.getLogger(__name__)


class IsolatedParser:
    """`load(data, source, suffix)`, or any operation by name with `call`, in a worker process, within `timeout`
    seconds and `memory_mb` of memory."""

    def __init__(self, timeout: float = 120.0, memory_mb: int = 2048) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def load(
        self,
        data: bytes,
        source: str,
        *,
        suffix: str,
        max_bytes: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> LoadedDocument:
        """The parsed document, or DocumentError naming the file and why it could not be read. `options` are
        the loader settings (`LoadOptions.to_json`)."""
        request = {"source": source, "suffix": suffix, "max_bytes": max_bytes, "options": options or {}}
        reply, _ = self.call("load", request, data, source=source)
        return _document_from_json(reply["document"])

    def prepare(
        self,
        data: bytes,
        source: str,
        *,
        suffix: str,
        max_bytes: int | None,
        chunker: dict[str, Any],
        options: dict[str, Any] | None = None,
    ) -> tuple[LoadedDocument, list[Chunk]]:
        """Parse, split into passages and flag one file (`ingest.prepare`), all within the worker's limits."""
        request = {
            "source": source,
            "suffix": suffix,
            "max_bytes": max_bytes,
            "chunker": chunker,
            "options": options or {},
        }
        reply, _ = self.call("prepare", request, data, source=source)
        return _document_from_json(reply["document"]), [Chunk.from_json(c) for c in reply["chunks"]]

    def call(
        self,
        op: str,
        request: dict[str, Any],
        data: bytes = b"",
        *,
        source: str,
        timeout: float | None = None,
        doing: str = "reading it",
        worker: str = "the parser",
        timeout_setting: str = "parse_timeout_s",
    ) -> tuple[dict[str, Any], bytes]:
        """Run operation `op` (a name in `OPERATIONS`) on `request` and `data` in the worker, within `timeout`
        seconds (default: this parser's). Its reply and the bytes it sent back, or DocumentError(source, why);
        `doing`, `worker` and `timeout_setting` word that message."""
        timeout = self.timeout if timeout is None else timeout
        with self._lock:
            process = self._ensure_worker()
            assert process.stdin is not None and process.stdout is not None
            try:
                _write_frame(process.stdin, json.dumps({**request, "op": op}).encode())
                _write_frame(process.stdin, data)
                process.stdin.flush()
                deadline = time.monotonic() + timeout
                reply = json.loads(_read_frame(process.stdout, deadline))
                blob = _read_frame(process.stdout, deadline)
            except TimeoutError:
                self._kill()
                raise DocumentError(
                    source,
                    f"{doing} took longer than {timeout:g} s, so it was stopped (a damaged or hostile file?). "
                    f"Raise {timeout_setting} if the file is just very large.",
                ) from None
            except (EOFError, OSError, ValueError):
                code = self._kill()
                raise DocumentError(source, _death_reason(code, self.memory_mb, doing, worker)) from None
        if reply["kind"] == "ok":
            return reply, blob
        if reply["kind"] == "memory":
            raise DocumentError(
                source,
                f"{doing} needed more than {self.memory_mb} MB of memory, so it was stopped (a decompression "
                "bomb?). Raise parse_memory_mb if the file is genuine.",
            )
        raise DocumentError(source, reply["reason"])

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _ensure_worker(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._kill()
        # A fresh interpreter running only this module: nothing of the parent (an app script, threads, locks).
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "ingest.isolate", str(self.memory_mb)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=Path(__file__).resolve().parent.parent,
            )
        except OSError as exc:
            raise DocumentError(
                "(parser)", f"the parsing worker could not be started ({exc.strerror or exc})."
            ) from exc
        assert self._process.stdout is not None
        try:  # the time limit is for parsing, so wait for the worker's imports first
            if _read_frame(self._process.stdout, time.monotonic() + _STARTUP_TIMEOUT) != b"ready":
                raise EOFError
        except (EOFError, TimeoutError, OSError) as exc:
            code = self._kill()
            raise DocumentError(
                "(parser)", f"the parsing worker did not start (exit code {code}); is parse_memory_mb too low?"
            ) from exc
        return self._process

    def _kill(self) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
        code = process.wait(5)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        return code


def _write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(struct.pack(">Q", len(payload)))
    stream.write(payload)


def _read_frame(stream: IO[bytes], deadline: float | None = None) -> bytes:
    """One length-prefixed frame; TimeoutError when `deadline` (monotonic) passes first, EOFError at the end."""
    size = struct.unpack(">Q", _read_exactly(stream, 8, deadline))[0]
    return _read_exactly(stream, size, deadline)


def _read_exactly(stream: IO[bytes], size: int, deadline: float | None) -> bytes:
    chunks, remaining, descriptor = [], size, stream.fileno()
    while remaining:
        if deadline is not None:
            ready, _, _ = select.select([descriptor], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError
        chunk = os.read(descriptor, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


_STARTUP_TIMEOUT = 120.0

_SHARED: dict[tuple[str, float, int], IsolatedParser] = {}
_SHARED_LOCK = threading.Lock()


def shared_parser(timeout: float, memory_mb: int, *, role: str = "parse") -> IsolatedParser:
    """One worker per (role, timeout, memory) for the whole process, closed at exit. Roles keep their own
    workers, so drawing a page never waits behind a two-minute parse of an upload, nor the other way round."""
    with _SHARED_LOCK:
        parser = _SHARED.get((role, timeout, memory_mb))
        if parser is None:
            parser = _SHARED[(role, timeout, memory_mb)] = IsolatedParser(timeout, memory_mb)
        return parser


@atexit.register
def _close_shared() -> None:
    for parser in _SHARED.values():
        parser.close()


def _death_reason(exitcode: int | None, memory_mb: int, doing: str = "reading it", worker: str = "the parser") -> str:
    if exitcode is not None and exitcode < 0:
        return (
            f"{worker} crashed on it (signal {-exitcode}); it may be damaged, or need more than {memory_mb} MB "
            "of memory."
        )
    return f"{worker} stopped unexpectedly while {doing}; the file may be damaged."


# The worker's side -----------------------------------------------------------------------------------------
# An operation takes the request (a JSON object) and the bytes sent with it, and returns the reply's fields and
# the bytes to send back. Registering one is one line in OPERATIONS; raise DocumentError to refuse with a reason.

Operation = Callable[[dict[str, Any], bytes], tuple[dict[str, Any], bytes]]


def _load(request: dict[str, Any], data: bytes) -> tuple[dict[str, Any], bytes]:
    from .load import load_bytes

    options = worker_options(request, time.monotonic())
    document = load_bytes(
        data, request["source"], suffix=request["suffix"], max_bytes=request["max_bytes"], options=options
    )
    return {"document": _document_to_json(document)}, b""


def worker_options(request: dict[str, Any], started: float) -> Any:
    """The request's loader options, with a deadline for optional slow work (OCR) a little inside the parent's
    time limit, so pages left unread are reported instead of the whole file being stopped."""
    from .loaders import LoadOptions

    options = LoadOptions.from_json(request.get("options"))
    budget = request.get("options", {}).get("budget_s")
    if budget:
        options = dataclasses.replace(options, deadline=started + float(budget))
    return options


def _prepare(request: dict[str, Any], data: bytes) -> tuple[dict[str, Any], bytes]:
    from .prepare import prepare

    document, chunks = prepare(request, data)
    return {"document": _document_to_json(document), "chunks": [c.to_json() for c in chunks]}, b""


def _render_page(request: dict[str, Any], _: bytes) -> tuple[dict[str, Any], bytes]:
    return {}, render.draw_page(request["path"], request["page"], request["width"], request["source"])


def _page_pdf(request: dict[str, Any], _: bytes) -> tuple[dict[str, Any], bytes]:
    return {}, render.cut_page(request["path"], request["page"], request["source"])


OPERATIONS: dict[str, Operation] = {
    "load": _load,
    "prepare": _prepare,
    "render_page": _render_page,
    "page_pdf": _page_pdf,
}


def _serve(memory_mb: int) -> None:
    """The worker's loop: cap the memory, then run one request at a time until stdin closes."""
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # failures are reported once per file by the parent
    # The operations' imports come before "ready", so the time limit is for the work alone.
    import pypdfium2  # noqa: F401

    from . import load, ocr, prepare  # noqa: F401

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    _write_frame(replies, b"ready")
    replies.flush()
    while True:
        try:
            request = json.loads(_read_frame(requests))
            data = _read_frame(requests)
        except EOFError:
            return
        blob = b""
        try:
            fields, blob = OPERATIONS[request["op"]](request, data)
            reply: dict[str, Any] = {"kind": "ok", **fields}
        except DocumentError as exc:
            reply = {"kind": "error", "reason": exc.reason}
        except MemoryError:
            reply = {"kind": "memory"}
        except RecursionError:
            reply = {
                "kind": "error",
                "reason": "its structure is nested too deeply to read (a damaged or hostile file?).",
            }
        except Exception as exc:  # a parser bug on a hostile file must not kill the batch
            reply = {"kind": "error", "reason": f"it could not be read ({type(exc).__name__}: {str(exc)[:200]})."}
        del data
        _write_frame(replies, json.dumps(reply, ensure_ascii=False).encode())
        _write_frame(replies, blob)
        replies.flush()
        del blob


def _document_to_json(document: LoadedDocument) -> dict[str, Any]:
    """Results cross the process boundary as JSON, never as pickles."""
    return {
        "source": document.source,
        "doc_id": document.doc_id,
        "title": document.title,
        "pages": [page.to_json() for page in document.pages],
        "size_bytes": document.size_bytes,
        "warnings": document.warnings,
        "loader": document.loader,
    }


def _document_from_json(data: dict[str, Any]) -> LoadedDocument:
    pages = [Page.from_json(page) for page in data["pages"]]
    return LoadedDocument(
        data["source"], data["doc_id"], data["title"], pages, data["size_bytes"], data["warnings"], data["loader"]
    )


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
