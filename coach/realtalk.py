"""Real counselling talk for evaluation: client turns of real sessions, read at run time from the shared data folder.

Two sets are known: annomi-dev (motivational-interviewing demonstrations; each client turn with the counsellor's next
utterance and its annotated kind, e.g. "reflection") and counseling-dev (ESConv emotional-support chats). Their text is
third-party and never copied into the project: labels and scores are kept by turn id ("annomi:<transcript>:<utterance>",
"esconv:<conversation>:<turn>"). A missing folder is no error: the set is simply absent (callers skip it).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from coach.errors import CoachError

ANNOMI = "annomi-dev"
ESCONV = "counseling-dev"
SETS = (ANNOMI, ESCONV)


@dataclass(frozen=True)
class ClientTurn:
    id: str
    session: str  # the conversation the turn belongs to
    text: str
    reply: str | None = None  # what the counsellor said next, if anything
    reply_kind: str | None = None  # its annotation (annomi-dev: reflection | question | therapist_input | other)

    @property
    def words(self) -> int:
        return len(self.text.split())


def shared_data() -> Path:
    """Where the shared evaluation data lies: $COACH_SHARED_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("COACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _rows(path: Path) -> list[dict]:
    try:
        # the files spell a missing annotation as a bare NaN, which json accepts
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as e:
        raise CoachError(f"{path}: cannot read the real-talk set ({e}); check the file or remove it") from e


def _str(value) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


@dataclass(frozen=True)
class _Layout:
    """How one set's file spells a conversation, a turn, who speaks, and the counsellor's annotation."""

    file: str
    prefix: str
    session_key: str
    turn_key: str
    reply_kind_key: str
    is_client: Callable[[dict], bool]


_LAYOUTS = {
    ANNOMI: _Layout("annomi_dev.jsonl", "annomi", "transcript_id", "utterance_id", "therapist_behaviour",
                    lambda row: row.get("speaker") == "client"),
    ESCONV: _Layout("esconv_conversations_sample.jsonl", "esconv", "conversation_id", "turn_index", "helper_strategy",
                    lambda row: int(row.get("is_client", 0)) == 1),
}


def read_set(folder: Path, layout: _Layout) -> list[ClientTurn]:
    """The client turns of one set, each with the counsellor's next utterance in the same conversation."""
    rows = _rows(folder / layout.file)
    turns = []
    for i, row in enumerate(rows):
        if not layout.is_client(row):
            continue
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        same = (nxt is not None and nxt.get(layout.session_key) == row[layout.session_key]
                and not layout.is_client(nxt))
        turns.append(ClientTurn(
            id=f"{layout.prefix}:{row[layout.session_key]}:{row[layout.turn_key]}",
            session=f"{layout.prefix}:{row[layout.session_key]}",
            text=str(row["text"]),
            reply=str(nxt["text"]) if same else None,
            reply_kind=_str(nxt.get(layout.reply_kind_key)) if same else None,
        ))
    return turns


def real_talk(root: Path | None = None) -> dict[str, list[ClientTurn]]:
    """Every real-talk set present under `root` (default shared_data()), by name; absent ones are left out."""
    root = shared_data() if root is None else root
    return {name: read_set(root / name, _LAYOUTS[name]) for name in SETS if (root / name).is_dir()}


def sessions(turns: list[ClientTurn]) -> dict[str, list[ClientTurn]]:
    """The turns grouped by conversation, in order."""
    out: dict[str, list[ClientTurn]] = {}
    for turn in turns:
        out.setdefault(turn.session, []).append(turn)
    return out
