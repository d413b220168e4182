"""The shipped chains/ take what Claude Code sends on every turn at the first try, with no
keys (the simulator serves) and with an Anthropic key (Anthropic serves), so a new user never
waits on retries. The CLI itself runs in tests/e2e/test_claude_code.py."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from runtime.clock import FakeClock
from runtime.routing.state import RoutingState
from runtime.server import bridge, incoming
from runtime.server.loader import load
from runtime.translate import required_capabilities
from tests.e2e.claude_code import claude_code_body
from tests.e2e.procs import REPO, build


@pytest.mark.parametrize(
    ("env", "first"),
    [({}, "sim-steady"), ({"ANTHROPIC_API_KEY": "test-example-key"}, "anthropic")],
    ids=["no keys", "anthropic key"],
)
def test_a_claude_code_turn_is_planned_on_a_step_that_serves_it(
    tmp_path: Path, env: dict[str, str], first: str
) -> None:
    result = build(REPO / "chains", tmp_path / "generated", env)
    assert result.returncode == 0, result.stdout + result.stderr
    snap = load(tmp_path / "generated")
    state = RoutingState(FakeClock())
    state.sync(snap.artifact)
    body = claude_code_body()
    inc = incoming.parse(msgspec.json.encode(body), [], "anthropic", "req_test")
    chain = snap.router.resolve(inc.model)
    plan = state.plan(
        chain,
        snap.artifact.providers,
        est_tokens=bridge.estimate(inc, bridge.estimate_output(inc)),
        capabilities=required_capabilities(body, "anthropic"),
    )
    assert plan.candidates and plan.candidates[0].provider.name == first, plan.skipped
    assert not any(s.step.provider == first for s in plan.skipped)
