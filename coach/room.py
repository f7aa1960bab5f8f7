"""The coach as a LiveKit participant: listens only to the consenting partner's microphone, and sends hints,
transcript lines and the parts map only to the facilitator, as text streams on `coach.hint`, `coach.transcript` and
`coach.parts`."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

import numpy as np

from coach.config import Settings
from coach.events import Event, HintFailed, HintPartial, HintReady, HintStarted, SafetyAlert, Transcript
from coach.live import LiveSession
from coach.parts import PartsMap
from coach.runtime import Models

if TYPE_CHECKING:
    from server.sessions import Session

log = logging.getLogger("coach.room")

TOPIC_HINT = "coach.hint"
TOPIC_TRANSCRIPT = "coach.transcript"
TOPIC_PARTS = "coach.parts"


def partial_payload(ev: HintPartial) -> dict:
    """The part of a hint written so far: the summary word by word, then each finished field."""
    return {"id": ev.hint_id, **ev.fields, "partial": True}


def hint_payload(ev: HintReady) -> dict:
    return {
        "id": ev.hint_id,
        **ev.hint.model_dump(),
        "turn_ids": list(ev.turn_ids),
        "latencies": {k: round(v, 3) for k, v in ev.latencies.items()},
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


class CoachParticipant:
    """One session's coach. Every failure stays inside this object: the server and other sessions go on."""

    def __init__(self, session: "Session", models: Models, settings: Settings, token: str, url: str):
        self.session = session
        self._models, self._settings = models, settings
        self._token, self._url = token, url
        self._room = None
        self._live: LiveSession | None = None
        self._audio_task: asyncio.Task | None = None
        self._parts: PartsMap | None = PartsMap()  # this session's parts map: memory only, dropped at aclose
        self._consented = session.consented_at is not None
        self.paused = False
        self.state = "starting"
        self._task = asyncio.create_task(self._run())

    # ---- lifecycle ---------------------------------------------------------------------------------------

    async def _run(self) -> None:
        from livekit import rtc

        try:
            self._live = LiveSession(self._models, self._settings, self._deliver)
            room = self._room = rtc.Room()
            room.on("track_published", self._on_track_published)
            room.on("track_subscribed", self._on_track_subscribed)
            room.on("track_unsubscribed", self._on_track_gone)
            room.on("participant_disconnected", self._on_participant_left)
            room.on("reconnecting", lambda: log.info("session %s: reconnecting to LiveKit", self.session.id))
            room.on("reconnected", self._on_reconnected)
            room.on("disconnected", self._on_disconnected)
            await room.connect(self._url, self._token, rtc.RoomOptions(auto_subscribe=False))
            log.info("session %s: coach joined the room", self.session.id)
            await self._set_state("waiting")
            self._subscribe_existing()
        except Exception:
            self.state = "offline"
            log.exception("session %s: the coach could not join the room", self.session.id)

    async def aclose(self) -> None:
        self._parts = None  # the session is over: its parts map goes with it
        if self._audio_task:
            self._audio_task.cancel()
        if self._live:
            await self._live.aclose()
        if self._room is not None:
            try:
                await self._room.disconnect()
            except Exception:
                log.info("session %s: disconnect failed (already gone)", self.session.id)
        self._task.cancel()
        self.state = "offline"

    def partner_consented(self) -> None:
        self._consented = True
        self._subscribe_existing()

    async def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if self._live:
            self._live.set_paused(paused)
        await self._set_state("paused" if paused else ("listening" if self._audio_task else "waiting"))

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

    def _on_disconnected(self, reason=None) -> None:
        """The room is gone (ended, or LiveKit gave up reconnecting): the facilitator's page shows the coach offline."""
        log.info("session %s: disconnected from LiveKit", self.session.id)
        if self._audio_task:
            self._audio_task.cancel()
            self._audio_task = None
        if self._live:
            asyncio.create_task(self._live.end_input())
        self.state = "offline"

    def _on_reconnected(self) -> None:
        log.info("session %s: reconnected to LiveKit", self.session.id)
        self._subscribe_existing()

    def _on_track_subscribed(self, track, publication, participant) -> None:
        from livekit import rtc

        if not self._wanted(publication, participant) or track.kind != rtc.TrackKind.KIND_AUDIO:
            publication.set_subscribed(False)
            return
        if self._audio_task:
            self._audio_task.cancel()
        self._audio_task = asyncio.create_task(self._listen(track))

    def _on_track_gone(self, track, publication, participant) -> None:
        if participant.identity == self.session.partner_identity:
            self._stop_listening()

    def _on_participant_left(self, participant) -> None:
        if participant.identity == self.session.partner_identity:
            log.info("session %s: partner left", self.session.id)
            self._stop_listening()

    def _stop_listening(self) -> None:
        if self._audio_task:
            self._audio_task.cancel()
            self._audio_task = None
        if self._live:  # the partner may have left mid-sentence: their last words are still transcribed
            asyncio.create_task(self._live.end_input())
        asyncio.create_task(self._set_state("paused" if self.paused else "waiting"))

    async def _listen(self, track) -> None:
        from livekit import rtc

        stream = rtc.AudioStream(track, sample_rate=16000, num_channels=1)
        await self._set_state("paused" if self.paused else "listening")
        try:
            async for event in stream:
                samples = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float32) / 32768.0
                await self._live.feed(samples)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("session %s: audio stream failed", self.session.id)
        finally:
            await stream.aclose()

    # ---- output: to the facilitator only -------------------------------------------------------------------

    async def _send(self, topic: str, payload: dict) -> None:
        room = self._room
        if room is None or not room.isconnected():
            return
        await room.local_participant.send_text(
            json.dumps(payload), topic=topic, destination_identities=[self.session.facilitator_identity]
        )

    async def _deliver(self, ev: Event) -> None:
        if isinstance(ev, Transcript):
            await self._send(TOPIC_TRANSCRIPT, {"turn_id": ev.turn_id, "text": ev.text, "t_start": round(ev.t_start, 2),
                                                "t_end": round(ev.t_end, 2)})
            if self._parts is not None and self._parts.update(ev.turn_id, ev.text):
                await self._send(TOPIC_PARTS, {"turn_id": ev.turn_id, "parts": self._parts.snapshot()})
        elif isinstance(ev, SafetyAlert):
            await self._send(TOPIC_HINT, alert_payload(ev))
        elif isinstance(ev, HintStarted):
            await self._set_state("thinking")
        elif isinstance(ev, HintPartial):
            await self._send(TOPIC_HINT, partial_payload(ev))
        elif isinstance(ev, HintReady):
            await self._send(TOPIC_HINT, hint_payload(ev))
            await self._set_state(self._idle_state())
        elif isinstance(ev, HintFailed):
            # Part of it may be on screen already: the page takes it down.
            await self._send(TOPIC_HINT, {"id": ev.hint_id, "partial": False, "withdrawn": True})
            await self._set_state(self._idle_state())

    def _idle_state(self) -> str:
        if self.paused:
            return "paused"
        return "listening" if self._audio_task else "waiting"

    async def _set_state(self, state: str) -> None:
        self.state = state
        room = self._room
        if room is None or not room.isconnected():
            return
        try:
            await room.local_participant.set_attributes({"coach_state": state})
        except Exception:
            log.info("session %s: could not publish coach state", self.session.id)


class CoachRoomManager:
    """The server's hooks into the coach: one CoachParticipant per session, models loaded once and shared."""

    def __init__(self, models: Models, settings: Settings):
        self._models, self._settings = models, settings
        self._coaches: dict[str, CoachParticipant] = {}

    async def session_created(self, session, coach_token: str, livekit_url: str) -> None:
        self._coaches[session.id] = CoachParticipant(session, self._models, self._settings, coach_token, livekit_url)

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

    async def aclose(self) -> None:
        for sid in list(self._coaches):
            coach = self._coaches.pop(sid)
            await coach.aclose()
