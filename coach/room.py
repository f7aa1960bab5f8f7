"""The coach as a LiveKit participant: listens only to the consenting partner's microphone, and sends hints,
transcript lines and the parts map only to the facilitator, as text streams on `coach.hint`, `coach.transcript` and
`coach.parts`."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Protocol

import numpy as np

from coach.audio import CHUNK_SAMPLES, SAMPLE_RATE
from coach.config import Settings
from coach.events import CoachBehind, Event, HintFailed, HintPartial, HintReady, HintStarted, SafetyAlert, Transcript
from coach.history import SessionHistory
from coach.outbox import Outbox
from coach.parts import PartsMap
from coach.tasks import TaskSet

if TYPE_CHECKING:
    from coach.runtime import Models
    from server.sessions import Session

log = logging.getLogger("coach.room")

TOPIC_HINT = "coach.hint"
TOPIC_TRANSCRIPT = "coach.transcript"
TOPIC_PARTS = "coach.parts"
TOPIC_HISTORY = "coach.history"  # everything so far, to a facilitator who (re)joins
# The SDK hands over the partner's audio in frames of one VAD window (32 ms), which the pipeline would wait for
# anyway: a third of the Python work per second that 10 ms frames cost, and no added delay.
AUDIO_FRAME_MS = CHUNK_SAMPLES * 1000 // SAMPLE_RATE
# Frames the SDK holds while the coach is busy: 30 s, then the oldest go. A coach that far behind has already said
# so (CoachBehind); memory never grows with the backlog.
AUDIO_QUEUE_FRAMES = 30_000 // AUDIO_FRAME_MS
RETRY_S = (0.5, 1.0, 2.0, 3.0, 5.0)  # waits between attempts to (re)join while LiveKit is down or restarting


def partial_payload(ev: HintPartial) -> dict:
    """The part of a hint written so far: the summary word by word, then each finished field."""
    return {"id": ev.hint_id, **ev.fields, "partial": True}


def hint_payload(ev: HintReady) -> dict:
    return {
        "id": ev.hint_id,
        **ev.hint.model_dump(),
        "turn_ids": list(ev.turn_ids),
        "latencies": {k: round(v, 3) for k, v in ev.latencies.items()},
        "tokens": {"prompt": ev.prompt_tokens, "completion": ev.completion_tokens},
        "partial": False,
    }


def alert_payload(ev: SafetyAlert) -> dict:
    """A safety card of its own (the LLM's hint for the turn follows as another card)."""
    return {
        "id": f"alert-{ev.turn_id}",
        **ev.hint.model_dump(),
        "turn_ids": [ev.turn_id],
        "latencies": {"speech_to_hint_s": round(ev.speech_to_alert_s, 3)},
        "alert": True,
        "partial": False,
    }


class LiveInput(Protocol):
    """What the coach needs of the pipeline (coach.live.LiveSession; a fake in unit tests)."""

    on_event: Callable[[Event], Any]

    def clock(self) -> float:
        """The audio clock the pipeline's event times are on (seconds)."""

    async def feed(self, samples: np.ndarray) -> None: ...

    async def end_input(self) -> None: ...

    def set_paused(self, paused: bool) -> None: ...

    async def aclose(self) -> None: ...


Credentials = Callable[[], tuple[str, str]]  # -> (LiveKit url, a freshly minted coach token)


async def sdk_audio_frames(track) -> AsyncIterator[np.ndarray]:
    """The partner's microphone as 16 kHz mono float32 blocks, resampled by the LiveKit SDK."""
    from livekit import rtc

    stream = rtc.AudioStream(track, sample_rate=16000, num_channels=1, capacity=AUDIO_QUEUE_FRAMES,
                             frame_size_ms=AUDIO_FRAME_MS)
    try:
        async for event in stream:
            yield np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float32) / 32768.0
    finally:
        await stream.aclose()


