"""Credentials kept fresh in the background, so a request only ever reads the current one.

One `Refresher` per cloud provider runs a task in the worker's event loop: it fetches a
credential (a botocore credential chain, a google-auth token, an Entra ID token; blocking
libraries run in a thread), then sleeps until shortly before it expires (`next_refresh`,
pure) and fetches again; a failed fetch is retried with backoff while the current credential
is still valid. The request path calls `current()`, which never fetches: before the first
fetch has finished it waits for that one (a worker that just started), after it returns what
is held, and it raises `NoCredentials` with the last error when nothing valid is held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, NamedTuple, TypeVar

from runtime.upstream.client import UpstreamConnectError

T = TypeVar("T")

log = logging.getLogger("relay.cloud")

MARGIN = 300.0
"""Refresh this long before expiry (at most half the credential's remaining life)."""
RECHECK = 300.0
"""Credentials without a stated expiry (static keys, botocore's own refreshing objects) are
fetched again this often, which is when botocore refreshes the ones that expire."""
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class NoCredentials(UpstreamConnectError):
    """No valid credential is held; the message says why (never a credential value). For the
    waterfall it is a request that never reached the upstream: the next step is tried."""


class Fetched(NamedTuple, Generic[T]):
    value: T
    expires_at: float | None
    """Wall-clock seconds (time.time()) when the value stops working; None: not stated."""


def next_refresh(now: float, expires_at: float | None) -> float:
    """Seconds until the next fetch after a successful one."""
    if expires_at is None:
        return RECHECK
    left = expires_at - now
    return max(min(left - min(MARGIN, left / 2), RECHECK), 1.0)


def retry_delay(failures: int) -> float:
    return BACKOFF[min(failures, len(BACKOFF)) - 1]


class Refresher(Generic[T]):
    def __init__(
        self,
        fetch: Callable[[], Awaitable[Fetched[T]]],
        what: str,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self.what = what
        self._wall = wall
        self._held: Fetched[T] | None = None
        self._error: str | None = None
        self._first = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.fetches = 0

    def start(self) -> None:
        """Begin fetching in the running loop; idempotent."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def start_if_running(self) -> None:
        """`start` when a loop runs (a transport made in a worker); else the first
        `current()` starts it."""
        with contextlib.suppress(RuntimeError):
            self.start()

    async def current(self) -> T:
        self.start()
        if not self._first.is_set():
            await self._first.wait()
        held = self._held
        if held is None:
            raise NoCredentials(f"{self.what}: {self._error}")
        if held.expires_at is not None and held.expires_at <= self._wall():
            raise NoCredentials(
                f"{self.what}: expired, refresh {'failing: ' + self._error if self._error else 'pending'}"
            )
        return held.value

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                fetched = await self._fetch()
            except Exception as exc:  # any library error: keep serving what is held, retry
                failures += 1
                self._error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("%s: refresh failed (%s), retrying", self.what, self._error)
                delay = retry_delay(failures)
            else:
                failures = 0
                self._error = None
                self.fetches += 1
                self._held = fetched
                delay = next_refresh(self._wall(), fetched.expires_at)
            self._first.set()
            await asyncio.sleep(delay)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
