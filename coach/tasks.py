"""Every asyncio task a long-lived object starts, kept until it ends, its failure logged: none is fire-and-forget."""

from __future__ import annotations

import asyncio
import logging
from typing import Coroutine

log = logging.getLogger("coach.tasks")


class TaskSet:
    def __init__(self, owner: str):
        self._owner = owner
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coro: Coroutine, what: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=f"{self._owner}: {what}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("%s failed", task.get_name(), exc_info=error)

    def __len__(self) -> int:
        return len(self._tasks)

    async def aclose(self, timeout: float = 5.0) -> None:
        """Cancel what still runs and wait for it (bounded: a task that ignores cancellation cannot hold shutdown)."""
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
