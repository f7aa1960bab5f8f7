"""One worker per model. A job is `fn(emit, cancelled) -> result`; its progress comes back as timed updates.

ThreadWorker runs jobs on its own thread, for live sessions and real-time replay. SimWorker runs each job at once
on the caller's thread and places its updates on a virtual audio clock (as if the worker had its own core), so a
recording can be replayed faster than real time with latencies that mean the same thing.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol

log = logging.getLogger("coach.workers")

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


class JobDropped(Exception):
    """A queued job was dropped unrun: newer work came in while the model was behind (oldest goes first)."""


def name_os_thread(name: str) -> None:
    """Give the calling thread `name` where the OS shows it too (`top -H`, /proc): which model uses the CPU can then be
    seen from outside. Linux only (a no-op elsewhere); the OS keeps 15 bytes."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


class JobTimedOut(Exception):
    """A job ran past its time limit: its result, should it ever come, is ignored."""


class ThreadWorker:
    """A single dedicated thread, so one model is never used by two calls at once.

    Bounded: at most `max_queued` jobs wait (the oldest is dropped, with a JobDropped error update), and a job running
    longer than `timeout_s` gets a JobTimedOut error update and is asked to stop. The thread is a daemon, so a model
    call that hangs in native code holds neither a session (its job times out) nor the process's exit."""

    def __init__(self, name: str, clock: Callable[[], float], notify: Callable[[], None] | None = None,
                 max_queued: int = 16, timeout_s: float = 60.0):
        self.name = name
        self._clock = clock
        self._notify = notify or (lambda: None)
        self.max_queued, self.timeout_s = max_queued, timeout_s
        self._ids = itertools.count(1)
        self._updates: queue.SimpleQueue[Update] = queue.SimpleQueue()
        self._cancelled: set[int] = set()
        self._expired: set[int] = set()  # timed out and still running: their late updates are dropped
        self._running: int | None = None
        self._ready: deque[Update] = deque()
        self._queued: deque[tuple[int, JobFn]] = deque()
        self._wake = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run_forever, name=f"coach-{name}", daemon=True)
        self._thread.start()

    def _put(self, job: int, kind: str, value: Any) -> None:
        with self._wake:
            if job in self._expired:
                if kind != "partial":  # its late end: nothing more comes from it
                    self._expired.discard(job)
                return
        self._send(job, kind, value)

    def _send(self, job: int, kind: str, value: Any) -> None:
        self._updates.put(Update(self._clock(), next(_seq), job, kind, value))
        self._notify()

    def submit(self, fn: JobFn, t: float) -> int:
        job = next(self._ids)
        dropped = None
        with self._wake:
            self._queued.append((job, fn))
            if len(self._queued) > self.max_queued:
                dropped = self._queued.popleft()[0]
            self._wake.notify()
        if dropped is not None:
            self._put(dropped, "error", JobDropped(f"{self.name}: more than {self.max_queued} jobs waiting"))
        return job

    def _run_forever(self) -> None:
        name_os_thread(self._thread.name)
        while True:
            with self._wake:
                while not self._queued and not self._closing:
                    self._wake.wait()
                if self._closing:
                    return
                job, fn = self._queued.popleft()
                if job in self._cancelled:
                    self._cancelled.discard(job)
                    continue
                self._running = job
            timer = threading.Timer(self.timeout_s, self._expire, (job,))
            timer.daemon = True
            timer.start()
            try:
                kind, value = "done", fn(lambda v: self._put(job, "partial", v), lambda: self._closing or job in self._cancelled)
            except Exception as e:
                kind, value = "error", e
            timer.cancel()
            with self._wake:  # from here a timer that fires late finds no job to expire
                self._running = None
                self._cancelled.discard(job)
            self._put(job, kind, value)

    def _expire(self, job: int) -> None:
        with self._wake:
            if self._running != job:
                return
            self._cancelled.add(job)  # a model that checks between steps stops now
            self._expired.add(job)  # before the error goes out: the job's own end may come any moment
        self._send(job, "error", JobTimedOut(f"{self.name}: no result after {self.timeout_s:.0f} s"))

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

    def close(self, wait_s: float = 3.0) -> None:
        """Stops a job in progress at its next step (a hint being written does not hold shutdown) and waits for it,
        but never longer than `wait_s`: a hung model call is left behind on its daemon thread."""
        with self._wake:
            self._closing = True
            self._queued.clear()
            self._wake.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(wait_s)
            if self._thread.is_alive():
                log.warning("the %s model did not stop within %.0f s: left behind", self.name, wait_s)
