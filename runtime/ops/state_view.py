"""`GET /admin/state` as data: the served artifact read against the routing state, now.

A pure function of the artifact, the routing state and the relay's own facts, so a test
drives it with a FakeClock and asserts every field. Countdowns (`*_s`) are seconds from
now on the routing clock, never negative; a key is named by id and fingerprint only.
What the contract calls a status is derived here, in one place, from what routing keeps
(cooldown and backoff deadlines, breakers, windows, learned quotas, concurrency).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

from runtime.artifact import Artifact, Chain, Provider
from runtime.routing.backend import SharedCounts
from runtime.routing.breaker import CircuitBreaker
from runtime.routing.health import ProviderHealth
from runtime.routing.keystate import KeyState
from runtime.routing.state import RoutingState
from runtime.routing.windows import SlidingWindow

Status = tuple[str, str, float | None]
"""(status, reason, until) with `until` on the routing clock."""

READY: Status = ("ready", "", None)
WINDOW_NAMES = {("r", 60.0): "rpm", ("r", 86400.0): "rpd", ("t", 60.0): "tpm", ("t", 86400.0): "tpd"}


class RelayFacts(msgspec.Struct, kw_only=True):
    """What the view needs from the server that the routing state does not know."""

    version: str
    started_at: float
    uptime_s: float
    pid: int
    workers: int
    manifest_hash: str
    built_at: float | None
    reloads: int
    last_reload: dict[str, Any] | None = None


def _num(value: float) -> float | int:
    as_int = int(value)
    return as_int if as_int == value else round(value, 3)


def _left(until: float | None, now: float) -> float | None:
    if until is None or math.isinf(until):
        return None
    return round(max(0.0, until - now), 3)


def _breaker_status(breaker: CircuitBreaker, now: float) -> Status | None:
    if not breaker.tripped:
        return None
    if now < breaker.open_until:
        return ("breaker_open", "breaker open", breaker.open_until)
    if breaker.probing:
        return ("breaker_half_open", "probe in flight", None)
    return None


def _exhausted(state: KeyState, now: float, shared: SharedCounts | None) -> Status | None:
    for kind, window in state.windows():
        used = shared.used.get((kind, window.span), 0.0) if shared else window.used(now)
        if window.limit - used < (1 if kind == "r" else 1e-9):
            return ("exhausted", f"{_window_name(kind, window)} used up", window.free_at(now, 1))
    for quota, what in ((state.request_quota, "requests"), (state.token_quota, "tokens")):
        left = quota.left(now)
        if left is not None and left < 1:
            return ("exhausted", f"upstream reports 0 {what} left", quota.reset_at)
    return None


def key_status(state: KeyState, now: float, shared: SharedCounts | None = None) -> Status:
    """The contract's status of one enabled key, most telling first."""
    if now < state.backoff_until and state.auth_strikes > 0:
        return ("bad_key", state.backoff_reason, state.backoff_until)
    out = state.out_until()
    if now < out:
        cooling = now < state.cooldown_until and state.cooldown_until >= state.backoff_until
        reason = state.cooldown_reason if cooling else state.backoff_reason
        return ("cooling", reason, out)
    found = _breaker_status(state.breaker, now) or _exhausted(state, now, shared)
    if found is not None:
        return found
    inflight = shared.inflight if shared else state.inflight
    if state.max_inflight is not None and inflight >= state.max_inflight:
        return ("busy", f"at concurrency limit {state.max_inflight}", None)
    return READY


_SPAN_NAMES: dict[tuple[str, float], str] = {}


def _window_name(kind: str, window: SlidingWindow) -> str:
    key = (kind, window.span)
    name = WINDOW_NAMES.get(key) or _SPAN_NAMES.get(key)
    if name is None:
        name = _SPAN_NAMES[key] = f"{'requests' if kind == 'r' else 'tokens'}/{window.span:g}s"
    return name


def _window(kind: str, window: SlidingWindow, now: float, shared: SharedCounts | None) -> dict[str, Any]:
    used = shared.used.get((kind, window.span), 0.0) if shared else window.used(now)
    limit = window.limit
    left = limit - used
    return {
        "name": _window_name(kind, window),
        "used": _num(used),
        "limit": limit,
        "remaining": _num(left) if left > 0 else 0,
        "reset_s": _left(window.next_expiry(), now) if used > 0 else None,
        "limit_source": "learned" if limit < window.configured else "configured",
    }


