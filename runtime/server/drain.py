"""Shutdown with a deadline: running requests and streams get `server.drain` seconds.

On SIGTERM/SIGINT Granian's worker stops accepting connections and waits for the open
ones to finish, with no limit of its own; the main process kills the worker after its
kill timeout, which would cut streams without an error event, unlogged. Relay bounds the
wait itself instead: every request runs inside a `scope()` (an `asyncio.timeout_at`
whose deadline is None until shutdown); `begin()` moves all of them, and any that start later, to one
deadline. At the deadline a request still waiting is answered with a 503/529 and a stream
still open ends with an error event (`runtime.server.app`), both logged; the worker then exits on
its own, before the kill.

Granian turns the signal into its own shutdown event inside the worker and offers no
hook, so `hook_worker_signals` wraps the function that installs that handler
(`granian._signals.set_loop_signals`, looked up when a worker starts, after the app module
is imported): the same handler runs, and relay's callback first.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import TracebackType
from typing import Any


class Drain:
    def __init__(self) -> None:
        self.deadline: float | None = None
        self._scopes: set[asyncio.Timeout] = set()

    @property
    def started(self) -> bool:
        return self.deadline is not None

    @property
    def in_flight(self) -> int:
        return len(self._scopes)

    def begin(self, seconds: float) -> None:
        if self.deadline is not None:
            return
        self.deadline = asyncio.get_running_loop().time() + seconds
        for scope in self._scopes:
            scope.reschedule(self.deadline)

    def expired(self) -> bool:
        return self.deadline is not None and asyncio.get_running_loop().time() >= self.deadline

    def scope(self) -> _Scope:
        """Raises TimeoutError at the drain deadline, if shutdown comes before the block ends."""
        return _Scope(self._scopes, self.deadline)


class _Scope:
    """`asyncio.timeout_at(deadline)` that `Drain.begin` can find and move (a class, not a
    generator: it wraps every request)."""

    __slots__ = ("_scopes", "_timeout")

    def __init__(self, scopes: set[asyncio.Timeout], deadline: float | None) -> None:
        self._scopes = scopes
        self._timeout = asyncio.timeout_at(deadline)

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()
        self._scopes.add(self._timeout)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._scopes.discard(self._timeout)
        await self._timeout.__aexit__(kind, exc, tb)


def hook_worker_signals(on_stop: Callable[[], None]) -> None:
    from granian import _signals

    install = getattr(_signals, "set_loop_signals", None)
    if install is None or getattr(install, "relay_hooked", False):
        return  # another Granian: it still drains, only without relay's deadline

    def set_loop_signals(loop: asyncio.AbstractEventLoop) -> Any:
        event = install(loop)

        def stop(signum: int) -> None:
            on_stop()
            event.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop, sig)
        return event

    set_loop_signals.relay_hooked = True  # type: ignore[attr-defined]
    _signals.set_loop_signals = set_loop_signals
