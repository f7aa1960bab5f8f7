"""Sessions, invites and rejoin codes: pure logic with an injectable clock, no I/O.

Codes are kept only as hashes. A session is live until it ends (the facilitator ends it, or it sat idle too long:
server/lifecycle.py); an ended one is kept a little while, so pages asking about it hear "ended", then forgotten."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable


class InviteError(Exception):
    """Why an invite or rejoin code cannot be redeemed; `status` is the HTTP status to answer with."""

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
    ended_at: float | None = None
    last_active: float = 0.0  # the last time anyone but the coach was seen in it (server/lifecycle.py)
    rejoin_digest: str | None = None  # the partner's one valid rejoin code, as a hash; replaced at every use
    extra: dict = field(default_factory=dict)


class SessionStore:
    def __init__(self, invite_ttl_s: float = 3600.0, clock: Callable[[], float] = time.time):
        self.invite_ttl_s = invite_ttl_s
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def now(self) -> float:
        return self._clock()

    def create(self) -> tuple[Session, str]:
        """A new session and its invite code (returned once, never stored in clear)."""
        sid = secrets.token_urlsafe(9)
        code = secrets.token_urlsafe(24)  # 192 bits: unguessable
        now = self._clock()
        session = Session(
            id=sid,
            room=f"nbp-{sid}",
            facilitator_identity=f"facilitator-{sid}",
            coach_identity=f"coach-{sid}",
            created=now,
            invite_digest=_digest(code),
            invite_expires=now + self.invite_ttl_s,
            last_active=now,
        )
        self._sessions[sid] = session
        return session, code

    def get(self, sid: str) -> Session | None:
        return self._sessions.get(sid)

    def all(self) -> list[Session]:
        return list(self._sessions.values())

    def live(self) -> list[Session]:
        return [s for s in self._sessions.values() if not s.ended]

    def discard(self, sid: str) -> None:
        """Forgets a session that never got going (its room could not be made)."""
        self._sessions.pop(sid, None)

    def touch(self, session: Session) -> None:
        session.last_active = self._clock()

    def redeem(self, code: str, name: str, consent: bool) -> tuple[Session, str]:
        """Admits one partner per invite, after consent. Returns the session and the partner's first rejoin code."""
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
                self.touch(s)
                return s, self._new_rejoin(s)
        raise InviteError("unknown invite code: check the link", 404)

    def _new_rejoin(self, session: Session) -> str:
        code = secrets.token_urlsafe(24)
        session.rejoin_digest = _digest(code)
        return code

    def rejoin(self, code: str) -> tuple[Session, str]:
        """The partner's session for a rejoin code, and the code that replaces it: each code works once, for the
        partner's own identity only, and no longer than the session."""
        digest = _digest(code)
        for s in self._sessions.values():
            if s.rejoin_digest and s.partner_identity and hmac.compare_digest(s.rejoin_digest, digest):
                if s.ended:
                    raise InviteError("this session has ended", 410)
                self.touch(s)
                return s, self._new_rejoin(s)
        raise InviteError("unknown rejoin code: open the invite link again or ask the facilitator for a new one", 404)

    def end(self, sid: str) -> Session | None:
        s = self._sessions.get(sid)
        if s and not s.ended:
            s.ended, s.ended_at = True, self._clock()
        return s

    def idle(self, idle_s: float) -> list[Session]:
        """Live sessions nobody but the coach has been in for `idle_s`."""
        now = self._clock()
        return [s for s in self.live() if now - s.last_active >= idle_s]

    def prune(self, keep_ended_s: float, max_ended: int = 32) -> list[Session]:
        """Forgets sessions ended more than `keep_ended_s` ago, and the oldest ended ones beyond `max_ended`."""
        now = self._clock()
        ended = sorted((s for s in self._sessions.values() if s.ended), key=lambda s: s.ended_at or 0.0)
        drop = [s for s in ended if now - (s.ended_at or 0.0) >= keep_ended_s]
        kept = [s for s in ended if s not in drop]
        drop += kept[: max(0, len(kept) - max_ended)]
        for s in drop:
            del self._sessions[s.id]
        return drop
