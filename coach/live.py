"""The pipeline in a live session: an async front for audio arriving in real time.

The synchronous core runs on one dedicated audio thread (VAD is cheap), the models on their own worker threads;
the event loop only moves audio in and events out. Audio is handed over in blocks of at least 32 ms, never one
thread hop per 10 ms frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Awaitable, Callable

import numpy as np

from coach.audio import CHUNK_SAMPLES, SAMPLE_RATE, AudioChunk
from coach.config import Settings
from coach.events import Event
from coach.runtime import Models, build_pipeline
from coach.workers import name_os_thread

log = logging.getLogger("coach.live")

EventHandler = Callable[[Event], Awaitable[None]]


async def _ignore(ev: Event) -> None:
    pass


class LiveSession:
    def __init__(self, models: Models, settings: Settings, on_event: EventHandler | None = None):
        self._loop = asyncio.get_running_loop()
        self.on_event: EventHandler = on_event or _ignore  # whoever delivers the events sets this
        self._t0 = time.monotonic()
        self._wake = asyncio.Event()
        self._audio = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coach-audio",
                                         initializer=name_os_thread, initargs=("coach-audio",))
        self.pipeline = build_pipeline(
            models, settings, realtime_clock=self.clock, notify=lambda: self._loop.call_soon_threadsafe(self._wake.set)
        )
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._next_t: float | None = None  # audio time of the next sample, None between streams
        self._poller = asyncio.create_task(self._poll_forever())
        self._lock = asyncio.Lock()  # keeps pushes and polls in order on the audio thread

    def clock(self) -> float:
        return time.monotonic() - self._t0

    async def feed(self, samples: np.ndarray) -> None:
        """16 kHz mono float32 samples, as they arrive."""
        if self._next_t is None:  # a stream (re)starts: place it on the clock where it is now
            self._next_t = max(self.clock() - len(samples) / SAMPLE_RATE, 0.0)
        self._pending.append(samples)
        self._pending_n += len(samples)
        if self._pending_n >= CHUNK_SAMPLES:
            block = np.concatenate(self._pending)
            self._pending, self._pending_n = [], 0
            chunk = AudioChunk(block, self._next_t)
            self._next_t = chunk.t_end
            await self._run(self.pipeline.push, chunk)

    async def end_input(self) -> None:
        """The partner's audio stopped (they left or unpublished): their last words still count."""
        self._pending, self._pending_n = [], 0
        self._next_t = None
        await self._run(lambda: self.pipeline.end_input())

    def set_paused(self, paused: bool) -> None:
        self.pipeline.paused = paused

    async def _run(self, fn, *args) -> None:
        async with self._lock:
            events = await self._loop.run_in_executor(self._audio, fn, *args)
        for ev in events:
            try:
                await self.on_event(ev)
            except Exception:
                log.exception("delivering a %s event failed", type(ev).__name__)

    async def _poll_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._run(lambda: self.pipeline.poll(self.clock()))

    async def aclose(self) -> None:
        self._poller.cancel()
        try:
            await self._poller
        except asyncio.CancelledError:
            pass
        await self._loop.run_in_executor(None, self.pipeline.close)
        self._audio.shutdown(wait=False)
