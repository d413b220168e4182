"""`runtime.deadline.Deadline` keeps `asyncio.timeout`'s contract on a real event loop: a
block that outlives its delay raises TimeoutError, any other cancellation (a client that
left) stays a cancellation, even when both land together, and no timer outlives its block."""

from __future__ import annotations

import asyncio

import pytest

from runtime.deadline import Deadline


def test_a_block_that_outlives_its_delay_raises_timeout_error() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(TimeoutError), Deadline(0.05):
            await asyncio.sleep(5)
        assert 0.04 < loop.time() - t0 < 2
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0  # the task is as it was: not cancelling

    asyncio.run(main())


def test_a_block_that_ends_in_time_leaves_no_timer_behind() -> None:
    async def main() -> None:
        with Deadline(0.05):
            await asyncio.sleep(0)
        await asyncio.sleep(0.15)  # past the delay: a timer left behind would cancel this sleep

    asyncio.run(main())


def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def blocked(started: asyncio.Event) -> None:
        with Deadline(5):
            started.set()
            await asyncio.sleep(5)

    async def main() -> None:
        started = asyncio.Event()
        task = asyncio.create_task(blocked(started))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_a_cancellation_that_lands_with_the_deadline_is_not_swallowed() -> None:
    """The timer fires and a client's cancellation arrives in the same loop turn: the task
    must still end cancelled (the request is gone), not as a timeout. A delay of 0 puts the
    timer in the turn that resumes `main`, right after it."""

    async def main() -> None:
        inside = asyncio.Event()

        async def blocked() -> None:
            with Deadline(0):
                inside.set()
                await asyncio.Event().wait()

        task = asyncio.create_task(blocked())
        await inside.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_a_timeout_inside_a_cancelled_task_is_still_a_timeout_for_a_later_block() -> None:
    """Expiry is counted per block: a second block in the same task times out on its own."""

    async def main() -> None:
        for _ in range(2):
            with pytest.raises(TimeoutError), Deadline(0.01):
                await asyncio.sleep(1)

    asyncio.run(main())


def test_outside_a_task_it_says_so() -> None:
    def callback(done: asyncio.Future[None]) -> None:
        with pytest.raises(RuntimeError, match="in a task"), Deadline(1):
            pass
        done.set_result(None)

    async def main() -> None:
        done = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(callback, done)
        await done

    asyncio.run(main())


def test_without_a_delay_it_waits_until_moved() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        deadline = Deadline(None)
        with deadline:
            await asyncio.sleep(0.05)  # no timer: nothing cuts this
        deadline = Deadline(None)
        with pytest.raises(TimeoutError), deadline:
            deadline.move_to(loop.time() + 0.02)
            await asyncio.sleep(5)
        deadline.move_to(loop.time())  # after expiry: no timer, else it would cancel the sleep
        await asyncio.sleep(0.02)

    asyncio.run(main())


def test_nested_blocks_each_answer_for_their_own_expiry() -> None:
    """The drain's scope holds the body's and the upstream's limits: the inner one expiring
    is the inner block's TimeoutError, the outer one expiring is the outer block's."""

    async def main() -> None:
        with Deadline(5):
            with pytest.raises(TimeoutError), Deadline(0.01):
                await asyncio.sleep(1)
            await asyncio.sleep(0)  # the outer block goes on, uncancelled
        outer_cut = False
        try:
            with Deadline(0.01):
                with Deadline(5):
                    await asyncio.sleep(1)
                raise AssertionError("the inner block must not swallow the outer expiry")
        except TimeoutError:
            outer_cut = True
        assert outer_cut

    asyncio.run(main())
