"""The coach in its room, without a server: consent gating, partner only, facilitator-only delivery, pause, leave and
rejoin, LiveKit dropping the coach, the history a reloaded page gets, and failures that stay inside one session."""

import asyncio
import logging
from types import SimpleNamespace

import numpy as np
import pytest
from livekit import rtc

from coach.events import CoachBehind, HintPartial, HintReady, HintStarted, Transcript
from coach.hints import Hint
from coach.room import TOPIC_HISTORY, CoachParticipant, CoachRoomManager
from tests.fakes_room import FakeLive, FakeRoom, fake_audio_frames

PARTNER, FACILITATOR = "partner-s1", "facilitator-s1"


def session(sid="s1", consented=True):
    return SimpleNamespace(id=sid, consented_at=1.0 if consented else None, partner_identity=f"partner-{sid}",
                           facilitator_identity=f"facilitator-{sid}")


async def settle(n=5):
    for _ in range(n):
        await asyncio.sleep(0)


def make_coach(sess=None, live=None, outages=()):
    """`outages`: how many joins fail (LiveKit down) before each join that works."""
    fails = list(outages)
    made: list[FakeRoom] = []

    def new_room():
        down = bool(fails) and fails[0] > 0
        if down:
            fails[0] -= 1
        elif fails:
            fails.pop(0)
        made.append(FakeRoom(fail_connects=1 if down else 0))
        return made[-1]

    coach = CoachParticipant(sess or session(), new_room, live or FakeLive(), lambda: ("ws://lk", "token"),
                             audio_frames=fake_audio_frames)
    return coach, made


def hint_ready(hint_id=1, turn=1):
    hint = Hint(summary="It sounds like a part of you is tired.", suggestion="Invite them to notice the tired part.",
                follow_ups=["Where do you feel it?", "How do you feel toward it?"])
    return HintReady(hint_id, hint, (turn,), 3.0, 4.0, {"speech_to_hint_s": 1.0})


async def test_listens_only_to_the_consenting_partners_microphone():
    live = FakeLive()
    coach, rooms = make_coach(session(consented=False), live)
    await settle()
    room = rooms[0]
    partner = room.join(PARTNER)
    mic = room.publish(partner)
    mic.track.frames = [np.ones(160, np.float32)]
    await settle()
    assert not mic.subscribed, "no consent yet: the coach must not listen"
    coach.partner_consented()
    await settle()
    assert mic.subscribed and len(live.fed) == 1
    assert room.attributes["coach_state"] == "listening"
    camera = room.publish(partner, source=rtc.TrackSource.SOURCE_CAMERA, kind=rtc.TrackKind.KIND_VIDEO)
    facilitator = room.join(FACILITATOR)
    their_mic = room.publish(facilitator)
    await settle()
    assert not camera.subscribed and not their_mic.subscribed  # the partner's microphone, nothing else
    await coach.aclose()


async def test_everything_goes_to_the_facilitator_only_and_pause_reaches_the_pipeline():
    live = FakeLive()
    coach, rooms = make_coach(live=live)
    await settle()
    await live.emit(Transcript(1, "A part of me is so tired.", 0.0, 3.0, 3.4, 0.3))
    await live.emit(HintStarted(1, (1,), 3.5))
    assert rooms[0].attributes["coach_state"] == "thinking"
    await live.emit(HintPartial(1, {"summary": "It sounds"}, 3.6))
    await settle()  # sends go out on the outbox's own task (a partial still waiting would give way to the final)
    await live.emit(hint_ready())
    await settle()
    assert rooms[0].topics() == ["coach.transcript", "coach.parts", "coach.hint", "coach.hint"]
    assert all(dest == [FACILITATOR] for _, dest, _ in rooms[0].sent)
    await live.emit(CoachBehind(7.4, 20.0))
    assert rooms[0].attributes["coach_behind"] == "7"
    await live.emit(CoachBehind(0.0, 30.0))
    assert rooms[0].attributes["coach_behind"] == ""
    await coach.set_paused(True)
    assert live.paused and rooms[0].attributes["coach_state"] == "paused"
    await coach.set_paused(False)
    assert not live.paused and rooms[0].attributes["coach_state"] == "waiting"
    await coach.aclose()
    assert live.closed and not rooms[0].connected


async def test_partner_leaving_mid_sentence_ends_the_input_and_a_rejoin_listens_again():
    live = FakeLive()
    coach, rooms = make_coach(live=live)
    await settle()
    room = rooms[0]
    mic = room.publish(room.join(PARTNER))
    mic.track.frames = [np.ones(160, np.float32)]
    await settle()
    room.leave(PARTNER)
    await settle()
    assert live.ended == 1, "the words before leaving must still be transcribed"
    assert room.attributes["coach_state"] == "waiting"
    mic = room.publish(room.join(PARTNER))  # back through the rejoin: same identity
    mic.track.frames = [np.ones(160, np.float32) * 0.5]
    await settle()
    assert mic.subscribed and len(live.fed) == 2
    await coach.aclose()


