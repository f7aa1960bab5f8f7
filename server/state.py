"""What the application keeps: its configuration and the typed keys of its state, in one place for every module."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import aiohttp
from aiohttp import web

from coach.config import Settings
from server.limits import SlidingWindow
from server.sessions import SessionStore
from server.tokens import LiveKitKeys


@dataclass
class ServerConfig:
    settings: Settings
    keys: LiveKitKeys
    lan_ip: str
    livekit_http: str  # where our proxy and the coach reach livekit-server, e.g. http://127.0.0.1:7880
    allowed_names: frozenset[str] = frozenset()  # Host names we answer to (server/trust.py)


@dataclass
class RateLimits:
    """Per-address limits. Generous for a person (a page that retries waits 1-5 s between tries), tight for a
    script."""

    create: SlidingWindow  # new sessions
    join: SlidingWindow  # invite redemptions, right or wrong
    rejoin: SlidingWindow
    passcode: SlidingWindow  # wrong facilitator passcodes only

    @classmethod
    def default(cls, clock: Callable[[], float] = time.monotonic) -> "RateLimits":
        return cls(create=SlidingWindow(20, 60.0, clock), join=SlidingWindow(10, 60.0, clock),
                   rejoin=SlidingWindow(30, 60.0, clock), passcode=SlidingWindow(5, 60.0, clock))


CONFIG = web.AppKey("config", ServerConfig)
STORE = web.AppKey("store", SessionStore)
HOOKS = web.AppKey("hooks", object)  # CoachHooks (server/app.py)
ROOMS = web.AppKey("rooms", object)  # Rooms (server/rooms.py)
HTTP = web.AppKey("http", aiohttp.ClientSession)
LIMITS = web.AppKey("limits", RateLimits)
FACILITATOR_SECRET = web.AppKey("facilitator_secret", str)
# session id -> the address its partner joined from, while the session lives: trusted by the connection guard, so the
# rest of the LAN can never crowd the partner out (server/connections.py)
PARTNER_ADDRESSES = web.AppKey("partner_addresses", dict)  # made at start, in memory only: one per launch
