"""One worker per model. A job is `fn(emit, cancelled) -> result`; its progress comes back as timed updates.

ThreadWorker runs jobs on its own thread, for live sessions and real-time replay. SimWorker runs each job at once
on the caller's thread and places its updates on a virtual audio clock (as if the worker had its own core), so a
recording can be replayed faster than real time with latencies that mean the same thing.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol

Emit = Callable[[Any], None]
JobFn = Callable[[Emit, Callable[[], bool]], Any]


@dataclass(frozen=True, order=True)
class Update:
    t: float  # audio-clock time at which the update exists
    seq: int
    job: int = field(compare=False)
    kind: Literal["partial", "done", "error"] = field(compare=False)
    value: Any = field(compare=False)


class Worker(Protocol):
    def submit(self, fn: JobFn, t: float) -> int: ...

    def cancel(self, job: int, t: float | None = None) -> None:
        """Stop `job` (at audio time `t`, when known): its later updates never come."""

    def peek(self) -> float | None:
        """Audio time of the earliest update available, or None."""

    def pop(self) -> Update: ...

    def close(self) -> None: ...


_seq = itertools.count()


class SimWorker:
    def __init__(self, name: str, stoppable: bool = False):
        self.name = name
        self.stoppable = stoppable  # the model stops between steps when cancelled (llama.cpp: yes; Whisper: no)
        self._free_at = 0.0
        self._ids = itertools.count(1)
        self._pending: list[Update] = []
        self._last: tuple[int, float] | None = None  # (job, start) of the latest job: only it can be cut short

    def submit(self, fn: JobFn, t: float) -> int:
        job = next(self._ids)
        start = max(t, self._free_at)
        t0 = time.perf_counter()

        def emit(value: Any) -> None:
            heapq.heappush(self._pending, Update(start + time.perf_counter() - t0, next(_seq), job, "partial", value))

        try:
            result, kind = fn(emit, lambda: False), "done"
        except Exception as e:  # delivered as an update: one failed job must not stop the stream
            result, kind = e, "error"
        self._free_at = start + time.perf_counter() - t0
        self._last = (job, start)
        heapq.heappush(self._pending, Update(self._free_at, next(_seq), job, kind, result))
        return job

    def cancel(self, job: int, t: float | None = None) -> None:
        """Jobs have already run; drop the updates of this one that are still in the future. A stoppable model
        stops a cancelled job at its next step, so the worker is free again from `t` on, not from the job's end."""
        self._pending = [u for u in self._pending if u.job != job]
        heapq.heapify(self._pending)
        if self.stoppable and t is not None and self._last and self._last[0] == job and t < self._free_at:
            self._free_at = max(self._last[1], t)

    def peek(self) -> float | None:
        return self._pending[0].t if self._pending else None

    def pop(self) -> Update:
        return heapq.heappop(self._pending)

    def close(self) -> None:
        self._pending.clear()


class ThreadWorker:
    """A single dedicated thread, so one model is never used by two calls at once."""

    def __init__(self, name: str, clock: Callable[[], float], notify: Callable[[], None] | None = None):
        self.name = name
        self._clock = clock
        self._notify = notify or (lambda: None)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"coach-{name}")
        self._ids = itertools.count(1)
        self._updates: queue.SimpleQueue[Update] = queue.SimpleQueue()
        self._cancelled: set[int] = set()
        self._ready: deque[Update] = deque()
        self._closing = False

    def submit(self, fn: JobFn, t: float) -> int:
        job = next(self._ids)

        def put(kind, value) -> None:
            self._updates.put(Update(self._clock(), next(_seq), job, kind, value))
            self._notify()

        def run() -> None:
            try:
                put("done", fn(lambda v: put("partial", v), lambda: self._closing or job in self._cancelled))
            except Exception as e:
                put("error", e)

        self._pool.submit(run)
        return job

    def cancel(self, job: int, t: float | None = None) -> None:
        self._cancelled.add(job)  # the job sees it through its `cancelled()` callback

    def peek(self) -> float | None:
        while True:
            try:
                self._ready.append(self._updates.get_nowait())
            except queue.Empty:
                break
        return self._ready[0].t if self._ready else None

    def pop(self) -> Update:
        return self._ready.popleft()

    def close(self) -> None:
        """Stops a job in progress at its next step (a hint being written does not hold shutdown) and waits for it."""
        self._closing = True
        self._pool.shutdown(wait=True, cancel_futures=True)
