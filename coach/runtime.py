"""Loading the models once and wiring a pipeline for a replay or a live session."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from coach import cpu, modelstore
from coach.config import Settings
from coach.embed import OnnxEmbedder, SentenceEmbedder
from coach.hints import SUMMARY_EXAMPLES, SUMMARY_SYSTEM_PROMPT, Conversation, HintWriter
from coach.llm import ChatModel, LlamaChatModel
from coach.move_choice import MoveChooser
from coach.pipeline import Pipeline, PipelineConfig
from coach.safety import SafetyCheck
from coach.stt import Transcriber, WhisperTranscriber
from coach.vad import SileroVad
from coach.workers import SimWorker, ThreadWorker

log = logging.getLogger("coach.runtime")


@dataclass
class Models:
    """Everything heavy, loaded once at start-up ("prewarm") and shared by the sessions that follow one another."""

    vad_path: object
    transcriber: Transcriber
    chat: ChatModel
    names: dict[str, str]
    load_s: float
    embedder: SentenceEmbedder | None = None
    safety: SafetyCheck = field(default_factory=lambda: SafetyCheck(None))
    moves: MoveChooser | None = None

    @classmethod
    def load(cls, settings: Settings) -> "Models":
        modelstore.offline_environment()  # models come from models/ only: no download, no telemetry
        t0 = time.perf_counter()
        d = settings.models_dir
        verify_models(settings)
        vad_path = modelstore.model_file(d, "vad", None, ".onnx")
        stt_id, transcriber = load_transcriber(settings)
        llm_id, _ = modelstore.resolve(d, "llm", settings.llm_model)
        gguf = modelstore.model_file(d, "llm", llm_id, ".gguf")
        chat = load_chat(settings, gguf)
        embed_id, embedder = load_embedder(settings)
        names = {"vad": "silero-vad", "stt": stt_id, "llm": llm_id, "embed": embed_id}
        models = cls(vad_path, transcriber, chat, names, 0.0, embedder, SafetyCheck(embedder), MoveChooser(embedder))
        models.warm_up()
        models.load_s = time.perf_counter() - t0
        log.info("models loaded in %.1f s: %s", models.load_s, models.names)
        return models

    @property
    def threads_note(self) -> str:
        stt = getattr(self.transcriber, "threads", "?")
        return f"threads: speech to text {stt}, LLM {getattr(self.chat, 'threads', '?')}, of {cpu.usable_cores()} cores"

    def warm_up(self) -> None:
        """First calls are slow (allocation, kernels): pay for them before the first partner speaks."""
        import numpy as np

        self.transcriber.transcribe(np.zeros(16000, dtype=np.float32))
        self.chat.count_tokens("warm up")
        if hasattr(self.chat, "warm"):  # the fixed start of every hint's prompt, read once now
            self.chat.warm(Conversation(system=SUMMARY_SYSTEM_PROMPT, examples=SUMMARY_EXAMPLES).messages("")[:-1])
        self.safety.assess("warm up the safety check")


def verify_models(settings: Settings) -> None:
    """Before anything loads: every file of every model to be used is there and matches its checksum, so a missing
    or damaged file stops the start in seconds, naming the file, instead of a library failing later or fetching a
    replacement from a hub."""
    modelstore.offline_environment()
    d = settings.models_dir
    ids = [modelstore.resolve(d, "vad")[0], modelstore.resolve(d, "stt", settings.stt_model)[0],
           modelstore.resolve(d, "llm", settings.llm_model)[0], modelstore.resolve(d, "embed")[0]]
    took, hashed = modelstore.verify_all(d, ids)
    log.info("models verified in %.2f s (hashed: %s)", took, ", ".join(hashed) or "none, all unchanged since verified")


def load_transcriber(settings: Settings) -> tuple[str, WhisperTranscriber]:
    modelstore.offline_environment()  # a local folder only: faster-whisper must never fetch a model
    stt_id, stt_dir = modelstore.resolve(settings.models_dir, "stt", settings.stt_model)
    return stt_id, WhisperTranscriber(stt_dir, language=settings.stt_language, beam_size=settings.stt_beam_size,
                                      hypotheses=settings.stt_hypotheses,
                                      compression_ratio_threshold=settings.compression_ratio_threshold,
                                      threads=settings.stt_threads or cpu.threads_per_model())


def load_chat(settings: Settings, gguf: Path) -> LlamaChatModel:
    """The LLM with threads that fit the CPU: set ones stay fixed; by default its share of the usable cores, fewer
    for a hint while other programs keep the machine busy (see coach/cpu.py)."""
    if settings.llm_threads:
        return LlamaChatModel(gguf, n_ctx=settings.llm_context, threads=settings.llm_threads)
    cores, base, meter = cpu.usable_cores(), cpu.threads_per_model(), cpu.CpuMeter()
    return LlamaChatModel(gguf, n_ctx=settings.llm_context, threads=base,
                          threads_now=lambda: cpu.llm_threads_now(base, cores, meter.others_busy()))


def load_embedder(settings: Settings) -> tuple[str, OnnxEmbedder]:
    """The sentence embedder: the safety check by meaning needs it, so a missing one is an error, not a skip."""
    modelstore.offline_environment()  # before onnxruntime is imported: no device id file, no telemetry
    embed_id, folder = modelstore.resolve(settings.models_dir, "embed")
    return embed_id, OnnxEmbedder(folder)


def build_pipeline(
    models: Models,
    settings: Settings,
    *,
    realtime_clock: Callable[[], float] | None = None,
    notify: Callable[[], None] | None = None,
) -> Pipeline:
    """A pipeline for one session. With `realtime_clock`, models run on their own threads against the wall
    clock; without it, on simulated workers against the audio's own clock (fast replay)."""
    if realtime_clock is not None:
        stt_worker = ThreadWorker("stt", realtime_clock, notify, timeout_s=settings.model_timeout_s)
        llm_worker = ThreadWorker("llm", realtime_clock, notify, timeout_s=settings.model_timeout_s)
    else:
        stt_worker, llm_worker = SimWorker("stt"), SimWorker("llm", stoppable=True)
    writer = HintWriter(
        models.chat,
        context_tokens=settings.llm_context,
        reminder_hints=settings.reminder_hints,
        prefill_opening=not settings.mode.is_turn,  # the baseline generates the whole JSON itself
        moves=models.moves,
    )
    return Pipeline(
        SileroVad(models.vad_path),
        models.transcriber,
        writer,
        stt_worker,
        llm_worker,
        PipelineConfig.from_settings(settings),
        clock=realtime_clock,
        safety=models.safety,
    )
