"""Settings for every stage, read from the environment (prefix COACH_) or given explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_MODELS_DIR = REPO_DIR / "models"
# The parts of the streaming pipeline that `streaming-no-<part>` turns off, one at a time, to measure what each buys.
STREAMING_PARTS = ("tight-stt", "speculative", "stream-fields", "seal")
# Parts not on by default, that `streaming+<part>` turns on. commit: transcribing while the partner speaks saves about
# 0.3-0.4 s at the end of a long turn, but its quick passes read words worse than the whole-turn pass (long annomi-dev
# turns, voiced: word error rate 5.9% -> 7.0-9.6%; Whisper, told to expect the words of danger, hears "a suicide" for
# "ostracized" and "hurt" for "that" in a cut passage), which the safety check then reads.
OPT_IN_PARTS = ("commit",)


@dataclass(frozen=True)
class PipelineMode:
    """How the pipeline runs, as flags: "streaming" has every default part on, "turn" (the plain baseline: wait for
    the turn to end, transcribe it whole, deliver the whole hint) none, "streaming-no-<part>" all but one,
    "streaming+<part>" an opt-in part as well. Parsed once, in Settings: an unknown name is an error before any model
    loads."""

    tight_stt: bool = True  # encode only the turn's audio, not a 30 s window
    speculative: bool = True  # prepare the transcript (and the hint) in the first short silence
    stream_fields: bool = True  # show the summary word by word, then each field as it completes
    seal: bool = True  # keep a long turn's speculative passes at the partner's pauses; at its end decode only the rest
    commit: bool = False  # transcribe while the partner speaks; at the end of a turn decode only its uncommitted tail

    STREAMING: ClassVar["PipelineMode"]
    TURN: ClassVar["PipelineMode"]

    @classmethod
    def parse(cls, name: str) -> "PipelineMode":
        if name == "streaming":
            return cls()
        if name == "turn":
            return cls.TURN
        part = name.removeprefix("streaming-no-")
        if name.startswith("streaming-no-") and part in STREAMING_PARTS:
            return cls(**{part.replace("-", "_"): False})
        extra = name.removeprefix("streaming+")
        if name.startswith("streaming+") and extra in OPT_IN_PARTS:
            return cls(**{extra.replace("-", "_"): True})
        raise ValueError(f"unknown mode {name!r}: use streaming, turn, streaming-no-<part> with part one of "
                         + ", ".join(STREAMING_PARTS) + ", or streaming+<part> with part one of " + ", ".join(OPT_IN_PARTS))

    @property
    def is_turn(self) -> bool:
        """The baseline: no streaming part on."""
        return not any(getattr(self, f.name) for f in fields(self))

    @property
    def name(self) -> str:
        off = [p for p in STREAMING_PARTS if not getattr(self, p.replace("-", "_"))]
        on = "".join(f"+{p}" for p in OPT_IN_PARTS if getattr(self, p.replace("-", "_")))
        if len(off) == len(STREAMING_PARTS) and not on:
            return "turn"
        if not off:
            return "streaming" + on
        return "streaming-no-" + "-and-".join(off) + on  # more than one part changed: not a name parse() reads

    def __str__(self) -> str:
        return self.name


PipelineMode.STREAMING = PipelineMode()
PipelineMode.TURN = PipelineMode(**{f.name: False for f in fields(PipelineMode)})
# Whisper's prompt is read as earlier text: naming the session's words makes them likelier to be heard right. Measured
# with `coach bench --safety --safety-set tests/data/safety_eval.jsonl --whisper` (espeak-ng voices, whisper-base, 5 readings):
# recall 88.7% -> 90.7%, false alarms 6.7% -> 4.5%; speech-dev word error rate 6.8% -> 6.6%.
# The danger said as people say it, added 2026-12-07 (Whisper had heard "I want tonight" for "I want to die", "just and
# it" for "just end it"); the same voices and pass, every set transcribed with both prompts: recall through Whisper
# safety_eval 83.3% -> 86.0% (direct 94.7% -> 96.1%), safety_long 77.8% -> 81.5% (direct 78.4% -> 83.8%), the check
# sets 80.0% -> 76.7% (safety_fresh, one line) and 69.4% -> 72.2% (safety_long_check); false alarms the same but one
# more on safety_long_check (11.4% -> 13.6%); real client turns alerted 3.3% -> 2.7% (annomi-dev, 150) and 5.0% ->
# 3.8% (counseling-dev, 80); word error rate speech-dev 6.5% -> 6.6% (one word of 678), long voiced annomi-dev turns
# 10.3% -> 8.5%.
STT_VOCABULARY = ("A peer-support talk about parts: a protector, a firefighter, an exile, a manager part, Self. Words of "
                  "danger: I want to die, end it all, kill yourself, hurting myself, cutting, goodbye letter, pills, rope, "
                  "bridge, razor, knife, gun, overdose, suicide, self-harm, he hits me, slaps, chokes, strangles, bruises, "
                  "threatens.")
DEFAULT_STATE_DIR = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "nobadparts-coach"


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
    # 12 s, not 20, chosen when a monologue's turn was transcribed whole after it ended (before kept parts, mode part
    # seal), so the transcript (and the hint after it) waited for Whisper to read the whole turn. In a real-time
    # monologue replay here, end of turn -> complete hint p50 2.0 s with 12 s turns, 2.9 s with 20 s turns (transcript
    # 1.1 vs 1.9 s); conversational turns are shorter than either.
    max_utterance_s: float = Field(12.0, description="After this much speech, split the turn at the next short pause.")
    split_pause_s: float = Field(0.2, description="Pause that splits a turn longer than max_utterance_s.")
    hard_max_utterance_s: float = Field(
        28.0, description="Split a turn here even without any pause (with its margins it still fits one 30 s Whisper window)."
    )
    pre_roll_s: float = Field(0.3, description="Audio kept before detected speech so the first word is not clipped.")

    # Speech to text
    stt_language: str = Field("en", description="Language spoken by the partner.")
    stt_beam_size: int = Field(1, ge=1, le=10, description="Whisper beam size (1 = greedy, fastest).")
    stt_hypotheses: int = Field(5, ge=1, le=10, description="Readings of each turn Whisper keeps (the beam is at least "
                                "this wide): the best is the transcript; the safety check reads them all, so a misheard "
                                "clear statement still raises a safety hint. 1 = greedy and fastest.")
    stt_threads: int | None = Field(None, ge=1, description="CPU threads for speech to text (default: half the cores "
                                    "this process may use).")
    no_speech_threshold: float = Field(0.6, description="Drop segments Whisper itself rates as no speech above this.")
    logprob_threshold: float = Field(-1.0, description="...together with an average log-probability below this.")
    compression_ratio_threshold: float = Field(2.4, description="Drop segments more repetitive than this (Whisper loops).")
    prompt_context_chars: int = Field(200, description="Recent transcript passed to Whisper as its prompt.")
    stt_vocabulary: str = Field(STT_VOCABULARY, max_length=400, description="Words Whisper is told to expect, before "
                                "the recent transcript in its prompt: IFS terms and the words of danger it must not mishear.")

    # Streaming (mode "streaming"; "turn" is the plain baseline: wait for the turn to end, then do everything)
    mode: Annotated[PipelineMode, NoDecode] = Field(
        PipelineMode.STREAMING, description="How the pipeline runs: streaming (default), turn (the plain baseline), "
        "streaming-no-<part> with part one of " + ", ".join(STREAMING_PARTS) + ", or streaming+<part> with part one "
        "of " + ", ".join(OPT_IN_PARTS) + " (off by default: see OPT_IN_PARTS).")
    # 0.10, not 0.15: speech-dev (43 real clips, `coach bench --corpus`) first text p50 815 -> 749 ms, p95 1131 -> 1002
    # ms, word error rate unchanged (6.2%); the passes wasted on pauses that were not the end rose from 58 to 67 over
    # 58 turns (the built-in session and speech-dev replayed as one stream).
    commit_every_s: float = Field(1.0, gt=0, description="While the partner speaks, read the turn's uncommitted audio "
                                  "again after this much more of it (mode part commit; only when speech to text is free).")
    commit_left_context_s: float = Field(3.0, ge=0, description="Audio kept before the first uncommitted word when "
                                         "the committed audio is cut from later passes (more: fewer misheard words, "
                                         "a longer tail to decode at the end of the turn).")
    spec_silence_s: float = Field(0.10, description="Silence after which the end of the turn is prepared speculatively.")
    # 5 s: each part read whole with the default beam and the words before it as Whisper's prompt, against one pass
    # over the whole turn (word error rate / the last pass p50), cut at pauses of 0.2-0.25 s: speech-dev recordings
    # joined into 12 turns of 11-26 s 5.3% / 1756 ms -> 5.3-5.9% / 531 ms (4 s parts: 6.7%, 6 s: 5.2%); 24 voiced
    # annomi-dev turns of 13-37 s 8.5% / 1524 ms -> 6.6-6.7% / 557-631 ms. Only pauses of 0.3 s: fewer parts kept, a
    # longer last part (0.73-0.82 s). The endpointer's pause is ~0.03 s shorter than that measure: 0.2 s here.
    # `coach bench --corpus <24 long turns> --modes streaming-no-seal,streaming` (2026-12-07): first text p50 1611 ->
    # 1009 ms, p95 3129 -> 2061 ms, WER 9.3% -> 6.8%, CPU 0.4 -> 0.3 core-s per s of speech; speech-dev the same.
    seal_after_s: float = Field(5.0, gt=0, description="A pause in a turn this much speech after its last kept part "
                                "keeps the speculative pass over that part (mode part seal): only the rest is read again.")
    seal_pause_s: float = Field(0.2, ge=0, description="Shortest pause whose speculative pass is kept (shorter: a breath "
                                "inside a phrase, where Whisper reads the words on either side worse).")
    seal_min_tail_s: float = Field(4.0, ge=0, description="A pass reads at least this much audio after the kept parts "
                                   "it takes as read (the last ones are read again when the turn ends just after them).")

    # Hints
    llm_threads: int | None = Field(None, ge=1, description="CPU threads for the LLM (default: half the usable cores, "
                                    "fewer while other programs keep the CPU busy).")
    llm_context: int = Field(4096, ge=1024, description="LLM context window in tokens.")
    hint_min_words: int = Field(5, ge=1, description="A turn (or turns since the last hint) needs this many words for a hint.")
    reminder_hints: int = Field(3, ge=0, description="How many first hints of a session carry a peer-support reminder.")
    model_timeout_s: float = Field(60.0, gt=0, description="Longest a model call may take before its result is given up "
                                   "(a hung model then costs one transcript or hint, never the session).")

    # Live sessions (coach serve)
    state_dir: Path = Field(DEFAULT_STATE_DIR, description="Private folder for generated keys and the TLS certificate.")
    lan_ip: str | None = Field(None, description="Address partners use to reach this machine; default: detected.")
    https_port: int = Field(8443, description="HTTPS port for partners on the LAN (camera and microphone need HTTPS).")
    http_port: int = Field(8080, description="Plain HTTP port, bound to loopback only, for the facilitator.")
    tls_cert: Path | None = Field(None, description="Your own TLS certificate (PEM); default: one generated at first run.")
    tls_key: Path | None = Field(None, description="Private key for tls_cert (PEM).")
    facilitator_passcode: str | None = Field(
        None, description="Lets a facilitator create sessions from another machine (header X-Facilitator-Passcode)."
    )
    livekit_port: int = Field(7880, description="livekit-server signaling port (bound to loopback).")
    livekit_tcp_port: int = Field(
        0, ge=0, description="livekit-server media over TCP, for a network that blocks UDP; 0 (the default): off. "
                             "livekit-server can only listen for it on every interface of this computer, not the LAN "
                             "address alone, so turn it on only where UDP does not get through (e.g. 7881).")
    livekit_udp_port: int = Field(7882, description="livekit-server media over UDP.")
    livekit_url: str | None = Field(None, description="Use an already running livekit-server here instead of starting one.")
    livekit_api_key: str | None = Field(None, description="API key for livekit_url (default: the generated one).")
    livekit_api_secret: str | None = Field(None, description="API secret for livekit_url (default: the generated one).")
    allowed_hosts: str = Field(
        "", description="More names this machine is reached by, comma-separated (loopback and the LAN address always "
        "are): requests with any other Host are refused.")
    invite_ttl_s: float = Field(3600.0, description="How long an invite link stays valid.")
    token_ttl_s: float = Field(900.0, description="How long a LiveKit join token stays valid.")
    max_body_bytes: int = Field(4096, description="Largest request body the API accepts.")
    max_sessions: int = Field(4, ge=1, description="Most sessions live at once (each holds a coach): starting "
                              "another is refused until one ends.")
    session_idle_s: float = Field(1800.0, gt=0, description="A session nobody but the coach has been in for this "
                                  "long is ended, as if the facilitator had ended it.")
    http_timeout_s: float = Field(10.0, gt=0, description="A connection to the web server must send its request "
                                  "headers within this; an idle kept-alive connection is closed after it.")
    max_connections: int = Field(128, ge=1, description="Most connections the web server holds open at once.")
    max_connections_per_address: int = Field(32, ge=1, description="Most connections from one address (a browser "
                                             "opens about six, and one per call).")

    @field_validator("facilitator_passcode")
    @classmethod
    def _strong_passcode(cls, v: str | None) -> str | None:
        if v is not None and len(v) < 12:
            raise ValueError("use at least 12 characters: a short passcode falls to guessing from the LAN")
        return v

    @field_validator("mode", mode="before")
    @classmethod
    def _known_mode(cls, v: Any) -> Any:
        return PipelineMode.parse(v) if isinstance(v, str) else v

    # Privacy
    log_transcripts: bool = Field(
        False, description="Attach the partner's words to log records as structured fields (off: they never reach logs)."
    )


def default(name: str) -> Any:
    """A setting's default: the config dataclasses of the stages take theirs from here, so each is written once."""
    return Settings.model_fields[name].default
