"""LiveKit join tokens, minted only here: the API secret never reaches a browser."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from livekit import api


@dataclass(frozen=True)
class LiveKitKeys:
    api_key: str
    api_secret: str


def mint(
    keys: LiveKitKeys,
    *,
    room: str,
    identity: str,
    name: str,
    role: str,
    ttl_s: float,
    metadata: str = "",
) -> str:
    """One room, one server-chosen identity, short-lived. Roles: facilitator, partner, coach."""
    if role == "partner":
        # Camera and microphone only. No data: LiveKit would drop a partner's text streams anyway.
        grants = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True,
                                 can_publish_data=False, can_publish_sources=["camera", "microphone"])
    elif role == "facilitator":
        grants = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True,
                                 can_publish_data=True, can_publish_sources=["camera", "microphone"])
    elif role == "coach":
        # The coach never publishes media; it only listens and sends text to the facilitator. It shows its state
        # (listening, thinking, paused) as a participant attribute, which needs can_update_own_metadata.
        grants = api.VideoGrants(room_join=True, room=room, can_publish=False, can_subscribe=True,
                                 can_publish_data=True, can_update_own_metadata=True, hidden=False)
    else:
        raise ValueError(f"unknown role {role!r}")
    token = (
        api.AccessToken(keys.api_key, keys.api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_ttl(datetime.timedelta(seconds=ttl_s))
        .with_grants(grants)
        .with_metadata(metadata)
    )
    if role == "coach":
        token = token.with_kind("agent")
    return token.to_jwt()
