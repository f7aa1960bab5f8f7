"""What the facilitator has been sent in this session, kept in memory only, so that a page reloaded mid-session (or
reconnected after LiveKit restarted) shows every transcript line and hint again. Gone when the session ends."""

from __future__ import annotations

from collections import OrderedDict

MAX_LINES = 5000  # about five hours of turns
MAX_HINTS = 500


class SessionHistory:
    def __init__(self, max_lines: int = MAX_LINES, max_hints: int = MAX_HINTS):
        self._max_lines, self._max_hints = max_lines, max_hints
        self._lines: OrderedDict[str, dict] = OrderedDict()  # turn id -> transcript payload (a repeat replaces)
        self._hints: OrderedDict[str, dict] = OrderedDict()  # hint id -> its final payload
        self._parts: dict | None = None

    def transcript(self, payload: dict) -> None:
        key = str(payload.get("turn_id"))
        self._lines[key] = payload
        self._lines.move_to_end(key)
        while len(self._lines) > self._max_lines:
            self._lines.popitem(last=False)

    def hint(self, payload: dict) -> None:
        """A finished hint or alert is kept; a withdrawn one is forgotten; partial ones are not history."""
        key = str(payload.get("id"))
        if payload.get("withdrawn"):
            self._hints.pop(key, None)
        elif not payload.get("partial"):
            self._hints[key] = payload
            while len(self._hints) > self._max_hints:
                self._hints.popitem(last=False)

    def parts(self, payload: dict) -> None:
        self._parts = payload

    def snapshot(self) -> dict:
        """Everything, oldest first: the page renders it as if it had arrived one by one."""
        return {"transcript": list(self._lines.values()), "hints": list(self._hints.values()), "parts": self._parts}

    def __bool__(self) -> bool:
        return bool(self._lines or self._hints or self._parts)

    def clear(self) -> None:
        self._lines.clear()
        self._hints.clear()
        self._parts = None
