"""An answer's tokens read in a worker thread, so the page can say, every moment, that the model is reading.

Between the evidence and the first token the model reads its sources (seconds, on a small CPU). The page's own
thread waits on a queue with a short timeout and shows the elapsed time, and the place in line when other
questions hold the model. Streamlit's Stop interrupts the page's thread; the worker then stops at the next
token and closes the model's stream there (a generator is closed by the thread that runs it).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

_DONE = object()


class Line:
    """The questions waiting for the one chat model of this process, in the order they arrived."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets: list[object] = []

    def join(self) -> object:
        ticket = object()
        with self._lock:
            self._tickets.append(ticket)
        return ticket

    def ahead(self, ticket: object) -> int:
        """How many questions are before this one (0: it is being answered)."""
        with self._lock:
            return self._tickets.index(ticket) if ticket in self._tickets else 0

    def leave(self, ticket: object) -> None:
        with self._lock:
            if ticket in self._tickets:
                self._tickets.remove(ticket)


#: One line per process: the app loads one chat model per process, and it answers one question at a time.
LINE = Line()


class Pump:
    """Iterates `tokens` in a worker thread; `pieces()` yields each piece, or None every `tick` seconds."""

    def __init__(self, tokens: Iterator[str]) -> None:
        self._tokens = tokens
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self.finished = False
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="answer-stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for piece in self._tokens:
                if self._stop.is_set():
                    break
                self._queue.put(piece)
        except Exception as exc:  # handed to the page's thread, which raises it there
            self._queue.put(exc)
        finally:
            close = getattr(self._tokens, "close", None)
            if close is not None:
                close()
            self._queue.put(_DONE)

    def pieces(self, tick: float = 0.25) -> Iterator[str | None]:
        while True:
            try:
                item = self._queue.get(timeout=tick)
            except queue.Empty:
                yield None
                continue
            if item is _DONE:
                self.finished = True
                return
            if isinstance(item, Exception):
                raise item
            yield item

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stop(self) -> None:
        """Ask the worker to stop at the next token; it closes the model's stream itself."""
        self._stop.set()


def waiting_label(elapsed: float, passages: int, ahead: int) -> str:
    if ahead > 0:
        return f"Waiting for the model: {ahead} question{'s' if ahead > 1 else ''} ahead of yours… {elapsed:.0f} s"
    return f"The model is reading {passages} passage{'s' if passages != 1 else ''}… {elapsed:.0f} s"
