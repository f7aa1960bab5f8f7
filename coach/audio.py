"""Audio in: any WAV (rate, channels, 8/16/24/32-bit PCM or float) to 16 kHz mono float32, in timed chunks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
import soxr

from coach.errors import AudioInputError

SAMPLE_RATE = 16_000
CHUNK_SAMPLES = 512  # 32 ms: one Silero VAD window


@dataclass(frozen=True)
class AudioChunk:
    samples: np.ndarray  # float32, mono, 16 kHz
    t: float  # audio-clock time of the first sample

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def t_end(self) -> float:
        return self.t + self.duration


@dataclass(frozen=True)
class AudioClip:
    samples: np.ndarray  # float32, mono, 16 kHz
    source_rate: int
    source_channels: int

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def to_mono_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mix down to mono and resample to 16 kHz (float32 in [-1, 1])."""
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if rate != SAMPLE_RATE:
        data = soxr.resample(data, rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(data, dtype=np.float32)


def load_wav(path: str | Path) -> AudioClip:
    path = Path(path)
    if not path.is_file():
        raise AudioInputError(f"{path}: no such file. Check the path.")
    if path.stat().st_size == 0:
        raise AudioInputError(f"{path}: the file is empty (0 bytes). Record or export the audio again.")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioInputError(
            f"{path}: not a readable audio file ({e}). Convert it to WAV, e.g. `sox in.xxx -r 16000 -c 1 out.wav`."
        ) from e
    if data.shape[0] == 0:
        raise AudioInputError(f"{path}: the file holds no audio samples. Record or export the audio again.")
    return AudioClip(samples=to_mono_16k(data, rate), source_rate=rate, source_channels=data.shape[1])


def chunks(samples: np.ndarray, chunk_samples: int = CHUNK_SAMPLES, t0: float = 0.0) -> Iterator[AudioChunk]:
    """Split audio into consecutive timed chunks, as a live stream would deliver them."""
    for start in range(0, len(samples), chunk_samples):
        yield AudioChunk(samples[start : start + chunk_samples], t0 + start / SAMPLE_RATE)