async def test_a_reloaded_facilitator_page_gets_the_whole_session_again():
    live = FakeLive()
    coach, rooms = make_coach(live=live)
    await settle()
    room = rooms[0]
    for turn in (1, 2, 3):
        await live.emit(Transcript(turn, f"Line {turn} about my inner critic.", turn, turn + 1, turn + 1.2, 0.2))
    await live.emit(HintPartial(1, {"summary": "It sounds"}, 3.6))
    await live.emit(hint_ready(1, 3))
    await settle()
    room.sent.clear()
    room.join(FACILITATOR)  # the page reloaded: the facilitator joins again
    await settle()
    assert room.topics() == [TOPIC_HISTORY]
    _, dest, history = room.sent[0]
    assert dest == [FACILITATOR]
    assert [line["turn_id"] for line in history["transcript"]] == [1, 2, 3]
    assert [h["id"] for h in history["hints"]] == [1] and history["hints"][0]["partial"] is False
    assert history["parts"]["parts"], "the parts map is part of the history"
    await coach.aclose()
    assert coach.history is None  # memory only: gone with the session


async def test_when_livekit_drops_the_coach_it_joins_again_and_resends_the_history():
    live = FakeLive()
    coach, rooms = make_coach(live=live, outages=[0, 2])  # after the drop, two joins fail: LiveKit is restarting
    await settle()
    first = rooms[0]
    first.join(FACILITATOR)
    first.publish(first.join(PARTNER))
    await settle()
    await live.emit(Transcript(1, "Said before the crash.", 0, 1, 1.2, 0.2))
    first.drop()
    await settle()
    assert coach.state == "offline" and live.ended == 1
    await live.emit(Transcript(2, "Said while the coach was away.", 1, 2, 2.2, 0.2))  # kept, sent later
    for _ in range(100):
        if coach.joins == 2:
            break
        await asyncio.sleep(0.1)
    assert coach.joins == 2, "the coach did not join again after LiveKit came back"
    second = rooms[-1]
    assert second is not first and second.connected
    second.join(FACILITATOR)
    await settle()
    history = [p for t, _, p in second.sent if t == TOPIC_HISTORY][-1]
    assert [line["turn_id"] for line in history["transcript"]] == [1, 2]
    await coach.aclose()


async def test_closing_while_livekit_is_down_stops_the_retries():
    coach, rooms = make_coach(outages=[10**6])
    await asyncio.sleep(0.2)
    assert coach.state == "offline"
    await asyncio.wait_for(coach.aclose(), 2)
    n = len(rooms)
    await asyncio.sleep(1.2)
    assert len(rooms) == n


async def test_a_failure_in_one_sessions_coach_is_logged_and_the_other_session_goes_on(caplog):
    caplog.set_level(logging.ERROR)
    made: dict[str, list[FakeRoom]] = {"a": [], "b": []}
    lives = {"a": FakeLive(fail_feed=True), "b": FakeLive()}
    order = iter(["a", "b"])
    current = {}

    def new_live():
        current["sid"] = next(order)
        return lives[current["sid"]]

    def new_room():
        room = FakeRoom()
        made[current["sid"]].append(room)
        return room

    manager = CoachRoomManager(None, None, new_room=new_room, new_live=new_live, audio_frames=fake_audio_frames)
    for sid in ("a", "b"):
        await manager.session_created(session(sid), lambda: ("ws://lk", "t"))
        await settle()
    for sid in ("a", "b"):
        room = made[sid][0]
        mic = room.publish(room.join(f"partner-{sid}"))
        mic.track.frames = [np.ones(160, np.float32)]
    await settle(10)
    assert any("injected failure" in str(r.exc_info[1]) for r in caplog.records if r.exc_info), \
        "the failing task's exception must be logged, not lost"
    assert len(lives["b"].fed) == 1
    await lives["b"].emit(hint_ready())
    await settle()
    assert made["b"][0].topics() == ["coach.hint"]
    await manager.aclose()
    assert lives["a"].closed and lives["b"].closed


def test_a_bad_mode_is_one_clear_error_at_start():
    from click.testing import CliRunner

    from coach.cli import main

    result = CliRunner().invoke(main, ["serve"], env={"COACH_MODE": "streaming-no-foo"})
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "COACH_MODE" in lines[0] and "streaming-no-foo" in lines[0], result.output


@pytest.mark.parametrize("bad", ["turbo", "streaming-no-", "tight-stt"])
def test_unknown_modes_fail_in_settings(bad):
    from pydantic import ValidationError

    from coach.config import Settings

    with pytest.raises(ValidationError):
        Settings(mode=bad)
