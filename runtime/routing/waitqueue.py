"""Bounded FIFO waiting for capacity, one queue per chain (issue 5 §5).

When every step of a chain is cooling down but one recovers within the chain's
`queue.max_wait`, a request waits here instead of failing. Only the head of a chain's queue
re-plans; it wakes when the soonest recovery is due or when an attempt ends anywhere
(`notify`), so waiting costs nothing per tick. A waiter that is cancelled (client gone)
leaves the queue and hands the head position on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Literal, NamedTuple

from runtime.clock import Clock
from runtime.routing.plan import Plan

Outcome = Literal["ready", "timeout", "full", "hopeless"]
"""ready: the plan has candidates; timeout: `deadline` passed; full: `max_depth` waiters ahead;
hopeless: nothing recovers before the deadline, so waiting cannot help."""


class Waited(NamedTuple):
    plan: Plan
    """The latest plan: with candidates when ready, else what to tell the client."""
    outcome: Outcome


class WaitQueues:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._queues: dict[str, deque[asyncio.Event]] = {}

    def depth(self, chain: str) -> int:
        queue = self._queues.get(chain)
        return len(queue) if queue else 0

    def depths(self) -> dict[str, int]:
        return {chain: len(queue) for chain, queue in sorted(self._queues.items()) if queue}

    def notify(self) -> None:
        """Capacity may have changed: let each chain's head look again."""
        for queue in self._queues.values():
            if queue:
                queue[0].set()

    async def wait(self, chain: str, max_depth: int, deadline: float, replan: Callable[[], Plan]) -> Waited:
        plan = replan()
        queue = self._queues.get(chain)
        if plan.candidates and not queue:
            return Waited(plan, "ready")
        if not plan.candidates and (plan.soonest_recovery is None or plan.soonest_recovery > deadline):
            return Waited(plan, "hopeless")
        if queue is None:
            queue = self._queues[chain] = deque()
        if len(queue) >= max_depth:
            return Waited(plan, "full")
        ticket = asyncio.Event()
        queue.append(ticket)
        try:
            while True:
                now = self._clock()
                wake_at = deadline
                if queue[0] is ticket:
                    plan = replan()
                    if plan.candidates:
                        return Waited(plan, "ready")
                    if plan.soonest_recovery is not None:
                        wake_at = min(deadline, plan.soonest_recovery)
                if now >= deadline:
                    return Waited(plan if queue[0] is ticket else replan(), "timeout")
                ticket.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ticket.wait(), max(0.0, wake_at - now))
        finally:
            head = queue[0] is ticket
            queue.remove(ticket)
            if head and queue:
                queue[0].set()
            if not queue:
                self._queues.pop(chain, None)
