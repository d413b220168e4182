"""The per-worker body budget: never over its limit, first come first served, a cancelled
waiter leaves no trace, and going idle after a lot reports the peak (for malloc_trim)."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.server.body_budget import BodyBudget, Hold


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=30))
def test_grants_in_arrival_order_and_never_over_the_limit(sizes: list[int]) -> None:
    async def main() -> None:
        budget = BodyBudget(100)
        granted: list[int] = []
        holds = [Hold(budget) for _ in sizes]

        async def request(i: int) -> None:
            await holds[i].grow(sizes[i])
            assert budget.used <= budget.limit
            granted.append(i)

        tasks = [asyncio.create_task(request(i)) for i in range(len(sizes))]
        for i in range(len(sizes)):  # release each as soon as it is granted
            await asyncio.wait_for(tasks[i], 1)
            assert granted == list(range(len(granted)))  # FIFO: nobody overtook a waiter
            holds[i].release()
        assert budget.used == 0

    run(main())


def test_a_cancelled_waiter_leaves_the_queue_and_the_next_one_goes_in() -> None:
    async def main() -> None:
        budget = BodyBudget(100)
        first, second, third = Hold(budget), Hold(budget), Hold(budget)
        await first.grow(80)
        waiting = asyncio.create_task(second.grow(50))
        small = asyncio.create_task(third.grow(10))
        await asyncio.sleep(0)
        assert not small.done()  # 10 would fit, but it queues behind the 50
        waiting.cancel()
        await asyncio.wait_for(small, 1)
        assert budget.used == 90 and second.size == 0
        first.release()
        third.release()
        assert budget.used == 0

    run(main())


def test_idle_reports_the_peak_once() -> None:
    peaks: list[int] = []

    async def main() -> None:
        budget = BodyBudget(1000, on_idle=peaks.append)
        a, b = Hold(budget), Hold(budget)
        assert a.try_grow(300) and b.try_grow(500)
        a.release()
        b.release()
        b.release()  # twice is harmless
        assert a.try_grow(10)
        a.release()

    run(main())
    assert peaks == [800, 10]


def test_a_larger_limit_after_reload_lets_waiters_in() -> None:
    async def main() -> None:
        budget = BodyBudget(100)
        holder, waiter = Hold(budget), Hold(budget)
        await holder.grow(100)
        task = asyncio.create_task(waiter.grow(50))
        await asyncio.sleep(0)
        budget.set_limit(200)
        await asyncio.wait_for(task, 1)
        assert budget.used == 150

    run(main())
