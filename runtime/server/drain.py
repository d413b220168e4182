"""Shutdown with a deadline: running requests and streams get `server.drain` seconds.

On SIGTERM/SIGINT Granian's worker stops accepting connections and waits for the open
ones to finish, with no limit of its own; the main process kills the worker after its
kill timeout, which would cut streams without an error event, unlogged. Relay bounds the
wait itself instead: every request runs inside a `scope()` (a `runtime.deadline.Deadline`
with no deadline until shutdown); `begin()` moves all of them, and any that start later, to one
deadline. At the deadline a request still waiting is answered with a 503/529 and a stream
still open ends with an error event (`runtime.server.app`), both logged; the worker then exits on
its own, before the kill. A second SIGINT (Ctrl-C again) moves the deadline to now
(`Drain.now`), so the same error events go out at once.

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

from runtime.deadline import Deadline


class Drain:
    def __init__(self) -> None:
        self.deadline: float | None = None
        self._scopes: dict[Deadline, bool] = {}
        """Every open scope, and whether it is a stream's tail."""

    @property
    def started(self) -> bool:
        return self.deadline is not None

    @property
    def in_flight(self) -> int:
        return len(self._scopes)

    @property
    def streams(self) -> int:
        return sum(self._scopes.values())

    def begin(self, seconds: float) -> None:
        if self.deadline is not None:
            return
        self._move(asyncio.get_running_loop().time() + seconds)

    def now(self) -> None:
        """Stop waiting: every request and stream still open meets its deadline at once."""
        self._move(asyncio.get_running_loop().time())

    def _move(self, deadline: float) -> None:
        self.deadline = deadline
        for scope in self._scopes:
            scope.move_to(deadline)

    def expired(self) -> bool:
        return self.deadline is not None and asyncio.get_running_loop().time() >= self.deadline

    def scope(self, stream: bool = False) -> _Scope:
        """Raises TimeoutError at the drain deadline, if shutdown comes before the block ends."""
        return _Scope(self._scopes, self.deadline, stream)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def draining_line(streams: int, requests: int, seconds: float) -> str:
    """What an operator who pressed Ctrl-C reads: what relay waits for, how long, how to stop now."""
    waiting = [_count(n, what) for n, what in ((streams, "stream"), (requests, "request")) if n]
    if not waiting:
        return "relay: stopping (nothing in flight)"
    return f"relay: draining {' and '.join(waiting)}, up to {seconds:g} s; Ctrl-C again to stop now"


def stopping_line(streams: int, requests: int) -> str:
    ending = [_count(n, what) for n, what in ((streams, "stream"), (requests, "request")) if n]
    if not ending:
        return "relay: stopping now"
    return f"relay: stopping now: ending {' and '.join(ending)} with an error in each client's format"


class _Scope:
    """A `Deadline` that `Drain.begin` can find and move, for as long as its block runs."""

    __slots__ = ("_deadline", "_scopes", "_stream", "_when")

    def __init__(self, scopes: dict[Deadline, bool], when: float | None, stream: bool) -> None:
        self._scopes = scopes
        self._stream = stream
        self._when = when
        self._deadline = Deadline(None)

    def __enter__(self) -> None:
        self._deadline.__enter__()
        if self._when is not None:
            self._deadline.move_to(self._when)
        self._scopes[self._deadline] = self._stream

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._scopes.pop(self._deadline, None)
        self._deadline.__exit__(kind, exc, tb)


def hook_worker_signals(on_stop: Callable[[int], None]) -> None:
    from granian import _signals

    install = getattr(_signals, "set_loop_signals", None)
    if install is None or getattr(install, "relay_hooked", False):
        return  # another Granian: it still drains, only without relay's deadline

    def set_loop_signals(loop: asyncio.AbstractEventLoop) -> Any:
        event = install(loop)

        stopping = False

        def stop(signum: int) -> None:
            nonlocal stopping
            on_stop(signum)
            if not stopping:  # set twice, Granian's worker stops serving the streams still open
                stopping = True
                event.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop, sig)
        return event

    set_loop_signals.relay_hooked = True  # type: ignore[attr-defined]
    _signals.set_loop_signals = set_loop_signals
