"""The shutdown deadline reaches requests already running and those that start later."""

from __future__ import annotations

import asyncio

import pytest

from runtime.server.drain import Drain, draining_line, stopping_line


async def _work(drain: Drain, seconds: float) -> str:
    try:
        with drain.scope():
            await asyncio.sleep(seconds)
    except TimeoutError:
        return "cut"
    return "done"


def test_begin_moves_running_scopes_to_one_deadline() -> None:
    async def main() -> None:
        drain = Drain()
        assert await _work(drain, 0) == "done"
        slow = [asyncio.create_task(_work(drain, 60)) for _ in range(3)]
        await asyncio.sleep(0)
        assert drain.in_flight == 3 and not drain.started
        drain.begin(0.05)
        assert await asyncio.wait_for(asyncio.gather(*slow), 5) == ["cut"] * 3
        assert drain.in_flight == 0 and drain.expired()
        assert await _work(drain, 60) == "cut"  # started after the deadline: cut at once

    asyncio.run(main())


@pytest.mark.parametrize("seconds", [0.0, 0.01])
def test_without_shutdown_nothing_is_cut(seconds: float) -> None:
    async def main() -> None:
        drain = Drain()
        assert await _work(drain, seconds) == "done" and not drain.expired()

    asyncio.run(main())


def test_what_ctrl_c_prints() -> None:
    assert draining_line(1, 0, 30.0) == "relay: draining 1 stream, up to 30 s; Ctrl-C again to stop now"
    assert (
        draining_line(2, 1, 2.5)
        == "relay: draining 2 streams and 1 request, up to 2.5 s; Ctrl-C again to stop now"
    )
    assert draining_line(0, 0, 30.0) == "relay: stopping (nothing in flight)"
    assert (
        stopping_line(0, 3) == "relay: stopping now: ending 3 requests with an error in each client's format"
    )
