"""Per-user limits on /diagram: requests in flight at once, and requests per minute.

A refusal says why and how long to wait, so the message to the person can be friendly and
exact. Only granted requests count toward the minute, so being refused costs nothing.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_S = 60.0


@dataclass(frozen=True)
class Refusal:
    reason: str  # "in_flight" | "per_minute"
    limit: int
    wait_s: int  # whole seconds to wait; 0 for in_flight (it ends when the request does)


class UserLimits:
    def __init__(
        self, in_flight: int, per_minute: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.in_flight_limit = in_flight
        self.per_minute = per_minute
        self.clock = clock
        self.in_flight: dict[int, int] = defaultdict(int)
        self.started: dict[int, deque[float]] = defaultdict(deque)
        self.pruned = clock()

    def acquire(self, user_id: int) -> Refusal | None:
        """Count a new request of this user, or say why it must wait. Pair with release()."""
        now = self.clock()
        self._prune(now)
        recent = self.started[user_id]
        while recent and recent[0] <= now - WINDOW_S:
            recent.popleft()
        if self.in_flight[user_id] >= self.in_flight_limit:
            return Refusal("in_flight", self.in_flight_limit, 0)
        if len(recent) >= self.per_minute:
            return Refusal("per_minute", self.per_minute, math.ceil(recent[0] + WINDOW_S - now))
        recent.append(now)
        self.in_flight[user_id] += 1
        return None

    def release(self, user_id: int) -> None:
        self.in_flight[user_id] -= 1
        if self.in_flight[user_id] <= 0:
            del self.in_flight[user_id]

    def _prune(self, now: float) -> None:
        """Forget, once a minute, the people who asked nothing in the last minute."""
        if now - self.pruned < WINDOW_S:
            return
        self.pruned = now
        for user_id in [u for u, s in self.started.items() if not s or s[-1] <= now - WINDOW_S]:
            del self.started[user_id]
