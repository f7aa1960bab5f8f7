"""LiveKit rooms, made only by us (livekit.yaml has room.auto_create off): a token for a room that we did not create,
or that we closed when its session ended, joins nothing.

`LiveKitRooms` speaks to livekit-server's RoomService; `MemoryRooms` stands in for it where there is no LiveKit
(tests of the API alone), with the same interface."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Protocol

import aiohttp

from server.tokens import LiveKitKeys

log = logging.getLogger("server.rooms")

CALL_TIMEOUT_S = 5.0  # a hung livekit-server must not hang the request that asked it


class RoomsUnavailable(Exception):
    """livekit-server could not be asked (down, restarting, or refusing)."""


class Rooms(Protocol):
    async def create(self, room: str) -> None:
        """Makes the room if it does not exist (so calling it again is harmless)."""

    async def delete(self, room: str) -> None:
        """Closes the room, disconnecting everyone in it; a room that is already gone is no error."""

    async def occupants(self) -> dict[str, set[str]]:
        """Every open room and the identities in it. Raises RoomsUnavailable when LiveKit cannot be asked."""


class LiveKitRooms:
    def __init__(self, url: str, keys: LiveKitKeys, client: Callable[[], aiohttp.ClientSession], *,
                 empty_timeout_s: int, departure_timeout_s: int):
        self._url, self._keys, self._client = url, keys, client
        # LiveKit's own clean-up of an emptied room, a backstop behind our idle expiry (server/lifecycle.py).
        self._empty_timeout_s, self._departure_timeout_s = empty_timeout_s, departure_timeout_s

    def _api(self):
        from livekit import api

        return api.LiveKitAPI(url=self._url, api_key=self._keys.api_key, api_secret=self._keys.api_secret,
                              session=self._client())

    async def _call(self, what: str, call):
        """`call()` makes the request. Every call here is idempotent, so one that fails on a pooled connection
        which the old livekit-server left behind (it restarted) is tried once more, on a new connection."""
        from livekit.api import TwirpError

        for attempt in (1, 2):
            try:
                return await asyncio.wait_for(call(), CALL_TIMEOUT_S)
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as e:
                if attempt == 2:
                    raise RoomsUnavailable(f"{what}: {type(e).__name__}") from e
            except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as e:
                raise RoomsUnavailable(f"{what}: {type(e).__name__}") from e
            except TwirpError as e:  # LiveKit answered, but no
                raise RoomsUnavailable(f"{what}: {e.code} {e.message}") from e

    async def create(self, room: str) -> None:
        from livekit import api

        request = api.CreateRoomRequest(name=room, empty_timeout=self._empty_timeout_s,
                                        departure_timeout=self._departure_timeout_s)
        await self._call("create room", lambda: self._api().room.create_room(request))

    async def delete(self, room: str) -> None:
        from livekit import api

        try:
            await self._call("delete room", lambda: self._api().room.delete_room(api.DeleteRoomRequest(room=room)))
        except RoomsUnavailable as e:  # already gone, or LiveKit down (then the room went with it)
            log.info("could not delete a room (%s)", e)

    async def occupants(self) -> dict[str, set[str]]:
        from livekit import api

        lk = self._api()
        listed = await self._call("list rooms", lambda: lk.room.list_rooms(api.ListRoomsRequest()))
        out: dict[str, set[str]] = {}
        for room in listed.rooms:
            out[room.name] = set()
            if room.num_participants:
                people = await self._call("list participants", lambda name=room.name: lk.room.list_participants(
                    api.ListParticipantsRequest(room=name)))
                out[room.name] = {p.identity for p in people.participants}
        return out


class MemoryRooms:
    """Rooms kept in a dict: for a server with no LiveKit, and for tests (set `occupied`, or `down`)."""

    def __init__(self):
        self.rooms: dict[str, set[str]] = {}
        self.created: list[str] = []
        self.deleted: list[str] = []
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise RoomsUnavailable("LiveKit is down (MemoryRooms.down)")

    async def create(self, room: str) -> None:
        self._check()
        self.rooms.setdefault(room, set())
        self.created.append(room)

    async def delete(self, room: str) -> None:
        self.rooms.pop(room, None)
        self.deleted.append(room)

    async def occupants(self) -> dict[str, set[str]]:
        self._check()
        return {name: set(people) for name, people in self.rooms.items()}
