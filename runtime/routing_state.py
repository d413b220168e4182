"""The one routing-state object per process: what the waterfall knows between requests.

The request loop asks `plan()` for candidates, then for each attempt calls `begin()` →
`observe()` → `succeed()`/`fail()` → `end()` with the returned `Lease`. State is keyed by
stable ids (key id, provider name), not by artifact objects, so `sync()` after a hot reload
keeps cooldowns and windows for keys whose value did not change.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from runtime.artifact import Artifact, Chain, Key, Provider, Step
from runtime.clock import Clock, monotonic
from runtime.cooldown import FailureKind, penalty
from runtime.keystate import KeyState, Reservation
from runtime.plan import Candidate, Plan, Skip
from runtime.ratelimit import RateInfo

__all__ = ["Candidate", "FailureKind", "Lease", "Plan", "RoutingState", "Skip"]


class Lease:
    """One attempt's hold on a key; opaque to the request loop."""

    __slots__ = ("candidate", "closed", "info", "reservation", "started", "state")

    def __init__(
        self, candidate: Candidate, state: KeyState, reservation: Reservation, started: float
    ) -> None:
        self.candidate = candidate
        self.state = state
        self.reservation = reservation
        self.started = started
        self.info: RateInfo | None = None
        self.closed = False


def _slot(provider: Provider, key: Key | None) -> str:
    return provider.name if key is None else key.id


class _StepView:
    """A step's usable candidates, best key first, for strategies to order."""

    __slots__ = ("candidates", "headroom", "index", "step")

    def __init__(self, index: int, step: Step, candidates: list[Candidate], headroom: float) -> None:
        self.index = index
        self.step = step
        self.candidates = candidates
        self.headroom = headroom


