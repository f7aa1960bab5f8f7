"""Fakes for the live path, behind the parts of livekit.rtc.Room and coach.live.LiveSession that the coach uses.

- FakeRoom   rtc.Room: events by name, remote participants and their publications, text streams recorded.
- FakeLive   coach.room.LiveInput: records the audio fed to it; `emit` plays the pipeline's events.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc


@dataclass
class FakeTrack:
    kind: int = rtc.TrackKind.KIND_AUDIO
    frames: list[np.ndarray] = field(default_factory=list)  # what "the microphone" says, then it stays open


class FakePublication:
    def __init__(self, room: "FakeRoom", participant: "FakeParticipant", source: int, kind: int):
        self._room, self._participant = room, participant
        self.source, self.kind, self.subscribed = source, kind, False
        self.track = FakeTrack(kind)
        self.sid = f"TR_{participant.identity}_{source}"

    def set_subscribed(self, subscribed: bool) -> None:
        was, self.subscribed = self.subscribed, subscribed
        if subscribed and not was:
            self._room.emit("track_subscribed", self.track, self, self._participant)


@dataclass
class FakeParticipant:
    identity: str
    track_publications: dict = field(default_factory=dict)


class FakeRoom:
    """A room the coach joins. `fail_connects` makes the first n joins fail, as when LiveKit is down."""

    instances: list["FakeRoom"] = []

    def __init__(self, fail_connects: int = 0):
        self.handlers: dict[str, list] = {}
        self.remote_participants: dict[str, FakeParticipant] = {}
        self.sent: list[tuple[str, list[str], dict]] = []
        self.attributes: dict[str, str] = {}
        self.connected = False
        self.fail_connects = fail_connects
        self.local_participant = self
        FakeRoom.instances.append(self)

    # rtc.Room
    def on(self, name, callback):
        self.handlers.setdefault(name, []).append(callback)

    async def connect(self, url, token, options=None):
        if self.fail_connects > 0:
            self.fail_connects -= 1
            raise ConnectionError("livekit-server is down")
        self.connected = True

    def isconnected(self) -> bool:
        return self.connected

    async def disconnect(self):
        self.connected = False

    # rtc.LocalParticipant
    async def send_text(self, text, *, topic, destination_identities):
        self.sent.append((topic, list(destination_identities), json.loads(text)))

    async def set_attributes(self, attributes):
        self.attributes.update(attributes)

    # driving it from a test
    def emit(self, name, *args):
        for callback in self.handlers.get(name, []):
            callback(*args)

    def join(self, identity: str) -> FakeParticipant:
        p = self.remote_participants[identity] = FakeParticipant(identity)
        self.emit("participant_connected", p)
        return p

    def publish(self, participant: FakeParticipant, source=rtc.TrackSource.SOURCE_MICROPHONE,
                kind=rtc.TrackKind.KIND_AUDIO) -> FakePublication:
        pub = FakePublication(self, participant, source, kind)
        participant.track_publications[pub.sid] = pub
        self.emit("track_published", pub, participant)
        return pub

    def leave(self, identity: str) -> None:
        p = self.remote_participants.pop(identity)
        self.emit("participant_disconnected", p)

    def drop(self) -> None:
        """LiveKit went away: the SDK gives up and says disconnected."""
        self.connected = False
        self.emit("disconnected", "server shutdown")

    def topics(self) -> list[str]:
        return [topic for topic, _, _ in self.sent]


async def fake_audio_frames(track: FakeTrack):
    for block in track.frames:
        yield block
    await asyncio.Event().wait()  # a microphone stays open until the track goes


class FakeLive:
    def __init__(self, fail_feed: bool = False):
        self.fed: list[np.ndarray] = []
        self.ended = 0
        self.paused = False
        self.closed = False
        self.fail_feed = fail_feed
        self.on_event = None

    def clock(self):
        return time.monotonic()

    async def feed(self, samples):
        if self.fail_feed:
            raise RuntimeError("injected failure in this session's pipeline")
        self.fed.append(samples)

    async def end_input(self):
        self.ended += 1

    def set_paused(self, paused):
        self.paused = paused

    async def aclose(self):
        self.closed = True

    async def emit(self, ev):
        await self.on_event(ev)
