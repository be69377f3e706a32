"""Rate limits per key (a client address or a user): a token bucket in this process."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


class RateLimitedError(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many requests; try again in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


@dataclass
class RateLimit:
    per_minute: int
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> None:
        """Spend one request of `key`'s allowance, or raise RateLimitedError."""
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise RateLimitedError((1.0 - tokens) / rate)
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:  # forget idle clients rather than grow forever
                self._buckets.clear()