class CoachParticipant:
    """One session's coach in its LiveKit room. The room (a factory: a room that LiveKit dropped is replaced by a new
    one) and the pipeline are handed in, so unit tests drive this with fakes. Every failure stays inside this object:
    the server and other sessions go on."""

    def __init__(self, session: "Session", new_room: Callable[[], Any], live: LiveInput, credentials: Credentials,
                 audio_frames: Callable[[Any], AsyncIterator[np.ndarray]] = sdk_audio_frames):
        self.session = session
        self._new_room, self._live, self._credentials, self._audio_frames = new_room, live, credentials, audio_frames
        live.on_event = self._deliver
        # Sends run on their own task: the pipeline never waits for the network, and a hint's stale partials merge.
        self._outbox = Outbox(self._send, TOPIC_HINT)
        self._room = None
        self._tasks = TaskSet(f"session {session.id}")
        self._audio_task: asyncio.Task | None = None
        self._parts: PartsMap | None = PartsMap()  # memory only, dropped at aclose
        self.history: SessionHistory | None = SessionHistory()  # memory only, dropped at aclose
        self._consented = session.consented_at is not None
        self._closing = False
        self.paused = False
        self.state = "starting"
        self.joins = 0  # times the coach joined the room (more than one: it came back after LiveKit dropped it)
        self._tasks.spawn(self._join(), "joining the room")

    # ---- lifecycle ---------------------------------------------------------------------------------------

    async def _join(self) -> None:
        """Joins the room, retrying while LiveKit is down (it may be restarting), until it works or we close."""
        from livekit import rtc

        for attempt in range(10**9):
            if self._closing:
                return
            room = self._new_room()
            room.on("track_published", self._on_track_published)
            room.on("track_subscribed", self._on_track_subscribed)
            room.on("track_unsubscribed", self._on_track_gone)
            room.on("participant_connected", self._on_participant_joined)
            room.on("participant_disconnected", self._on_participant_left)
            room.on("reconnecting", lambda: log.info("session %s: reconnecting to LiveKit", self.session.id))
            room.on("reconnected", self._on_reconnected)
            room.on("disconnected", lambda reason=None, room=room: self._on_disconnected(room, reason))
            try:
                url, token = self._credentials()
                await room.connect(url, token, rtc.RoomOptions(auto_subscribe=False))
            except Exception as e:
                if attempt == 0:
                    log.warning("session %s: the coach could not join the room (%s): retrying", self.session.id,
                                type(e).__name__)
                self.state = "offline"
                await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
                continue
            self._room = room
            self.joins += 1
            log.info("session %s: coach joined the room%s", self.session.id, " again" if self.joins > 1 else "")
            await self._set_state(self._idle_state())
            self._subscribe_existing()
            if self.session.facilitator_identity in room.remote_participants:
                await self._send_history()
            return

    async def aclose(self) -> None:
        self._closing = True
        self._parts, self.history = None, None  # the session is over: what it said goes with it
        self._stop_audio()
        await self._tasks.aclose()
        await self._live.aclose()
        await self._outbox.flush(1.0)  # the last words and hint still reach the facilitator
        await self._outbox.aclose()
        room, self._room = self._room, None
        if room is not None:
            try:
                await room.disconnect()
            except Exception:
                log.info("session %s: disconnect failed (already gone)", self.session.id)
        self.state = "offline"

    def partner_consented(self) -> None:
        self._consented = True
        self._subscribe_existing()

    async def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self._live.set_paused(paused)
        await self._set_state(self._idle_state())

    # ---- subscriptions: only the partner's microphone ----------------------------------------------------

    def _wanted(self, publication, participant) -> bool:
        from livekit import rtc

        return (
            self._consented
            and participant.identity == self.session.partner_identity
            and publication.source == rtc.TrackSource.SOURCE_MICROPHONE
        )

    def _subscribe_existing(self) -> None:
        if self._room is None or not self._room.isconnected():
            return
        for participant in self._room.remote_participants.values():
            for publication in participant.track_publications.values():
                if self._wanted(publication, participant) and not publication.subscribed:
                    publication.set_subscribed(True)

    def _on_track_published(self, publication, participant) -> None:
        if self._wanted(publication, participant):
            publication.set_subscribed(True)

    def _on_disconnected(self, room, reason=None) -> None:
        """LiveKit dropped us (it restarted, or gave up reconnecting): the page shows the coach offline while a new
        room object joins again. The partner's last words still count."""
        if room is not self._room or self._closing:
            return
        log.info("session %s: disconnected from LiveKit (%s): joining again", self.session.id, reason)
        self._room = None
        self._stop_listening(publish_state=False)
        self.state = "offline"
        self._tasks.spawn(self._join(), "joining the room again")

    def _on_reconnected(self) -> None:
        log.info("session %s: reconnected to LiveKit", self.session.id)
        self._subscribe_existing()
        self._tasks.spawn(self._send_history(), "sending the history after a reconnect")

    def _on_track_subscribed(self, track, publication, participant) -> None:
        from livekit import rtc

        if not self._wanted(publication, participant) or track.kind != rtc.TrackKind.KIND_AUDIO:
            publication.set_subscribed(False)
            return
        self._stop_audio()
        self._audio_task = self._tasks.spawn(self._listen(track), "listening to the partner")

    def _on_track_gone(self, track, publication, participant) -> None:
        if participant.identity == self.session.partner_identity:
            self._stop_listening()

    def _on_participant_joined(self, participant) -> None:
        if participant.identity == self.session.facilitator_identity:  # a reload, or back after a network drop
            self._tasks.spawn(self._send_history(), "sending the history to the facilitator")

    def _on_participant_left(self, participant) -> None:
        if participant.identity == self.session.partner_identity:
            log.info("session %s: partner left", self.session.id)
            self._stop_listening()

    def _stop_audio(self) -> None:
        if self._audio_task:
            self._audio_task.cancel()
            self._audio_task = None

    def _stop_listening(self, publish_state: bool = True) -> None:
        self._stop_audio()
        # The partner may have left mid-sentence: their last words are still transcribed.
        self._tasks.spawn(self._live.end_input(), "finishing the partner's last words")
        if publish_state:
            self._tasks.spawn(self._set_state(self._idle_state()), "publishing the coach state")

    async def _listen(self, track) -> None:
        await self._set_state(self._idle_state(listening=True))
        async for samples in self._audio_frames(track):
            await self._live.feed(samples)

    # ---- output: to the facilitator only -------------------------------------------------------------------

    async def _send(self, topic: str, payload: dict) -> None:
        room = self._room
        if room is None or not room.isconnected():
            return  # kept in the history: the facilitator gets it when the coach is back
        await room.local_participant.send_text(
            json.dumps(payload), topic=topic, destination_identities=[self.session.facilitator_identity]
        )

    async def _send_history(self) -> None:
        if self.history:
            self._outbox.put(TOPIC_HISTORY, self.history.snapshot())

    async def _deliver(self, ev: Event) -> None:
        history = self.history
        if isinstance(ev, Transcript):
            line = {"turn_id": ev.turn_id, "text": ev.text, "t_start": round(ev.t_start, 2), "t_end": round(ev.t_end, 2)}
            if history is not None:
                history.transcript(line)
            self._outbox.put(TOPIC_TRANSCRIPT, line)
            if self._parts is not None and self._parts.update(ev.turn_id, ev.text):
                parts = {"turn_id": ev.turn_id, "parts": self._parts.snapshot()}
                if history is not None:
                    history.parts(parts)
                self._outbox.put(TOPIC_PARTS, parts)
        elif isinstance(ev, SafetyAlert):
            await self._send_hint(alert_payload(ev))
        elif isinstance(ev, HintStarted):
            await self._set_state("thinking")
        elif isinstance(ev, CoachBehind):
            await self._set_attributes({"coach_behind": f"{ev.lag_s:.0f}" if ev.lag_s else ""})
        elif isinstance(ev, HintPartial):
            await self._send_hint(partial_payload(ev))
        elif isinstance(ev, HintReady):
            # When the speech ended on the wall clock: the facilitator's page is on this computer and measures from it.
            ended_at = time.time() - (self._live.clock() - ev.t_speech_end)
            await self._send_hint(hint_payload(ev) | {"speech_end_at": round(ended_at, 3)})
            await self._set_state(self._idle_state())
        elif isinstance(ev, HintFailed):
            # Part of it may be on screen already: the page takes it down.
            await self._send_hint({"id": ev.hint_id, "partial": False, "withdrawn": True})
            await self._set_state(self._idle_state())

    async def _send_hint(self, payload: dict) -> None:
        if self.history is not None:
            self.history.hint(payload)
        self._outbox.put(TOPIC_HINT, payload)

    def _idle_state(self, listening: bool | None = None) -> str:
        if self.paused:
            return "paused"
        if listening is None:
            listening = self._audio_task is not None and not self._audio_task.done()
        return "listening" if listening else "waiting"

    async def _set_state(self, state: str) -> None:
        self.state = state
        await self._set_attributes({"coach_state": state})

    async def _set_attributes(self, attributes: dict[str, str]) -> None:
        room = self._room
        if room is None or not room.isconnected():
            return
        try:
            await room.local_participant.set_attributes(attributes)
        except Exception:
            log.info("session %s: could not publish %s", self.session.id, ", ".join(attributes))


