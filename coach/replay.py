"""Running the pipeline over a recording: as fast as possible on the audio clock, or paced in real time."""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterator

import numpy as np

from coach.audio import CHUNK_SAMPLES, SAMPLE_RATE, chunks
from coach.config import Settings
from coach.events import Event
from coach.runtime import Models, build_pipeline

EventSink = Callable[[Event], None]

LEAD_SILENCE_S = 0.3
TAIL_SILENCE_S = 1.5  # lets the endpointer see the turn end the way it would live


def padded(audio: np.ndarray) -> np.ndarray:
    """A clip with silence around it, as a partner's turn is heard live."""
    lead, tail = np.zeros(int(LEAD_SILENCE_S * SAMPLE_RATE), np.float32), np.zeros(int(TAIL_SILENCE_S * SAMPLE_RATE), np.float32)
    return np.concatenate([lead, audio, tail])


def fresh_cache(models: Models) -> None:
    """Leave the LLM's KV cache holding the system prompt only, as at the start of a live session: otherwise
    a clip replayed in a second mode would find its own words already cached."""
    from coach.hints import SUMMARY_EXAMPLES, SUMMARY_SYSTEM_PROMPT, Conversation, draft_grammar, summary_grammar

    if getattr(models, "moves", None) is not None:  # the combined hint writer's prompt (see build_pipeline)
        conversation, grammar = Conversation(system=SUMMARY_SYSTEM_PROMPT, examples=SUMMARY_EXAMPLES), summary_grammar()
    else:
        conversation, grammar = Conversation(), draft_grammar()
    models.chat.chat(conversation.messages("(silence)"), grammar=grammar, max_tokens=1)


def replay_fast(models: Models, settings: Settings, samples: np.ndarray) -> Iterator[Event]:
    """Simulated workers: latencies are the ones a live session would see with one core per model."""
    pipeline = build_pipeline(models, settings)
    for chunk in chunks(samples, CHUNK_SAMPLES):
        yield from pipeline.push(chunk)
    yield from pipeline.finish()


def replay_realtime(models: Models, settings: Settings, samples: np.ndarray,
                    chunk_samples: int = CHUNK_SAMPLES) -> Iterator[Event]:
    """Feeds audio at the speed it was spoken while the models run on their own threads. In 32 ms blocks, as a live
    session hands them over (coach/live.py): the pipeline notices a pause only at a block's end, so larger blocks
    would start the speculative pass later than live does and flatter the live path's measured cost."""
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
