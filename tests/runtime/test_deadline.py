"""`runtime.deadline.Deadline` keeps `asyncio.timeout`'s contract on a real event loop: a
block that outlives its delay raises TimeoutError, any other cancellation (a client that
left) stays a cancellation, even when both land together, and no timer outlives its block."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime import deadline
from runtime.deadline import Deadline

LATE = deadline.GRAIN + deadline._SLACK
"""The most a block on the shared timer may end after its time."""


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


@pytest.fixture
def coarse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every delay on the shared timer, so short tests exercise it."""
    monkeypatch.setattr(deadline, "COARSE", 0.0)


@pytest.mark.usefixtures("coarse")
def test_long_blocks_on_the_shared_timer_expire_late_by_at_most_a_grain() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(TimeoutError), Deadline(0.05):
            await asyncio.sleep(5)
        assert 0.05 <= loop.time() - t0 < 0.05 + deadline.GRAIN + 0.5  # never early; the rest is load
        for _ in range(3):  # blocks that end in time, then a sleep past their tick: nothing cuts it
            with Deadline(0.05):
                await asyncio.sleep(0)
        await asyncio.sleep(0.15)

    asyncio.run(main())


@pytest.mark.usefixtures("coarse")
def test_on_the_shared_timer_blocks_of_one_tick_expire_alone_and_nested_ones_for_themselves() -> None:
    async def blocked(delay: float, leave_early: bool) -> str:
        try:
            with Deadline(delay):
                await asyncio.sleep(0 if leave_early else 5)
        except TimeoutError:
            return "timeout"
        return "done"

    async def main() -> None:
        found = await asyncio.gather(*(blocked(0.05, early) for early in (False, True, False, True)))
        assert found == ["timeout", "done", "timeout", "done"]
        outer_cut = False
        try:
            with Deadline(0.05), Deadline(5):
                await asyncio.sleep(1)
        except TimeoutError:
            outer_cut = True
        assert outer_cut

    asyncio.run(main())


class _Handle:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class _Loop:
    """The two things the wheel asks of a loop, on a clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.handles: list[_Handle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> _Handle:
        handle = _Handle(when, callback)
        self.handles.append(handle)
        return handle

    def run_until(self, until: float) -> None:
        """Run every live timer due by `until`, in time order, the clock at each one's time."""
        while True:
            due = [h for h in self.handles if not h.cancelled and h.when <= until]
            if not due:
                break
            first = min(due, key=lambda h: h.when)
            self.handles.remove(first)
            self.now = max(self.now, first.when)
            first.callback()
        self.now = until


class _Task:
    def __init__(self, name: int, expired: dict[int, float], loop: _Loop) -> None:
        self.name, self.expired, self.loop = name, expired, loop

    def cancel(self) -> None:
        self.expired[self.name] = self.loop.now


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 5), st.floats(0, 30), st.one_of(st.none(), st.floats(0, 30))),
        min_size=1,
        max_size=40,
    )
)
def test_the_shared_timer_expires_each_block_within_a_grain_after_its_time_and_no_other(
    blocks: list[tuple[float, float, float | None]],
) -> None:
    """(start, delay, leaves after): a block that has not left by its time expires with the
    first tick at or after it; one that left first never does; none expires twice."""
    loop = _Loop()
    wheel = deadline._Wheel(loop)  # type: ignore[arg-type]
    expired: dict[int, float] = {}
    events: list[tuple[float, int, str]] = []
    for i, (start, _, leaves) in enumerate(blocks):
        events.append((start, i, "enter"))
        if leaves is not None:
            events.append((start + leaves, i, "leave"))
    made: dict[int, tuple[Deadline, int]] = {}
    for at, i, kind in sorted(events):
        loop.run_until(at)
        if kind == "enter":
            block = Deadline(blocks[i][1])
            block._task = _Task(i, expired, loop)  # type: ignore[assignment]
            made[i] = (block, wheel.add(block, at + blocks[i][1]))
        elif i not in expired:
            block, tick = made[i]
            wheel.remove(block, tick)
    loop.run_until(200.0)
    for i, (start, delay, leaves) in enumerate(blocks):
        due = start + delay
        if leaves is not None and start + leaves < due:
            assert i not in expired
        elif leaves is None or start + leaves > due + LATE + 1e-9:
            assert due - 1e-9 <= expired[i] <= due + LATE + 1e-9


@pytest.mark.usefixtures("coarse")
def test_under_uvloop_the_shared_timer_wakes_once_per_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvloop rounds a timer's delay to the nearest millisecond: one set for the tick itself
    woke up to half a millisecond early, found nothing due and set itself again, several
    times a tick. Set a little past it, each expiry is one wake-up."""
    fired: list[float] = []
    fire = deadline._Wheel._fire

    def counted(wheel: deadline._Wheel) -> None:
        fired.append(wheel._loop.time())
        fire(wheel)

    monkeypatch.setattr(deadline._Wheel, "_fire", counted)

    async def main() -> None:
        for _ in range(20):
            with pytest.raises(TimeoutError), Deadline(0.01):
                await asyncio.sleep(1)

    uvloop.run(main())
    assert len(fired) == 20