def _windows(state: KeyState, now: float, shared: SharedCounts | None) -> list[dict[str, Any]]:
    shown = [_window(kind, w, now, shared) for kind, w in state.windows()]
    if state.max_inflight is not None:
        limit = state.max_inflight
        inflight = shared.inflight if shared else state.inflight
        shown.append(
            {
                "name": "concurrency",
                "used": inflight,
                "limit": limit,
                "remaining": max(0, limit - inflight),
                "reset_s": None,
                "limit_source": "configured",
            }
        )
    return shown


def _upstream(state: KeyState, now: float) -> dict[str, Any] | None:
    requests, tokens = state.request_quota.left(now), state.token_quota.left(now)
    if requests is None and tokens is None:
        return None
    resets = [
        q.reset_at for q, left in ((state.request_quota, requests), (state.token_quota, tokens)) if left
    ]
    return {
        "requests_left": None if requests is None else _num(max(0.0, requests)),
        "tokens_left": None if tokens is None else _num(max(0.0, tokens)),
        "reset_s": _left(max(resets), now) if resets else None,
    }


def _breaker(breaker: CircuitBreaker, now: float) -> dict[str, Any]:
    view = breaker.snapshot(now)
    view["state"] = str(view["state"]).replace("-", "_")
    return view


Shared = Mapping[str, SharedCounts]
"""Counts across every worker and instance by key slot (`StateBackend.peek`); empty: local."""


def _key(
    provider: Provider,
    slot: str,
    name: str,
    fingerprint: str,
    routing: RoutingState,
    now: float,
    shared: Shared,
) -> dict[str, Any]:
    state = routing.key_state(slot)
    counts = shared.get(slot)
    if not provider.enabled:
        status: Status = ("disabled", provider.disabled_reason or "provider disabled", None)
    else:
        status = READY if state is None else key_status(state, now, counts)
    view: dict[str, Any] = {
        "id": slot,
        "name": name,
        "fingerprint": fingerprint or None,
        "status": status[0],
        "reason": status[1],
        "until_s": _left(status[2], now),
    }
    if state is not None:
        view["inflight"] = counts.inflight if counts else state.inflight
        view["breaker"] = _breaker(state.breaker, now)
        view["windows"] = _windows(state, now, counts)
        view["upstream"] = _upstream(state, now)
    return view


def _keys(provider: Provider, routing: RoutingState, now: float, shared: Shared) -> list[dict[str, Any]]:
    if not provider.keys:
        return [_key(provider, provider.name, "", "", routing, now, shared)]
    return [_key(provider, k.id, k.name, k.fingerprint, routing, now, shared) for k in provider.keys]


def shared_keys(artifact: Artifact, routing: RoutingState) -> list[tuple[KeyState, ProviderHealth]]:
    """Every key with local state, with its provider's health: what `StateBackend.peek` reads."""
    found = []
    for provider in artifact.providers.values():
        health = routing.health_of(provider.name)
        if health is None:
            continue
        for slot in [k.id for k in provider.keys] or [provider.name]:
            state = routing.key_state(slot)
            if state is not None:
                found.append((state, health))
    return found


def _health(provider: Provider, health: ProviderHealth | None, now: float) -> dict[str, Any]:
    probe = None
    interval = provider.health.interval
    if interval is not None:
        seen = health is not None and not math.isinf(health.last_probe)
        probe = {
            "interval_s": interval,
            "last_s_ago": round(now - health.last_probe, 3) if seen and health else None,
            "last_ok": health.last_ok if health else None,
        }
    ttfbs = list(health.ttfb.values()) if health else []
    return {
        "error_rate": round(health.error_rate, 3) if health else 0.0,
        "latency_ms": round(health.latency * 1000, 1) if health and health.latency is not None else None,
        "ttfb_ms": round(sum(ttfbs) / len(ttfbs) * 1000, 1) if ttfbs else None,
        "scope": "worker",
        "probe": probe,
    }


