"""Fair turns at the chat model: each key waits in its own line, and the lines are served round-robin.

Only generation waits here. Search, evidence, listings and uploads never do, so a slow model delays answers,
not the passages they are drawn from. Waiting holds no thread: it is an asyncio future, and the model itself
runs on a small thread pool of its own (one thread per slot), apart from the pool that serves searches.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager


class QueueFull(Exception):
    """Too many questions are waiting already; the client should retry later (HTTP 503)."""


class FairQueue:
    """`slots` turns at a time; a new turn goes to the next waiting key in round-robin order."""

    def __init__(self, slots: int, max_waiting: int) -> None:
        self.slots = slots
        self.max_waiting = max_waiting
        self.running = 0
        self._lines: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self.executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="chat-model")

    @property
    def waiting(self) -> int:
        return sum(len(line) for line in self._lines.values())

    def ahead_of_new(self) -> int:
        """How many questions a newcomer would find waiting or being answered."""
        return self.waiting + self.running

    @asynccontextmanager
    async def turn(self, who: str) -> AsyncIterator[None]:
        """Wait for a turn at the model as `who` (a key id), hold it for the block, then pass it on."""
        if self.running < self.slots and not self._lines:
            self.running += 1
        else:
            if self.waiting >= self.max_waiting:
                raise QueueFull(f"{self.waiting} questions are waiting for the chat model; try again shortly.")
            ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._lines.setdefault(who, deque()).append(ticket)
            try:
                await ticket  # resolved by _hand_over, which counts this turn as running
            except asyncio.CancelledError:
                if ticket.done() and not ticket.cancelled():
                    self._release()  # the turn was handed to us just as the client left: pass it on
                else:
                    self._forget(who, ticket)
                raise
        try:
            yield
        finally:
            self._release()

    def _forget(self, who: str, ticket: asyncio.Future[None]) -> None:
        line = self._lines.get(who)
        if line is not None and ticket in line:
            line.remove(ticket)
            if not line:
                del self._lines[who]

    def _release(self) -> None:
        self.running -= 1
        while self._lines and self.running < self.slots:
            who, line = next(iter(self._lines.items()))
            ticket = line.popleft()
            del self._lines[who]
            if line:
                self._lines[who] = line  # to the back: the other keys go first
            if not ticket.done():
                self.running += 1
                ticket.set_result(None)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
