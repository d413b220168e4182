"""`GET /admin/state` reuses an expensive document for up to a second, never across a state
change: a real Service over a real build, the endpoint called as the app calls it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from compiler.emit.write import write_build
from compiler.pipeline import compile_dir
from runtime.clock import FakeClock
from runtime.server import admin
from runtime.server.service import Service

DEFS = """\
version: 1
providers:
  up:
    api: openai
    base_url: http://127.0.0.1:9/v1
    keys: ["${UP_KEY}"]
    limits: {rpm: 30}
chains:
  c:
    steps: [up/m]
"""


def _scope() -> SimpleNamespace:
    return SimpleNamespace(query_string="", client="127.0.0.1:1", headers={})


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """A Service routes the "relay" logger into its own log; put it back afterwards, or later
    tests' caplog would not see routing's warnings."""
    logger = logging.getLogger("relay")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "relay.yaml").write_text(DEFS)
    result = compile_dir(tmp_path / "defs", {"UP_KEY": "gsk_cache_test_0123456789"}, "build")
    assert result.artifact is not None, result.diagnostics
    write_build(result, tmp_path / "defs", tmp_path / "out")
    yield Service(tmp_path / "out", clock=FakeClock())
    logger.handlers[:], logger.propagate, logger.level = saved


def test_an_expensive_document_is_reused_until_a_change_or_a_second(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin, "_CACHE_OVER_S", 0.0)  # every build counts as expensive here
    clock = service.clock
    assert isinstance(clock, FakeClock)

    async def body() -> bytes:
        return (await admin._state(service, _scope())).body

    first = asyncio.run(body())
    assert asyncio.run(body()) is first
    service.changes += 1  # what a cooldown, breaker or reload event does
    second = asyncio.run(body())
    assert second is not first
    clock.advance(1.5)
    assert asyncio.run(body()) is not second


def test_a_cheap_document_is_always_fresh(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin, "_CACHE_OVER_S", 60.0)  # however loaded the machine, this is cheap

    async def body() -> bytes:
        return (await admin._state(service, _scope())).body

    assert asyncio.run(body()) is not asyncio.run(body())
