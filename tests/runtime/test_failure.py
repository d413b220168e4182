"""The all-failed error: status in the client's terms, message listing every attempt and skip."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from compiler.emit.write import write_build
from compiler.pipeline import compile_dir
from runtime.artifact import Step
from runtime.clock import FakeClock
from runtime.errors import BadGateway, BadRequest, GatewayTimeout, Overloaded, RateLimited, RelayError
from runtime.ops.record import AttemptRecord as Attempt
from runtime.routing.plan import Plan, Skip, SkipKind
from runtime.routing.state import RoutingState
from runtime.server.failure import all_failed
from runtime.server.loader import load

NOW = 1000.0
REPO = Path(__file__).resolve().parents[2]


def _attempt(outcome: str, status: int | None = None, cooldown: float | None = None) -> Attempt:
    return Attempt(
        provider="p", model="m", outcome=outcome, status=status, detail="why", cooldown_left=cooldown
    )


def _plan(*skips: tuple[str, float | None, str]) -> Plan:
    skipped = tuple(
        Skip(step_index=i, step=Step(provider="s", model=f"m{i}"), reason=r, until=u, kind=cast(SkipKind, k))
        for i, (r, u, k) in enumerate(skips)
    )
    soonest = min((u for _, u, _ in skips if u is not None), default=None)
    return Plan(candidates=(), skipped=skipped, soonest_recovery=soonest)


BREAKER = ("breaker open", NOW + 20, "unavailable")
DISABLED = ("disabled: no key set", None, "never")
LIMITED = ("rate limited", NOW + 7, "limited")


@pytest.mark.parametrize(
    ("attempts", "plan", "kind", "fragment"),
    [
        (
            [_attempt("rate_limited", 429, 12.0), _attempt("rate_limited", 429, 30.0)],
            _plan(),
            RateLimited,
            "p/m (429 rate_limited, cooling 12s)",
        ),
        ([], _plan(LIMITED), RateLimited, "s/m0 (skipped: rate limited for 7s)"),
        ([], _plan(DISABLED, LIMITED), RateLimited, "rate limited"),
        ([_attempt("full")], _plan(), RateLimited, "p/m (full)"),
        ([_attempt("payment", 429)], _plan(), RateLimited, "payment"),
        ([_attempt("rate_limited", 429, 5.0)], _plan(BREAKER), RateLimited, "skipped: breaker open"),
        # relay's own inference is never a rate limit; an empty set of attempts is not rate-like
        ([], _plan(BREAKER), Overloaded, "skipped: breaker open for 20s"),
        ([], _plan(("key rejected by upstream (401/403)", NOW + 60, "unavailable")), Overloaded, "401"),
        ([], _plan(("overloaded (backoff 1.5s)", NOW + 1.5, "unavailable")), Overloaded, "backoff"),
        ([], _plan(BREAKER, LIMITED), Overloaded, "breaker open"),
        ([_attempt("payment", 402)], _plan(), BadGateway, "402 payment"),
        ([_attempt("auth", 401)], _plan(), BadGateway, "401 auth"),
        ([_attempt("overloaded", 529)], _plan(), Overloaded, "overloaded"),
        # overloaded, then a key that filled up since the plan (a race with a concurrent
        # request): both pass, so 529/503 with retry-after, not 502 (seen in a CI run)
        ([_attempt("overloaded", 503), _attempt("full")], _plan(), Overloaded, "p/m (full)"),
        (
            [_attempt("overloaded", 503), _attempt("rate_limited", 429, 5.0)],
            _plan(),
            Overloaded,
            "rate limited",
        ),
        ([_attempt("timeout")], _plan(), GatewayTimeout, "timed out"),
        ([_attempt("context", 400)], _plan(DISABLED), BadRequest, "prompt is too long"),
        (
            [_attempt("server_error", 500), _attempt("rate_limited", 429, 5.0)],
            _plan(),
            BadGateway,
            "p/m (500 server_error)",
        ),
        # nothing could ever serve: a retry cannot help
        ([], _plan(("lacks capability vision", None, "never")), BadRequest, "lacks capability vision"),
        ([], _plan(DISABLED), BadRequest, "can take this request: s/m0 (skipped: disabled: no key set)"),
        ([], _plan(DISABLED, ("lacks capability vision", None, "never")), BadRequest, "vision"),
        (
            [],
            _plan(("request of ~40000 input tokens exceeds 30000 tokens per 60s", None, "never")),
            BadRequest,
            "exceeds 30000 tokens per 60s",
        ),
        ([], _plan(DISABLED, BREAKER), Overloaded, "disabled"),
    ],
)
def test_all_failed(attempts: list[Attempt], plan: Plan, kind: type[RelayError], fragment: str) -> None:
    err = all_failed("free", attempts, plan, NOW)
    assert type(err) is kind and fragment in err.message


def test_retry_after_is_the_soonest_recovery() -> None:
    plan = _plan(("rate limited", NOW + 4, "limited"))
    err = all_failed("free", [_attempt("rate_limited", 429, 30.0)], plan, NOW)
    assert err.retry_after == 4


def test_an_image_to_the_shipped_free_chain_is_a_400(tmp_path: Path) -> None:
    """Issue 8 §2: with no keys every free tier is disabled and the simulators lack vision.
    Built here with an empty environment: a clean clone has no generated/secrets.json."""
    result = compile_dir(REPO / "chains", {}, "build")
    assert result.artifact is not None, result.diagnostics
    write_build(result, REPO / "chains", tmp_path)
    snap = load(tmp_path)
    state = RoutingState(FakeClock(), None)
    state.sync(snap.artifact)
    chain = snap.artifact.chains["free"]
    plan = state.plan(chain, snap.artifact.providers, est_tokens=100, capabilities=frozenset({"vision"}))
    assert plan.candidates == ()
    err = all_failed("free", [], plan, NOW)
    assert type(err) is BadRequest
    assert "lacks capability vision" in err.message and "disabled" in err.message
