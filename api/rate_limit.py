"""How fast callers without an account may use the hotline: token buckets.

Each key (a client address, or everybody at once) holds up to `burst`
tokens and earns `per_minute` of them a minute; a request spends one. The
buckets live in the process's memory: several app processes each apply the
limits to what they receive.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# Beyond this many addresses, those whose bucket is full again are forgotten.
MAX_KEYS = 50_000
EVERYONE = "*"


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = max(per_minute, 0.0) / 60.0
        self._burst = float(max(burst, 1))
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def wait(self, key: str) -> float:
        """Seconds until `key` may make a request (0: now); spends nothing."""
        tokens = self._bucket(key).tokens
        if tokens >= 1:
            return 0.0
        if self._rate == 0:
            return math.inf
        return (1 - tokens) / self._rate

    def spend(self, key: str) -> None:
        self._bucket(key).tokens -= 1

    def _bucket(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_KEYS:
                self._forget_idle(now)
            bucket = self._buckets[key] = _Bucket(tokens=self._burst, updated=now)
        else:
            earned = (now - bucket.updated) * self._rate
            bucket.tokens = min(self._burst, bucket.tokens + earned)
            bucket.updated = now
        return bucket

    def _forget_idle(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self._rate >= self._burst:
                del self._buckets[key]


def address_key(host: str | None) -> str:
    """Whom a client address stands for: IPv4 as it is, IPv6 by its /64
    (one subscriber's network holds more addresses than anyone could count)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def retry_after(seconds: float) -> int:
    """A Retry-After value: whole seconds, at least one."""
    if math.isinf(seconds):
        return 3600
    return max(1, math.ceil(seconds))


class WebchatLimits:
    """The web chat's limits: messages per address and overall, polls per address."""

    def __init__(
        self,
        *,
        address_per_minute: float,
        address_burst: int,
        overall_per_minute: float,
        overall_burst: int,
        polls_per_minute: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._address = RateLimiter(per_minute=address_per_minute, burst=address_burst, clock=clock)
        self._overall = RateLimiter(per_minute=overall_per_minute, burst=overall_burst, clock=clock)
        self._polls = RateLimiter(
            per_minute=polls_per_minute, burst=max(1, int(polls_per_minute)), clock=clock
        )

    def message(self, host: str | None) -> float:
        """0 and counted when a message from `host` may go in; else seconds to wait."""
        key = address_key(host)
        wait = max(self._address.wait(key), self._overall.wait(EVERYONE))
        if wait == 0:
            self._address.spend(key)
            self._overall.spend(EVERYONE)
        return wait

    def poll(self, host: str | None) -> float:
        key = address_key(host)
        wait = self._polls.wait(key)
        if wait == 0:
            self._polls.spend(key)
        return wait
