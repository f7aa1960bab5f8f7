"""Per-address rate limits: a sliding window of recent events per key, pure, with an injectable clock.

A LAN peer (or a web page) that hammers an endpoint is told to wait; one that stays within the limit never notices.
The keys held are bounded too, so a flood of addresses cannot grow memory without end.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from typing import Callable, Hashable


class SlidingWindow:
    """At most `limit` events per `window_s` seconds for each key."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000):
        if limit < 1 or window_s <= 0:
            raise ValueError("a limit needs at least one event per a positive window")
        self.limit, self.window_s, self.max_keys = limit, window_s, max_keys
        self._clock = clock
        self._events: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def _recent(self, key: Hashable, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and now - events[0] >= self.window_s:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    def wait_s(self, key: Hashable) -> float:
        """Seconds until `key` may act again; 0 when it may now."""
        now = self._clock()
        events = self._recent(key, now)
        if len(events) < self.limit:
            return 0.0
        return max(0.0, events[0] + self.window_s - now)

    def hit(self, key: Hashable) -> None:
        """Counts one event for `key`."""
        now = self._clock()
        events = self._recent(key, now)
        if key not in self._events:
            self._events[key] = events
            while len(self._events) > self.max_keys:  # the longest-quiet address goes first
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        events.append(now)
        while len(events) > self.limit:  # never more than the window can judge by
            events.popleft()

    def take(self, key: Hashable) -> float:
        """Counts one event when allowed and returns 0; else counts nothing and returns the seconds to wait."""
        wait = self.wait_s(key)
        if wait == 0.0:
            self.hit(key)
        return wait

    def clear(self, key: Hashable) -> None:
        self._events.pop(key, None)

    def __len__(self) -> int:
        return len(self._events)


def retry_after(wait_s: float) -> str:
    """The Retry-After header value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait_s)))