class CoachRoomManager:
    """The server's hooks into the coach: one CoachParticipant per session, models loaded once and shared."""

    def __init__(self, models: "Models", settings: Settings, *, new_room: Callable[[], Any] | None = None,
                 new_live: Callable[[], LiveInput] | None = None,
                 audio_frames: Callable[[Any], AsyncIterator[np.ndarray]] = sdk_audio_frames):
        self._models, self._settings, self._audio_frames = models, settings, audio_frames
        self._new_room = new_room or _sdk_room
        self._new_live = new_live or self._live_session
        self._coaches: dict[str, CoachParticipant] = {}

    def _live_session(self) -> LiveInput:
        from coach.live import LiveSession

        return LiveSession(self._models, self._settings)

    async def session_created(self, session, credentials: Credentials) -> None:
        self._coaches[session.id] = CoachParticipant(session, self._new_room, self._new_live(), credentials,
                                                    self._audio_frames)

    async def partner_joined(self, session) -> None:
        if coach := self._coaches.get(session.id):
            coach.partner_consented()

    async def set_paused(self, session, paused: bool) -> None:
        if coach := self._coaches.get(session.id):
            await coach.set_paused(paused)

    async def session_ended(self, session) -> None:
        if coach := self._coaches.pop(session.id, None):
            await coach.aclose()

    def state(self, session) -> str:
        coach = self._coaches.get(session.id)
        return coach.state if coach else "offline"

    def coach(self, session_id: str) -> CoachParticipant | None:
        return self._coaches.get(session_id)

    async def aclose(self) -> None:
        coaches, self._coaches = list(self._coaches.values()), {}
        await asyncio.gather(*(c.aclose() for c in coaches), return_exceptions=True)


def _sdk_room():
    from livekit import rtc

    return rtc.Room()
