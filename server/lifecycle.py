"""How sessions end, and how they are kept bounded: ended by the facilitator, or when nobody but the coach has been
in them for `session_idle_s`; forgotten a while after; their rooms made again when livekit-server restarts.

Every end goes through `end_session`, so an expired session ends exactly as one the facilitator ended: no more
tokens, the coach released, the room closed (which disconnects everyone still in it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from server.rooms import RoomsUnavailable
from server.sessions import Session
from server.state import CONFIG, HOOKS, PARTNER_ADDRESSES, ROOMS, STORE

log = logging.getLogger("server.lifecycle")

KEEP_ENDED_S = 600.0  # an ended session still answers "ended" (to a page reloading) for this long, then is forgotten
SWEEP_EVERY_S = 30.0


async def end_session(app: web.Application, session: Session) -> None:
    """Ends the session; raises if the coach failed to stop (the session is ended all the same)."""
    app[STORE].end(session.id)
    app[PARTNER_ADDRESSES].pop(session.id, None)
    try:
        await app[HOOKS].session_ended(session)
    finally:
        await app[ROOMS].delete(session.room)


async def restore_rooms(app: web.Application) -> int:
    """Makes the rooms of live sessions again (after livekit-server restarted empty), so the coach and the pages,
    which rejoin by themselves, find them. Returns how many were made."""
    made = 0
    for session in app[STORE].live():
        try:
            await app[ROOMS].create(session.room)
            made += 1
        except RoomsUnavailable as e:
            log.warning("could not make the room of session %s again (%s)", session.id, e)
    return made


async def sweep(app: web.Application) -> None:
    """One pass: note who is in which room, make missing rooms again, end idle sessions, forget old ended ones."""
    store, rooms = app[STORE], app[ROOMS]
    try:
        occupants = await rooms.occupants()
    except RoomsUnavailable as e:  # LiveKit down or restarting: nobody can be in a room; judge by time alone
        log.info("could not list rooms (%s)", e)
        occupants = None
    for session in store.live():
        if occupants is None:
            continue
        people = occupants.get(session.room)
        if people is None:  # LiveKit lost it (restarted without our watchdog, or closed it itself)
            with contextlib.suppress(RoomsUnavailable):
                await rooms.create(session.room)
        elif people - {session.coach_identity}:
            store.touch(session)
    idle_s = app[CONFIG].settings.session_idle_s
    for session in store.idle(idle_s):
        log.info("session %s: nobody in it for %.0f min: ending it", session.id, idle_s / 60)
        try:
            await end_session(app, session)
        except Exception:
            log.exception("the coach of expired session %s did not stop cleanly", session.id)
    store.prune(KEEP_ENDED_S)


async def expiry(app: web.Application):
    """cleanup_ctx: sweeps while the app runs."""
    every = min(SWEEP_EVERY_S, max(0.05, app[CONFIG].settings.session_idle_s / 4))

    async def run() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await sweep(app)
            except Exception:  # one bad pass must not stop expiry for the rest of the run
                log.exception("session sweep failed")

    task = asyncio.create_task(run(), name="session expiry")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
