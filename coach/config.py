"""Settings for every stage, read from the environment (prefix COACH_) or given explicitly."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_MODELS_DIR = REPO_DIR / "models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COACH_", extra="ignore")

    # Models
    models_dir: Path = Field(DEFAULT_MODELS_DIR, description="Folder holding manifest.json and installed models.")
    stt_model: str | None = Field(None, description="Speech-to-text model id from the manifest; default: best installed.")
    llm_model: str | None = Field(None, description="LLM id from the manifest; default: best installed.")

    # Voice activity and endpointing
    vad_threshold: float = Field(0.5, description="Speech probability at which speech starts.")
    vad_neg_threshold: float = Field(0.35, description="Speech probability below which a window counts as silence.")
    min_speech_s: float = Field(0.25, description="Shortest run of speech that starts a turn (shorter blips are noise).")
    end_silence_s: float = Field(0.6, description="Silence that ends a turn.")
    max_utterance_s: float = Field(20.0, description="After this much speech, split the turn at the next short pause.")
    split_pause_s: float = Field(0.2, description="Pause that splits a turn longer than max_utterance_s.")
    hard_max_utterance_s: float = Field(30.0, description="Split a turn here even without any pause.")
    pre_roll_s: float = Field(0.3, description="Audio kept before detected speech so the first word is not clipped.")

    # Speech to text
    stt_language: str = Field("en", description="Language spoken by the partner.")
    stt_beam_size: int = Field(1, ge=1, le=10, description="Whisper beam size (1 = greedy, fastest).")
    stt_threads: int = Field(2, ge=1, description="CPU threads for speech to text.")
    no_speech_threshold: float = Field(0.6, description="Drop segments Whisper itself rates as no speech above this.")
    logprob_threshold: float = Field(-1.0, description="...together with an average log-probability below this.")
    compression_ratio_threshold: float = Field(2.4, description="Drop segments more repetitive than this (Whisper loops).")
    prompt_context_chars: int = Field(200, description="Recent transcript passed to Whisper as its prompt.")

    # Hints
    llm_threads: int = Field(2, ge=1, description="CPU threads for the LLM.")
    llm_context: int = Field(4096, ge=1024, description="LLM context window in tokens.")
    hint_min_words: int = Field(5, ge=1, description="A turn (or turns since the last hint) needs this many words for a hint.")
    reminder_hints: int = Field(3, ge=0, description="How many first hints of a session carry a peer-support reminder.")

    # Privacy
    log_transcripts: bool = Field(
        False, description="Attach the partner's words to log records as structured fields (off: they never reach logs)."
    )
