"""The all-failed error: status in the client's terms, message listing every attempt and skip."""

from __future__ import annotations

import pytest

from runtime.artifact import Step
from runtime.attempt import AttemptRecord as Attempt
from runtime.errors import BadGateway, BadRequest, GatewayTimeout, Overloaded, RateLimited, RelayError
from runtime.failure import all_failed
from runtime.plan import Plan, Skip

NOW = 1000.0


def _attempt(outcome: str, status: int | None = None, cooldown: float | None = None) -> Attempt:
    return Attempt(
        provider="p", model="m", outcome=outcome, status=status, detail="why", cooldown_left=cooldown
    )


def _plan(*skips: tuple[str, float | None]) -> Plan:
    skipped = tuple(
        Skip(step_index=i, step=Step(provider="s", model=f"m{i}"), reason=r, until=u)
        for i, (r, u) in enumerate(skips)
    )
    soonest = min((u for _, u in skips if u is not None), default=None)
    return Plan(candidates=(), skipped=skipped, soonest_recovery=soonest)


@pytest.mark.parametrize(
    ("attempts", "plan", "kind", "fragment"),
    [
        (
            [_attempt("rate_limited", 429, 12.0), _attempt("rate_limited", 429, 30.0)],
            _plan(),
            RateLimited,
            "p/m (429 rate_limited, cooling 12s)",
        ),
        ([], _plan(("rate limited", NOW + 7)), RateLimited, "s/m0 (skipped: rate limited for 7s)"),
        ([_attempt("overloaded", 529)], _plan(), Overloaded, "overloaded"),
        ([_attempt("timeout")], _plan(), GatewayTimeout, "timed out"),
        ([_attempt("context", 400)], _plan(), BadRequest, "prompt is too long"),
        (
            [_attempt("server_error", 500), _attempt("rate_limited", 429, 5.0)],
            _plan(),
            BadGateway,
            "p/m (500 server_error)",
        ),
        ([], _plan(("lacks capability vision", None)), BadRequest, "lacks capability vision"),
        ([], _plan(("disabled: no key set", None)), Overloaded, "disabled: no key set"),
    ],
)
def test_all_failed(attempts: list[Attempt], plan: Plan, kind: type[RelayError], fragment: str) -> None:
    err = all_failed("free", attempts, plan, NOW)
    assert type(err) is kind and fragment in err.message


def test_retry_after_is_the_soonest_recovery() -> None:
    err = all_failed("free", [_attempt("rate_limited", 429, 30.0)], _plan(("rate limited", NOW + 4)), NOW)
    assert err.retry_after == 4
