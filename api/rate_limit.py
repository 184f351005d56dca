"""How fast callers without an account may use the hotline: token buckets.

Each key (a client address, or everybody at once) holds up to `burst`
tokens and earns `per_minute` of them a minute; a request spends one. The
buckets live in the process's memory, or, when `HOTLINE_REDIS_URL` is set,
in Redis, shared by every app process: behind a proxy that spreads requests
over several processes, a sender must not get each process's allowance.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class Limit:
    """A family of buckets (one per key): its name, refill and size."""

    name: str
    per_minute: float
    burst: int


class Buckets(Protocol):
    async def take(self, wants: Sequence[tuple[Limit, str]]) -> float:
        """0 when every (limit, key) had a token, each then spent; else the
        seconds until all will, with nothing spent."""

    async def close(self) -> None: ...


class LocalBuckets:
    """The buckets in this process's memory (one app process)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._limiters: dict[Limit, RateLimiter] = {}

    async def take(self, wants: Sequence[tuple[Limit, str]]) -> float:
        limiters = [(self._limiter(limit), key) for limit, key in wants]
        wait = max(limiter.wait(key) for limiter, key in limiters)
        if wait == 0:
            for limiter, key in limiters:
                limiter.spend(key)
        return wait

    def _limiter(self, limit: Limit) -> RateLimiter:
        if limit not in self._limiters:
            self._limiters[limit] = RateLimiter(
                per_minute=limit.per_minute, burst=limit.burst, clock=self._clock
            )
        return self._limiters[limit]

    async def close(self) -> None:
        return None


# Checks every bucket and spends from all or none, in one step no other
# process can come between. Redis's clock, so processes on machines whose
# clocks disagree count alike. The wait goes back as text: Redis would cut a
# Lua number to an integer; -1 is "never" (a bucket that never refills).
_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local held = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local stored = redis.call('HMGET', key, 'tokens', 'updated')
  local tokens = burst
  if stored[1] then
    tokens = math.min(burst, tonumber(stored[1]) + (now - tonumber(stored[2])) * rate)
  end
  held[i] = tokens
  if tokens < 1 and wait >= 0 then
    if rate <= 0 then wait = -1 else wait = math.max(wait, (1 - tokens) / rate) end
  end
end
if wait == 0 then
  for i, key in ipairs(KEYS) do
    local rate = tonumber(ARGV[2 * i - 1])
    local burst = tonumber(ARGV[2 * i])
    redis.call('HSET', key, 'tokens', held[i] - 1, 'updated', now)
    -- Forgotten once full again: an absent bucket is a full one.
    local full_in = 3600
    if rate > 0 then full_in = math.ceil((burst - held[i] + 1) / rate) + 1 end
    redis.call('EXPIRE', key, full_in)
  end
end
return tostring(wait)
"""
# Keeps the hotline's buckets apart from anything else in the same Redis.
_PREFIX = "hotline:limit"


class SharedBuckets:
    """The buckets in Redis, the same for every app process."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)
        self._take = self._redis.register_script(_TAKE)

    async def take(self, wants: Sequence[tuple[Limit, str]]) -> float:
        keys = [f"{_PREFIX}:{limit.name}:{key}" for limit, key in wants]
        args = [
            value
            for limit, _ in wants
            for value in (max(limit.per_minute, 0.0) / 60.0, max(limit.burst, 1))
        ]
        try:
            answer = await self._take(keys=keys, args=args)
        except RedisError as error:
            # Refusing everyone while Redis is away would refuse workers in
            # danger too; the limits are back with it.
            logger.warning(
                "web chat limits not applied: Redis unavailable (%s)", type(error).__name__
            )
            return 0.0
        wait = float(answer)
        return math.inf if wait < 0 else wait

    async def close(self) -> None:
        await self._redis.aclose()


def buckets_for(redis_url: str | None) -> Buckets:
    return SharedBuckets(redis_url) if redis_url else LocalBuckets()


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
        buckets: Buckets,
    ) -> None:
        self._address = Limit("webchat:address", address_per_minute, address_burst)
        self._overall = Limit("webchat:overall", overall_per_minute, overall_burst)
        self._polls = Limit("webchat:polls", polls_per_minute, max(1, int(polls_per_minute)))
        self._buckets = buckets

    async def message(self, host: str | None) -> float:
        """0 and counted when a message from `host` may go in; else seconds to wait."""
        return await self._buckets.take(
            [(self._address, address_key(host)), (self._overall, EVERYONE)]
        )

    async def poll(self, host: str | None) -> float:
        return await self._buckets.take([(self._polls, address_key(host))])

    async def close(self) -> None:
        await self._buckets.close()
