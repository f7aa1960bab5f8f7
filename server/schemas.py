"""The JSON the API takes and gives, as pydantic models: requests are validated with them, answers built from them,
and the OpenAPI description (server/openapi.py) is generated from them, so the three cannot drift apart."""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

NAME_MAX = 60
# Letters that draw nothing (Hangul fillers, the blank braille pattern): a name made of them looks empty.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def clean_name(raw: str) -> str:
    """A display name as people will see it: NFKC (full-width and compatibility forms folded), without control,
    format (bidi overrides, zero-width joiners and spaces), private-use or unassigned characters, which could make
    a name read differently from what it is; runs of whitespace become one space."""
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or (unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs", "Cn")
                                       and ch not in _BLANK_LETTERS))
    return " ".join(text.split())


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invite: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_-]+$",
                        description="The code after # in the invite link.")
    name: str = Field(min_length=1, max_length=NAME_MAX, description="How the partner is shown to the facilitator.")
    consent: StrictBool = Field(description="Must be true: the partner agreed to the coach listening.")

    @field_validator("name")
    @classmethod
    def _clean_name(cls, v: str) -> str:
        v = clean_name(v)
        if not v:
            raise ValueError("name must not be blank (or made only of invisible characters)")
        if len(v) > NAME_MAX:
            raise ValueError(f"name must be at most {NAME_MAX} characters")
        return v


class RejoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rejoin: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_-]+$",
                        description="The code the last join or rejoin answered with (each works once).")


class ErrorBody(BaseModel):
    error: str = Field(description="Why, and what to do next.")


class Health(BaseModel):
    ok: bool


class FacilitatorCredentials(BaseModel):
    identity: str
    token: str | None = Field(description="A LiveKit join token; null once the session has ended.")


class FacilitatorView(BaseModel):
    session_id: str
    room: str
    livekit_url: str
    facilitator: FacilitatorCredentials
    coach_identity: str
    partner_identity: str | None
    coach_state: str
    ended: bool
    invite_url: str | None = Field(None, description="Only in the answer that created the session: shown once.")


class PartnerView(BaseModel):
    identity: str
    token: str
    livekit_url: str
    coach_identity: str
    rejoin: str = Field(description="The code for the next rejoin; the one just used no longer works.")


class ControlResult(BaseModel):
    session_id: str
    coach_state: str
    ended: bool
