"""A per-client sliding-window limit on anonymous intake, kept in memory.

One process's memory is enough for the embedded default; several instances each apply the
limit on their own (a shared store comes with the hardening work).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most `limit` events per `window` seconds per key."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[str, deque[float]] = {}

    def hit(self, key: str) -> int:
        """Count one event for `key`: 0 if allowed, else the seconds to wait before retrying."""
        now = self.clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return max(1, math.ceil(events[0] + self.window - now))
        events.append(now)
        if len(self._events) > 100_000:  # forget idle clients rather than grow without bound
            self._prune(now)
        return 0

    def wait(self, key: str) -> int:
        """The seconds `key` must wait before its next event is allowed; 0 now. Counts nothing
        (for limits on failures: check first, `hit` only when the attempt failed)."""
        now = self.clock()
        events = self._events.get(key)
        if not events:
            return 0
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) < self.limit:
            return 0
        return max(1, math.ceil(events[0] + self.window - now))

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
            del self._events[key]
