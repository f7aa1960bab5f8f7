"""Running the pipeline over a recording: as fast as possible on the audio clock, or paced in real time."""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterator

import numpy as np

from coach.audio import CHUNK_SAMPLES, chunks
from coach.config import Settings
from coach.events import Event
from coach.runtime import Models, build_pipeline

EventSink = Callable[[Event], None]


def replay_fast(models: Models, settings: Settings, samples: np.ndarray) -> Iterator[Event]:
    """Simulated workers: latencies are the ones a live session would see with one core per model."""
    pipeline = build_pipeline(models, settings)
    for chunk in chunks(samples, CHUNK_SAMPLES):
        yield from pipeline.push(chunk)
    yield from pipeline.finish()


def replay_realtime(models: Models, settings: Settings, samples: np.ndarray, chunk_samples: int = 1600) -> Iterator[Event]:
    """Feeds audio at the speed it was spoken (100 ms chunks) while the models run on their own threads."""
    wake = threading.Event()
    t0 = time.monotonic()
    clock = lambda: time.monotonic() - t0  # noqa: E731 - the audio clock of a live stream
    pipeline = build_pipeline(models, settings, realtime_clock=clock, notify=wake.set)
    try:
        for chunk in chunks(samples, chunk_samples):
            while (delay := chunk.t_end - clock()) > 0:  # wait for the audio to "arrive", handling results meanwhile
                if wake.wait(delay):
                    wake.clear()
                    yield from pipeline.poll(clock())
            yield from pipeline.push(chunk)
        yield from pipeline.end_input()
        while True:
            yield from pipeline.poll(clock())
            if not pipeline.busy:
                return
            wake.wait(0.5)
            wake.clear()
    finally:
        pipeline.close()
