"""What the coach sends the facilitator, in order, by one task of its own: the pipeline never waits for the network.

A hint streams as many partial messages (the move's words, then the summary word by word). When the link or the
machine is slow they would queue, and the finished hint would wait behind words already out of date. So the queue
merges: partials of one hint still waiting become one, with the newer fields winning (the page merges them the same
way), and a finished hint replaces its own waiting partials. The queue is bounded: past `max_items`, the oldest
partial goes first, then the oldest message of any kind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Awaitable, Callable

log = logging.getLogger("coach.outbox")

Send = Callable[[str, dict], Awaitable[None]]


def _hint_id(topic: str, payload: dict, hint_topic: str):
    return payload.get("id") if topic == hint_topic else None


class Outbox:
    def __init__(self, send: Send, hint_topic: str, max_items: int = 256):
        self._send, self._hint_topic, self.max_items = send, hint_topic, max_items
        self._queue: deque[tuple[str, dict]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.merged = self.dropped = 0
        self._task = asyncio.get_running_loop().create_task(self._run())

    def put(self, topic: str, payload: dict) -> None:
        hint = _hint_id(topic, payload, self._hint_topic)
        if hint is not None and self._queue:
            if payload.get("partial"):
                last_topic, last = self._queue[-1]
                if last.get("partial") and _hint_id(last_topic, last, self._hint_topic) == hint:
                    last.update({k: v for k, v in payload.items() if v is not None})
                    self.merged += 1
                    return
            else:  # the finished hint (or its withdrawal) says everything its waiting partials would
                kept = [(t, p) for t, p in self._queue
                        if not (p.get("partial") and _hint_id(t, p, self._hint_topic) == hint)]
                self.merged += len(self._queue) - len(kept)
                self._queue = deque(kept)
        self._queue.append((topic, dict(payload)))
        while len(self._queue) > self.max_items:
            partial = next((i for i, (_, p) in enumerate(self._queue) if p.get("partial")), 0)
            del self._queue[partial]
            self.dropped += 1
        self._idle.clear()
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                topic, payload = self._queue.popleft()
                try:
                    await self._send(topic, payload)
                except Exception as e:  # one lost message must not stop the rest: the history still has it
                    log.warning("sending a %s message failed: %s", topic, type(e).__name__)
            self._idle.set()

    async def flush(self, timeout_s: float = 2.0) -> None:
        """Wait until everything queued so far is sent (or `timeout_s` passes)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except asyncio.TimeoutError:
            log.info("%d messages to the facilitator still unsent", len(self._queue))

    async def aclose(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._queue.clear()
