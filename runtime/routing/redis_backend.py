"""Routing state shared through Redis by every worker and every instance (issue 5 §6).

Hot path: `reserve` is one pipelined round trip carrying any writes waiting to go out plus
one Lua script that, atomically, refuses a key that is cooling, backing off, breaker-open or
out of shared quota (under the panic rule only a stated cooldown, windows and concurrency
count), checks and bumps its windows and concurrency, and returns what other processes
published so the local view adopts it. Writes (cooldowns, open breakers, learned quotas,
releases) never wait for Redis: they ride along with the next `reserve`, or go out after
FLUSH_DELAY when traffic is idle. Keys are named by provider and key fingerprint, so hosts
with the same key share its state and no secret reaches Redis.

Under load the round trips are shared: a reserve asked while another's round trip is in
flight (many arrive in one event-loop pass) queues, and when that round trip is back
everything queued goes out in the next, up to BATCH reserves in one run of the script, each
as if alone and in the order asked, answered by one JSON array. redis-py's cost per command
(pool, retry wrapper, packing and parsing in Python) and Redis's per-command cost are then
paid once per batch: with 1 worker at 256 connections a batch carried 56-62 reserves and
relay's CPU per request fell from 444-540 µs to 267-329 (docs/performance.md). A request at
low load goes out at once, alone, as before; no timer is added. Every member of a batch whose
round trip fails falls back to local state as a lone reserve would.

Windows in Redis are 60 buckets per span, each counted until it has wholly left the window:
slightly conservative, never over a limit. Times in Redis are its own `TIME`, so hosts with
skewed clocks agree; each reply refreshes the offset to the local monotonic clock.

When Redis is unreachable the backend degrades to the local view with a warning, keeps the
writes (including the reservations it granted meanwhile), and replays them once a
background ping succeeds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

from runtime.clock import Clock, monotonic
from runtime.routing.backend import SharedCounts
from runtime.routing.changes import Change, Hook, ignore
from runtime.routing.health import ProviderHealth
from runtime.routing.keystate import KeyState, Reservation
from runtime.routing.ratelimit import RateInfo
from runtime.routing.redis_scripts import EXTEND, FIELDS, RESERVE, decode_replies, number, verdict

FLUSH_DELAY = 0.05
POOL_SIZE = 32
"""Redis connections per worker. More requests in flight than this wait for a connection:
being busy is no reason to fall back to local state (an unbounded pool opened one
connection per concurrent request, and past redis-py's default ceiling of 100 every
further request failed with "Too many connections" and fell back)."""
POOL_WAIT = 5.0
"""Seconds a request waits for a free connection before that counts as Redis failing."""
RETRY_EVERY = 1.0
LEASE_TTL = 900.0
"""A concurrency slot held by a process that died frees itself after this long."""
STATE_TTL = 9 * 86400
MAX_PENDING = 100_000
BUCKETS = 60
BATCH = 64
"""Most reserves one round trip carries, so that its reply stays small."""

Write = Callable[[Any], None]
"""One queued write: adds its commands to a pipeline."""


class Ask(NamedTuple):
    """One reserve waiting for the round trip in flight to come back, to go out with the next."""

    keys: list[str]
    args: list[Any]
    answer: asyncio.Future[list[str]]


class RedisBackend:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        clock: Clock = monotonic,
        prefix: str = "relay",
        retry_every: float = RETRY_EVERY,
    ) -> None:
        self._redis = client
        self._retry_every = retry_every
        self._clock = clock
        self._prefix = prefix
        self._reserve_sha: str | None = None
        self._pending: deque[Write] = deque()
        self._asking = False
        """A reserve round trip is in flight: reserves asked meanwhile queue for the next."""
        self._queued: deque[Ask] = deque()
        self._batch: asyncio.Task[None] | None = None
        """The batch going out (held so that the loop's weak reference is not its only one)."""
        self._offset = clock() - time.time()
        """Local monotonic minus Redis time; refreshed by every reply."""
        self._degraded = False
        self._flusher: asyncio.TimerHandle | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._leases = itertools.count()
        self._instance = os.urandom(6).hex()
        self.round_trips = 0
        self.reserves = 0
        self.fallbacks = 0
        """Times this worker fell back to local state (each logged, each a `redis_degraded` event)."""
        self.log = logging.getLogger("relay.state")
        self.hook: Hook = ignore

    @classmethod
    def from_url(
        cls, url: str, *, clock: Clock = monotonic, retry_every: float = RETRY_EVERY
    ) -> RedisBackend:
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=POOL_WAIT,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            decode_responses=True,
        )
        return cls(aioredis.Redis.from_pool(pool), clock=clock, retry_every=retry_every)

    # -- names ----------------------------------------------------------------------------

    def _key(self, state: KeyState, suffix: str) -> str:
        return f"{self._prefix}:{{{state.provider}:{state.fingerprint}}}:{suffix}"

    def _provider_key(self, provider: str) -> str:
        return f"{self._prefix}:provider:{provider}"

    def _windows(self, state: KeyState, local: Reservation) -> list[tuple[str, float, int, float]]:
        """(Redis key, span, effective limit, units this request needs) per configured window,
        as the local reservation counted them."""
        return [
            (self._key(state, f"w{w.span:g}{kind}"), w.span, w.limit, entry[1])
            for kind, entries in (("r", local.request_entries), ("t", local.token_entries))
            for w, entry in entries
        ]

    # -- hot path -------------------------------------------------------------------------

    async def reserve(
        self,
        state: KeyState,
        health: ProviderHealth,
        now: float,
        tokens: int,
        prompt: int | None,
        force: bool,
    ) -> Reservation | None:
        local = state.reserve(now, tokens, prompt, force=force)
        if local is None:
            return None
        self.reserves += 1
        windows = self._windows(state, local)
        if self._degraded:
            self._enqueue(self._replay_windows(windows))
            return local
        # A lease is only held (and later released) under a concurrency limit; without one the
        # script never adds it, so there is nothing to name or remove.
        limit = -1 if state.max_inflight is None else state.max_inflight
        lease = f"{self._instance}:{next(self._leases)}" if limit >= 0 else ""
        keys = [self._key(state, "k"), self._provider_key(state.provider), self._key(state, "c")]
        keys += [key for key, _, _, _ in windows]
        args: list[Any] = [local.tokens, lease, LEASE_TTL, limit, len(windows), int(force)]
        for _, span, cap, need in windows:
            args += [span, cap, need]
        try:
            reply = await self._ask(keys, args)
        except RedisError as exc:
            self._degrade(exc)
            self._enqueue(self._replay_windows(windows))
            return local
        return self._adopt(reply, state, health, local, lease, keys, [need for _, _, _, need in windows])

    async def _ask(self, keys: list[str], args: list[Any]) -> list[str]:
        """The reserve script's reply for one reserve. With no reserve round trip in flight it
        goes out at once, alone; otherwise it queues, and everything queued goes out together
        (BATCH at a time) the moment the round trip in flight is back, so under load Redis's
        and redis-py's cost per command is paid once per batch, not once per request."""
        if self._asking:
            answer: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
            self._queued.append(Ask(keys, args, answer))
            return await answer
        self._asking = True
        try:
            return verdict((await self._call([(keys, args)]))[0])
        finally:
            self._next_batch()

    def _next_batch(self) -> None:
        if self._queued:
            self._batch = asyncio.get_running_loop().create_task(self._send_batch())
        else:
            self._asking = False

    async def _send_batch(self) -> None:
        """One round trip for the reserves queued first; each waiter gets its own reply, or the
        error to degrade on, in the order they asked."""
        batch: list[Ask] = []
        while self._queued and len(batch) < BATCH:
            ask = self._queued.popleft()
            if not ask.answer.done():  # not cancelled meanwhile (its client left)
                batch.append(ask)
        try:
            if self._degraded:  # a round trip failed while they waited: local state, as if asked now
                raise RedisError("redis state degraded while waiting")
            replies = await self._call([(ask.keys, ask.args) for ask in batch]) if batch else []
        except BaseException as exc:
            for ask in batch:
                if ask.answer.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    ask.answer.cancel()
                else:
                    ask.answer.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for ask, reply in zip(batch, replies, strict=True):
                if ask.answer.done():
                    continue
                try:
                    ask.answer.set_result(verdict(reply))
                except RedisError as exc:
                    ask.answer.set_exception(exc)
        finally:
            self._next_batch()

    def _adopt(
        self,
        reply: list[str],
        state: KeyState,
        health: ProviderHealth,
        local: Reservation,
        lease: str,
        keys: list[str],
        needs: list[float],
    ) -> Reservation | None:
        refuse, redis_now = reply[0], number(reply[1]) or 0.0
        if refuse:
            state.cancel(local)  # before adopting, so the refund cannot undo what is adopted
        local_now = self._clock()
        self._offset = local_now - redis_now
        fields = [reply[3], reply[4], reply[5], reply[7], reply[8], reply[9], reply[10], reply[12], reply[13]]
        self._adopt_published(state, health, redis_now, [*fields, reply[14], reply[15]], reply[6])
        if refuse:
            until = number(reply[2]) or 0.0
            if refuse == "window" and until > redis_now:
                state.cool(until + self._offset, "key exhausted (window shared with other workers)")
            elif refuse == "concurrency":
                state.cool(local_now + 0.25, "at concurrency limit (shared with other workers)")
            state.invalidate()
            return None
        slots = [int(s) for s in str(reply[11]).split(",") if s]
        return local._replace(shared=(lease, keys, slots, needs))

    def _adopt_published(
        self, state: KeyState, health: ProviderHealth, redis_now: float, k: list[Any], provider_open: Any
    ) -> None:
        """What other processes published for this key (`k`: its hash's fields in `FIELDS`
        order) and its provider, laid over the local view."""
        cool_until, key_open = number(k[0]), number(k[2])
        if cool_until and cool_until > redis_now:
            state.cool(cool_until + self._offset, k[1] or "cooldown (shared)")
        backoff_until = number(k[7])
        if backoff_until and backoff_until > redis_now:
            state.cool(backoff_until + self._offset, k[8] or "backoff (shared)", stated=False)
        if key_open and key_open > redis_now:
            state.breaker.force_open(key_open + self._offset)
            state.invalidate()
        p_open = number(provider_open)
        if p_open and p_open > redis_now:
            health.breaker.force_open(p_open + self._offset)
        for quota, left, reset, said in (
            (state.request_quota, k[3], k[4], k[9]),
            (state.token_quota, k[5], k[6], k[10]),
        ):
            remaining, reset_at = number(left), number(reset)
            if remaining is not None and reset_at is not None and reset_at > redis_now:
                quota.adopt(max(0.0, remaining), reset_at + self._offset, number(said))
                state.invalidate()

    # -- the operator's view ----------------------------------------------------------------

    async def peek(self, keys: Sequence[tuple[KeyState, ProviderHealth]]) -> dict[str, SharedCounts]:
        """Read what every worker and instance shares for these keys, in one pipelined round
        trip that writes nothing: cooldowns, backoffs, breakers and quotas published by others
        are adopted into the local view, and the shared window and concurrency counts come back
        per key slot (`/admin/state` shows those, not this worker's share). Empty when degraded."""
        if self._degraded or not keys:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        pipe.time()
        for state, _ in keys:
            pipe.hmget(self._key(state, "k"), FIELDS)
            pipe.hget(self._provider_key(state.provider), "open_until")
            pipe.zrange(self._key(state, "c"), 0, -1, withscores=True)
            for kind, window in state.windows():
                pipe.hgetall(self._key(state, f"w{window.span:g}{kind}"))
        try:
            replies = await pipe.execute()
        except RedisError as exc:
            self._degrade(exc)
            return {}
        seconds, micros = replies[0]
        redis_now = int(seconds) + int(micros) / 1e6
        self._offset = self._clock() - redis_now
        found: dict[str, SharedCounts] = {}
        at = 1
        for state, health in keys:
            fields, p_open, leases = replies[at], replies[at + 1], replies[at + 2]
            at += 3
            self._adopt_published(state, health, redis_now, list(fields), p_open)
            used: dict[tuple[str, float], float] = {}
            for kind, window in state.windows():
                current = math.floor(redis_now / (window.span / BUCKETS))
                used[(kind, window.span)] = sum(
                    float(v) for b, v in replies[at].items() if int(float(b)) >= current - BUCKETS
                )
                at += 1
            inflight = sum(1 for _, expires in leases if float(expires) > redis_now)
            found[state.slot] = SharedCounts(used, inflight)
        return found

    def release(self, state: KeyState, reservation: Reservation, tokens_used: int | None) -> None:
        state.release(reservation, tokens_used)
        if not isinstance(reservation.shared, tuple):
            return
        lease, keys, slots, needs = reservation.shared
        corrections = [
            (key, slot, tokens_used - need)
            for key, slot, need in zip(keys[3:], slots, needs, strict=False)
            if tokens_used is not None and key.endswith("t") and tokens_used != need
        ]
        if not lease and not corrections:
            return  # no lease was taken and no count is off: nothing to write

        def write(pipe: Any) -> None:
            if lease:
                pipe.zrem(keys[2], lease)
            for key, slot, delta in corrections:
                pipe.hincrbyfloat(key, str(slot), delta)

        self._enqueue(write)

    # -- writes ---------------------------------------------------------------------------

    def cooled(self, state: KeyState, until: float, reason: str, stated: bool) -> None:
        fields = ("cool_until", "cool_reason") if stated else ("soft_until", "soft_reason")
        self._extend(self._key(state, "k"), fields[0], until, fields[1], reason)

    def tripped(self, provider: str, state: KeyState | None, until: float) -> None:
        key = self._provider_key(provider) if state is None else self._key(state, "k")
        self._extend(key, "open_until", until, "", "")

    def recovered(self, provider: str, state: KeyState | None) -> None:
        key = self._provider_key(provider) if state is None else self._key(state, "k")

        def write(pipe: Any) -> None:
            pipe.hdel(key, "open_until", "soft_until")

        self._enqueue(write)

    def learned(self, state: KeyState, info: RateInfo) -> None:
        fields: dict[str, float] = {}
        for prefix, remaining, reset in (
            ("rq", info.remaining_requests, info.reset_requests_at),
            ("tq", info.remaining_tokens, info.reset_tokens_at),
        ):
            if remaining is not None and reset is not None:
                fields[f"{prefix}_left"] = fields[f"{prefix}_said"] = remaining
                fields[f"{prefix}_reset"] = reset - self._offset
        if not fields:
            return
        key = self._key(state, "k")

        def write(pipe: Any) -> None:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, STATE_TTL)

        self._enqueue(write)

    def _extend(self, key: str, field: str, until: float, reason_field: str, reason: str) -> None:
        epoch = until - self._offset

        def write(pipe: Any) -> None:
            pipe.eval(EXTEND, 1, key, field, repr(epoch), reason_field, reason, STATE_TTL)

        self._enqueue(write)

    def _replay_windows(self, windows: list[tuple[str, float, int, float]]) -> Write:
        """A reservation granted locally while Redis was away, to count once it is back."""
        epoch = self._clock() - self._offset

        def write(pipe: Any) -> None:
            for key, span, _, need in windows:
                pipe.hincrbyfloat(key, str(math.floor(epoch / (span / BUCKETS))), need)
                pipe.expire(key, math.ceil(span * 2))

        return write

    def _enqueue(self, write: Write) -> None:
        if len(self._pending) >= MAX_PENDING:
            self._pending.popleft()
        self._pending.append(write)
        if self._degraded or self._flusher is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the next reserve carries it
        self._flusher = loop.call_later(FLUSH_DELAY, self._start_flush)

    def _start_flush(self) -> None:
        self._flusher = None
        if not self._degraded and self._pending:
            self._flushing = asyncio.get_running_loop().create_task(self.flush())

    # -- transport ------------------------------------------------------------------------

    async def _load_script(self) -> str:
        sha: str = await self._redis.script_load(RESERVE)
        self._reserve_sha = sha
        self.round_trips += 1
        return sha

    async def _call(self, reserves: Sequence[tuple[list[str], list[Any]]]) -> list[list[str]]:
        """One round trip: every pending write, then the reserve script for `reserves` (keys and
        arguments of each) when there are any; the script's reply per reserve is returned. With
        no writes waiting (most requests, when no key has a concurrency limit) the script goes
        alone, without the cost of a pipeline.

        A failed write (say WRONGTYPE on a key someone else uses) is dropped, not retried: state
        sharing is advice, and the request in hand must not fail for it."""
        keys = [key for ask_keys, _ in reserves for key in ask_keys] if reserves else None
        args = [arg for _, ask_args in reserves for arg in ask_args]
        sha = self._reserve_sha or (await self._load_script() if keys is not None else "")
        reply: Any
        self.round_trips += 1
        if keys is not None and not self._pending:
            try:
                reply = await self._redis.evalsha(sha, len(keys), *keys, *args)
            except NoScriptError as exc:
                reply = exc
        else:
            writes = list(self._pending)
            self._pending.clear()
            try:
                pipe = self._redis.pipeline(transaction=False)
                for write in writes:
                    write(pipe)
                if keys is not None:
                    pipe.evalsha(sha, len(keys), *keys, *args)
                results = await pipe.execute(raise_on_error=False)
            except BaseException:
                self._pending.extendleft(reversed(writes))
                raise
            if keys is None:
                return []
            reply = results[-1]
        if isinstance(reply, NoScriptError):  # Redis restarted and lost its script cache
            sha = await self._load_script()
            self.round_trips += 1
            reply = await self._redis.evalsha(sha, len(keys), *keys, *args)
        return self._decode(reply, len(reserves))

    def _decode(self, reply: Any, count: int) -> list[list[str]]:
        if isinstance(reply, Exception):
            raise RedisError(str(reply))
        try:
            replies = decode_replies(reply)
        except msgspec.DecodeError as exc:
            raise RedisError(f"reserve script replied {reply!r:.80}") from exc
        if len(replies) != count:
            raise RedisError(f"reserve script answered {len(replies)} of {count} reserves")
        return replies

    def _degrade(self, exc: BaseException) -> None:
        if not self._degraded:
            self.fallbacks += 1
            self.log.warning(
                "redis state unreachable or failing, routing on local state until it answers: %s", exc
            )
            self.hook(Change("redis_degraded", reason=type(exc).__name__))
        self._degraded = True
        with contextlib.suppress(RuntimeError):
            if self._reconnect is None or self._reconnect.done():
                self._reconnect = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        while self._degraded:
            await asyncio.sleep(self._retry_every)
            try:
                await self._redis.ping()
                self._degraded = False
                await self._call(())
            except RedisError:
                self._degraded = True
                continue
            self.log.warning("redis state is back; local changes replayed")
            self.hook(Change("redis_recovered"))

    # -- views ----------------------------------------------------------------------------

    @property
    def degraded(self) -> bool:
        return self._degraded

    def snapshot(self) -> dict[str, object]:
        return {
            "backend": "redis",
            "degraded": self._degraded,
            "fallbacks": self.fallbacks,
            "pending_writes": len(self._pending),
            "round_trips": self.round_trips,
            "reserves": self.reserves,
        }

    async def flush(self) -> None:
        """Send every waiting write now (shutdown, tests); a no-op while degraded."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        if self._pending and not self._degraded:
            try:
                await self._call(())
            except RedisError as exc:
                self._degrade(exc)

    async def close(self) -> None:
        await self.flush()
        if self._reconnect is not None:
            self._reconnect.cancel()
        await self._redis.aclose()