class RoutingState:
    def __init__(self, clock: Clock = monotonic, rng: random.Random | None = None) -> None:
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._keys: dict[str, KeyState] = {}
        self._next_key: dict[str, int] = {}
        """Per provider: pool position after the key used last, so keys take turns."""
        self._candidates: dict[tuple[int, int], tuple[Step, Provider, tuple[Candidate, ...]]] = {}

    # -- artifact ---------------------------------------------------------------------------

    def sync(self, artifact: Artifact) -> None:
        """Adopt a newly loaded artifact: state for keys whose (provider, fingerprint) is unchanged
        carries over (even under a new key name); removed or changed keys' state is dropped."""
        by_value = {(s.provider, s.fingerprint): s for s in self._keys.values()}
        kept: dict[str, KeyState] = {}
        for provider in artifact.providers.values():
            for key in provider.keys or (None,):
                fingerprint = "" if key is None else key.fingerprint
                limits = provider.limits if key is None else key.limits
                state = by_value.pop((provider.name, fingerprint), None)
                if state is None:
                    state = KeyState(_slot(provider, key), provider.name, fingerprint, limits)
                else:
                    state.slot = _slot(provider, key)
                    state.reconfigure(limits)
                kept[state.slot] = state
        self._keys = kept
        self._candidates.clear()

    def _state(self, provider: Provider, key: Key | None) -> KeyState:
        slot = _slot(provider, key)
        state = self._keys.get(slot)
        fingerprint = "" if key is None else key.fingerprint
        if state is None or state.fingerprint != fingerprint:
            state = KeyState(slot, provider.name, fingerprint, provider.limits if key is None else key.limits)
            self._keys[slot] = state
        return state

    def _step_candidates(self, index: int, step: Step, provider: Provider) -> tuple[Candidate, ...]:
        """Candidates are immutable, so each (step, provider) pair builds them once."""
        cache_key = (id(step), id(provider))
        cached = self._candidates.get(cache_key)
        if cached is not None and cached[0] is step and cached[1] is provider:
            return cached[2]
        built = tuple(Candidate(index, step, provider, key) for key in (provider.keys or (None,)))
        self._candidates[cache_key] = (step, provider, built)
        return built

    # -- planning ---------------------------------------------------------------------------

    def plan(
        self,
        chain: Chain,
        providers: Mapping[str, Provider],
        *,
        est_tokens: int,
        affinity: str | None = None,
        capabilities: frozenset[str] = frozenset(),
    ) -> Plan:
        """Candidates in the order to try, each step expanded into its usable keys, best first;
        steps that cannot serve now are skipped with the reason and when they may recover."""
        now = self._clock()
        views: list[_StepView] = []
        skipped: list[Skip] = []
        for index, step in enumerate(chain.steps):
            provider = providers.get(step.provider)
            reason = self._step_unusable(step, provider, capabilities)
            if reason is not None or provider is None:
                skipped.append(Skip(index, step, reason or "unknown provider", None))
                continue
            view = self._expand(index, step, provider, now, est_tokens)
            if isinstance(view, Skip):
                skipped.append(view)
            else:
                views.append(view)
        ordered = [c for view in views for c in view.candidates]
        soonest = min((s.until for s in skipped if s.until is not None), default=None)
        return Plan(tuple(ordered), tuple(skipped), soonest)

    @staticmethod
    def _step_unusable(step: Step, provider: Provider | None, capabilities: frozenset[str]) -> str | None:
        if provider is None:
            return f"unknown provider {step.provider}"
        if not provider.enabled:
            return f"disabled: {provider.disabled_reason or 'provider disabled'}"
        if capabilities and step.capabilities is not None:
            missing = sorted(capabilities.difference(step.capabilities))
            if missing:
                return f"lacks capability {', '.join(missing)}"
        return None

    def _expand(
        self, index: int, step: Step, provider: Provider, now: float, tokens: int
    ) -> _StepView | Skip:
        """Usable keys of a step by most headroom, ties in turn; a Skip when none is usable."""
        candidates = self._step_candidates(index, step, provider)
        count = len(candidates)
        start = self._next_key.get(provider.name, 0)
        ranked: list[tuple[float, int, Candidate]] = []
        for position, candidate in enumerate(candidates):
            room = self._state(provider, candidate.key).headroom(now, tokens)
            if room >= 0:
                ranked.append((-room, (position - start) % count, candidate))
        if not ranked:
            return self._skip_step(index, step, provider, candidates, now, tokens)
        ranked.sort(key=lambda item: (item[0], item[1]))
        return _StepView(index, step, [c for _, _, c in ranked], -ranked[0][0])

    def _skip_step(
        self,
        index: int,
        step: Step,
        provider: Provider,
        candidates: tuple[Candidate, ...],
        now: float,
        tokens: int,
    ) -> Skip:
        reasons = [self._state(provider, c.key).blocked(now, tokens) for c in candidates]
        known = [r for r in reasons if r is not None]
        if not known:  # headroom and blocked disagree only through float drift
            return Skip(index, step, "no usable key", now)
        timed = [r for r in known if r[1] is not None]
        reason, until = min(timed, key=lambda r: r[1] or 0.0) if timed else known[0]
        if len(candidates) > 1:
            reason = f"{reason} (all {len(candidates)} keys)"
        return Skip(index, step, reason, until)

    def soonest_recovery(
        self, chain: Chain, providers: Mapping[str, Provider], *, est_tokens: int = 0
    ) -> float | None:
        """When the chain can next serve: now if it can, else the earliest skipped step's recovery."""
        plan = self.plan(chain, providers, est_tokens=est_tokens)
        return self._clock() if plan.candidates else plan.soonest_recovery

    def cooldown_left(self, cand: Candidate) -> float | None:
        """Seconds until the candidate's key is out of cooldown, None when it is not cooling."""
        state = self._keys.get(_slot(cand.provider, cand.key))
        if state is None:
            return None
        left = state.cooldown_until - self._clock()
        return left if left > 0 else None

    # -- attempts ---------------------------------------------------------------------------

    async def begin(self, cand: Candidate, est_tokens: int) -> Lease | None:
        """Reserve capacity for one attempt; None if the key filled up since `plan()`."""
        now = self._clock()
        state = self._state(cand.provider, cand.key)
        reservation = state.reserve(now, est_tokens)
        if reservation is None:
            return None
        keys = cand.provider.keys
        if cand.key is not None and keys:
            self._next_key[cand.provider.name] = (keys.index(cand.key) + 1) % len(keys)
        return Lease(cand, state, reservation, now)

    def observe(self, lease: Lease, info: RateInfo) -> None:
        """Learn limits from response headers (any status)."""
        lease.info = info
        lease.state.learn(self._clock(), info)

    def succeed(self, lease: Lease, ttfb: float) -> None:
        lease.state.strikes = 0

    def fail(self, lease: Lease, kind: FailureKind, retry_after: float | None = None) -> str | None:
        """Apply the penalty table (runtime.cooldown); returns a message worth logging loudly
        (auth or payment trouble with a key), naming the key by id and fingerprint only."""
        now = self._clock()
        state = lease.state
        cost = penalty(
            kind, strikes=state.strikes, retry_after=retry_after, info=lease.info, now=now, rng=self._rng
        )
        if kind in ("rate_limited", "overloaded"):
            state.strikes += 1
        if cost.seconds is not None:
            state.cool(now + cost.seconds, cost.reason)
        if not cost.alert:
            return None
        return (
            f"{cost.reason}: key {state.slot} ({state.fingerprint}) of provider {state.provider} "
            f"is out of rotation for {cost.seconds or 0:.0f}s"
        )

    def end(self, lease: Lease, tokens_used: int | None) -> None:
        """Attempt over: release concurrency and replace the token estimate by actual usage."""
        if lease.closed:
            return
        lease.closed = True
        lease.state.release(lease.reservation, tokens_used)

    # -- views ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, object]:
        """JSON-able state for the status endpoint and logs; times are seconds from now."""
        now = self._clock()
        return {"keys": {slot: state.snapshot(now) for slot, state in sorted(self._keys.items())}}