def _provider(
    provider: Provider, routing: RoutingState, now: float, shared: Shared
) -> tuple[dict[str, Any], list[Status]]:
    health = routing.health_of(provider.name)
    breaker = (
        _breaker(health.breaker, now) if health else {"state": "closed", "open_s": 0, "recent_failures": 0}
    )
    config = provider.breaker
    breaker.update(failures=config.failures, window_s=config.window, open_for_s=config.open_for)
    keys = _keys(provider, routing, now, shared)
    view = {
        "name": provider.name,
        "api": provider.api,
        "enabled": provider.enabled,
        "disabled_reason": provider.disabled_reason,
        "breaker": breaker,
        "health": _health(provider, health, now),
        "keys": keys,
    }
    own = _breaker_status(health.breaker, now) if health and provider.enabled else None
    if own is not None:
        return view, [own]
    return view, [
        (k["status"], k["reason"], None if k["until_s"] is None else now + k["until_s"]) for k in keys
    ]


def _best(statuses: list[Status]) -> Status:
    """A step's status is its best key's: ready if any is, else the one back soonest."""
    if any(s[0] == "ready" for s in statuses):
        return READY
    return min(statuses, key=lambda s: math.inf if s[2] is None else s[2], default=READY)


StepSummary = tuple[Status, int, int]
"""A provider's best status, its ready keys, its keys: the same for every step on it."""


def _summary(statuses: list[Status]) -> StepSummary:
    ready = sum(1 for s in statuses if s[0] == "ready")
    return (READY if ready else _best(statuses)), ready, len(statuses)


def _chain(
    chain: Chain, summaries: dict[str, StepSummary], depths: dict[str, int], now: float
) -> dict[str, Any]:
    steps = []
    empty: StepSummary = (READY, 0, 0)
    for index, step in enumerate(chain.steps):
        (status, reason, until), ready, total = summaries.get(step.provider, empty)
        steps.append(
            {
                "index": index,
                "provider": step.provider,
                "model": step.model,
                "alias": step.alias,
                "status": status,
                "reason": reason,
                "until_s": _left(until, now),
                "keys_ready": ready,
                "keys": total,
            }
        )
    queue = chain.queue
    return {
        "name": chain.name,
        "strategy": chain.strategy,
        "model": chain.model,
        "match": list(chain.match),
        "queue": {
            "max_wait_s": queue.max_wait,
            "max_depth": queue.max_depth,
            "depth": depths.get(chain.name, 0),
            "scope": "worker",
        },
        "steps": steps,
    }


ProviderPart = tuple[str, dict[str, Any], list[Status]]


def provider_parts(
    artifact: Artifact, routing: RoutingState, now: float, shared: Shared | None = None
) -> Iterator[ProviderPart]:
    """Provider by provider, so a caller on the event loop can yield between them: with
    thousands of keys the whole view takes tens of milliseconds to build."""
    for name, provider in sorted(artifact.providers.items()):
        view, statuses = _provider(provider, routing, now, shared or {})
        yield name, view, statuses


def assemble(
    artifact: Artifact, routing: RoutingState, facts: RelayFacts, now: float, parts: list[ProviderPart]
) -> dict[str, Any]:
    """The whole `/admin/state` document (docs/admin-api.md) from its provider parts."""
    summaries = {name: _summary(statuses) for name, _, statuses in parts}
    depths = routing.queue_depths()
    backend = routing.backend.snapshot()
    return {
        "relay": {
            "version": facts.version,
            "uptime_s": round(facts.uptime_s, 3),
            "pid": facts.pid,
            "workers": facts.workers,
            "started_at": facts.started_at,
        },
        "artifact": {
            "source_hash": artifact.source_hash,
            "manifest_hash": facts.manifest_hash,
            "built_at": facts.built_at,
            "reloads": facts.reloads,
            "last_reload": facts.last_reload,
        },
        "state_backend": {
            "backend": backend.get("backend"),
            "degraded": bool(backend.get("degraded", False)),
            "fallbacks": backend.get("fallbacks", 0),
        },
        "chains": [_chain(c, summaries, depths, now) for _, c in sorted(artifact.chains.items())],
        "providers": [view for _, view, _ in parts],
    }


def state_view(
    artifact: Artifact, routing: RoutingState, facts: RelayFacts, shared: Shared | None = None
) -> dict[str, Any]:
    """The whole document at once (scrapes, tests, benchmarks; the endpoint builds it in parts)."""
    now = routing.now()
    return assemble(artifact, routing, facts, now, list(provider_parts(artifact, routing, now, shared)))
