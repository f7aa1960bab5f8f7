"""Sessions and invites: pure logic with an injectable clock, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable


class InviteError(Exception):
    """Why an invite cannot be redeemed; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.status = status


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass
class Session:
    id: str
    room: str
    facilitator_identity: str
    coach_identity: str
    created: float
    invite_digest: str  # only a hash of the invite code is kept
    invite_expires: float
    partner_identity: str | None = None
    partner_name: str | None = None
    consented_at: float | None = None
    ended: bool = False
    extra: dict = field(default_factory=dict)


class SessionStore:
    def __init__(self, invite_ttl_s: float = 3600.0, clock: Callable[[], float] = time.time):
        self.invite_ttl_s = invite_ttl_s
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def create(self) -> tuple[Session, str]:
        """A new session and its invite code (returned once, never stored in clear)."""
        sid = secrets.token_urlsafe(9)
        code = secrets.token_urlsafe(24)  # 192 bits: unguessable
        session = Session(
            id=sid,
            room=f"nbp-{sid}",
            facilitator_identity=f"facilitator-{sid}",
            coach_identity=f"coach-{sid}",
            created=self._clock(),
            invite_digest=_digest(code),
            invite_expires=self._clock() + self.invite_ttl_s,
        )
        self._sessions[sid] = session
        return session, code

    def get(self, sid: str) -> Session | None:
        return self._sessions.get(sid)

    def all(self) -> list[Session]:
        return list(self._sessions.values())

    def redeem(self, code: str, name: str, consent: bool) -> Session:
        """Admit one partner per invite, after consent."""
        if not consent:
            raise InviteError("consent is required before joining", 400)
        digest = _digest(code)
        for s in self._sessions.values():
            if hmac.compare_digest(s.invite_digest, digest):
                if s.ended:
                    raise InviteError("this session has ended", 410)
                if s.partner_identity is not None:
                    raise InviteError("this invite has already been used", 409)
                if self._clock() > s.invite_expires:
                    raise InviteError("this invite has expired: ask the facilitator for a new link", 410)
                s.partner_identity = f"partner-{s.id}"
                s.partner_name = name
                s.consented_at = self._clock()
                return s
        raise InviteError("unknown invite code: check the link", 404)

    def end(self, sid: str) -> Session | None:
        s = self._sessions.get(sid)
        if s:
            s.ended = True
        return s
