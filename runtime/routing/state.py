"""The one routing-state object per process: what the waterfall knows between requests.

The request loop asks `plan()` for candidates, then for each attempt calls `begin()` →
`observe()` → `succeed()`/`fail()` → `end()` with the returned `Lease`; `fail()` may also
follow `succeed()` when a stream breaks after its first event, and then counts like any other
failure. State is keyed by stable ids (key id, provider name), not by artifact objects, so
`sync()` after a hot reload keeps cooldowns, windows and breakers for keys whose value did
not change.

Panic rule (Envoy's panic threshold is the model): when no step can serve and some step is
out only by relay's own inference (an open breaker, a backoff after 5xx, a rejected key, a
local countdown of a reported quota), the plan offers that step's best key anyway, marked
`panic`, and `begin()` admits it; its answer is the breaker's probe verdict. Limits the
upstream stated (429s, retry-after, reset headers, 0 left) and configured windows still hold.
So relay never fails a request without a call where the upstream, called directly, might
have answered it.

Estimates: `est_tokens` is the request's expected cost (input + expected output) and
`est_output` its output part; with it, a request bigger than a key's token window is
reserved at the whole window when its input fits, and one whose input exceeds every key's
limit is a "never" skip (a 400, not a retryable status).
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from runtime.artifact import Artifact, Chain, Key, Provider, Step
from runtime.clock import Clock, monotonic
from runtime.memo import remember
from runtime.routing.affinity import AffinityMap
from runtime.routing.backend import MemoryBackend, StateBackend
from runtime.routing.changes import Change, ChangeKind, Hook, ignore
from runtime.routing.cooldown import HEALTH_KINDS, FailureKind, penalty
from runtime.routing.health import ProviderHealth
from runtime.routing.keystate import KeyState
from runtime.routing.lease import Lease
from runtime.routing.plan import Candidate, Plan, Skip
from runtime.routing.planner import panic_pick, pool_view, skip_step, step_refusal
from runtime.routing.ratelimit import EMPTY, RateInfo
from runtime.routing.strategies import Context, StepView, order
from runtime.routing.thinking_owners import owner
from runtime.routing.waitqueue import Waited, WaitQueues

__all__ = ["Candidate", "FailureKind", "Lease", "Plan", "RoutingState", "Skip", "Waited"]

MEMO_LIMIT = 4096
"""Most entries the per-step and per-chain memos hold before they start afresh: a chain built
per request (`provider/model` direct access, any name a client sends) is a new step each
time, and memos kept for the artifact's lifetime would otherwise grow with every one."""


def _slot(provider: Provider, key: Key | None) -> str:
    return provider.name if key is None else key.id


class RoutingState:
    def __init__(
        self, clock: Clock = monotonic, rng: random.Random | None = None, backend: StateBackend | None = None
    ) -> None:
        self._clock = clock
        self._backend: StateBackend = backend if backend is not None else MemoryBackend()
        self._rng = rng if rng is not None else random.Random()
        self._keys: dict[str, KeyState] = {}
        self._health: dict[str, ProviderHealth] = {}
        self._next_key: dict[str, int] = {}
        """Per provider: pool position after the key used last, so equally free keys take turns."""
        self._turns: dict[str, int] = {}
        """Per chain: plans made, for round-robin."""
        self._affinity = AffinityMap()
        self._queues = WaitQueues(clock)
        self._candidates: dict[
            tuple[int, int], tuple[Step, Provider, tuple[Candidate, ...], tuple[KeyState, ...]]
        ] = {}
        self._hook: Hook = ignore

    def on_change(self, hook: Hook) -> None:
        """Call `hook` on every cooldown, breaker and key verdict change, and the backend's
        degraded/recovered transitions; it must only enqueue (it runs on the request path)."""
        self._hook = hook
        self._backend.hook = hook

    # -- artifact ---------------------------------------------------------------------------

    def sync(self, artifact: Artifact) -> None:
        """Adopt a newly loaded artifact: state for keys whose (provider, fingerprint) is unchanged
        carries over (even under a new key name); removed or changed keys' state is dropped."""
        by_value = {(s.provider, s.fingerprint): s for s in self._keys.values()}
        kept: dict[str, KeyState] = {}
        for provider in artifact.providers.values():
            for key in provider.keys or (None,):
                limits = provider.limits if key is None else key.limits
                state = by_value.pop((provider.name, "" if key is None else key.fingerprint), None)
                if state is None:
                    state = self._new_state(provider, key)
                else:
                    state.slot = _slot(provider, key)
                    state.reconfigure(limits, provider.breaker)
                kept[state.slot] = state
        self._keys = kept
        self._health = {
            name: self._health.get(name) or ProviderHealth(p.breaker)
            for name, p in artifact.providers.items()
        }
        for name, provider in artifact.providers.items():
            self._health[name].breaker.config = provider.breaker
        self._candidates.clear()

    @staticmethod
    def _new_state(provider: Provider, key: Key | None) -> KeyState:
        if key is None:
            return KeyState(provider.name, provider.name, "", provider.limits, provider.breaker)
        return KeyState(key.id, provider.name, key.fingerprint, key.limits, provider.breaker)

    def _state(self, provider: Provider, key: Key | None) -> KeyState:
        state = self._keys.get(provider.name if key is None else key.id)
        if state is None or state.fingerprint != ("" if key is None else key.fingerprint):
            state = self._new_state(provider, key)
            self._keys[state.slot] = state
        return state

    def _provider_health(self, provider: Provider) -> ProviderHealth:
        health = self._health.get(provider.name)
        if health is None:
            health = self._health[provider.name] = ProviderHealth(provider.breaker)
        return health

    def _step_candidates(
        self, index: int, step: Step, provider: Provider
    ) -> tuple[tuple[Candidate, ...], tuple[KeyState, ...]]:
        """Candidates are immutable, so each (step, provider) pair builds them, and finds their
        key states, once per artifact."""
        cache_key = (id(step), id(provider))
        cached = self._candidates.get(cache_key)
        if cached is not None and cached[0] is step and cached[1] is provider:
            return cached[2], cached[3]
        built = tuple(Candidate(index, step, provider, key) for key in (provider.keys or (None,)))
        states = tuple(self._state(provider, c.key) for c in built)
        remember(self._candidates, cache_key, (step, provider, built, states), MEMO_LIMIT)
        return built, states

    # -- planning ---------------------------------------------------------------------------

    def plan(
        self,
        chain: Chain,
        providers: Mapping[str, Provider],
        *,
        est_tokens: int,
        affinity: str | None = None,
        capabilities: frozenset[str] = frozenset(),
        est_output: int | None = None,
        context_need: int = 0,
        panic: bool = True,
    ) -> Plan:
        """Candidates in the order to try: the chain's strategy orders the steps that can serve,
        each step lists its usable key with most headroom first, the others in turn, and the
        conversation's previous candidate goes first while it can serve. Steps that cannot
        serve now are skipped with the reason and when they may recover; when none can, the
        panic rule may offer one (module docstring), unless `panic` is False (the queue asks
        that way: it waits for a real recovery first). `context_need`: the tokens a step's
        context window must hold (`planner.step_refusal`); 0 skips none for their window."""
        now = self._clock()
        prompt = None if est_output is None else max(0, est_tokens - est_output)
        views: list[StepView] = []
        skipped: list[Skip] = []
        for index, step in enumerate(chain.steps):
            provider = providers.get(step.provider)
            if provider is None:
                skipped.append(Skip(index, step, f"unknown provider {step.provider}", None))
                continue
            found = self._step_view(
                index, step, provider, now, est_tokens, prompt, capabilities, context_need
            )
            if isinstance(found, Skip):
                skipped.append(found)
            else:
                views.append(found)
        if not skipped and len(views) == 1:  # one step serves: its candidates are the plan
            candidates = views[0].candidates
            if affinity is None or len(candidates) == 1:
                return Plan(tuple(candidates), (), None)
        if len(views) > 1 and chain.strategy != "failover":
            views = order(chain.strategy, views, self._context(chain, est_tokens, est_output))
        ordered = [c for view in views for c in view.candidates]
        if not ordered and panic:
            rescued = self._panic(skipped, providers, now, est_tokens, prompt)
            if rescued is not None:
                ordered.append(rescued)
                skipped = [s for s in skipped if s.step_index != rescued.step_index]
        elif affinity is not None and len(ordered) > 1:
            self._stick(ordered, affinity, now, chain)
        soonest = min((s.until for s in skipped if s.until is not None), default=None) if skipped else None
        return Plan(tuple(ordered), tuple(skipped), soonest)

    def _panic(
        self,
        skipped: list[Skip],
        providers: Mapping[str, Provider],
        now: float,
        tokens: int,
        prompt: int | None,
    ) -> Candidate | None:
        """The first step, in chain order, that only relay's inference keeps out: its best key."""
        for skip in skipped:
            picked = self._rescue(skip, providers, now, tokens, prompt)
            if picked is not None:
                return picked
        return None

    def rescue(
        self, skip: Skip, providers: Mapping[str, Provider], *, est_tokens: int, est_output: int | None = None
    ) -> Candidate | None:
        """A skipped step's best key as a panic candidate, when only relay's own inference
        kept the step out; the waterfall's last resort once every candidate failed, for a
        step in any position of the chain. None when a stated limit (or nothing) holds it."""
        prompt = None if est_output is None else max(0, est_tokens - est_output)
        return self._rescue(skip, providers, self._clock(), est_tokens, prompt)

    def _rescue(
        self, skip: Skip, providers: Mapping[str, Provider], now: float, tokens: int, prompt: int | None
    ) -> Candidate | None:
        provider = providers.get(skip.step.provider)
        if skip.kind != "unavailable" or provider is None:
            return None
        candidates, states = self._step_candidates(skip.step_index, skip.step, provider)
        return panic_pick(candidates, states, now, tokens, prompt)

    def _context(self, chain: Chain, est_tokens: int, est_output: int | None) -> Context:
        turn = self._turns.get(chain.name, 0)
        remember(self._turns, chain.name, turn + 1, MEMO_LIMIT)

        def latency(step: Step) -> float | None:
            health = self._health.get(step.provider)
            return None if health is None else health.ttfb.get(step.model)

        return Context(self._rng, turn=turn, est_tokens=est_tokens, est_output=est_output, latency=latency)

    def _stick(self, ordered: list[Candidate], affinity: str, now: float, chain: Chain) -> None:
        """Move the conversation's last successful candidate to the front, if it can serve, then
        the other candidates of its account and model family (its thinking stays valid there). In a
        failover chain they yield to an earlier candidate (chain order is the operator's
        preference) once that one's provider has answered since the conversation moved, or
        `affinity_return` after it moved: affinity keeps caches warm, it must not pin a
        conversation to a worse step for good."""
        landed = self._affinity.get(affinity, now)
        if landed is None:
            return
        same = [(c.provider.name, _slot(c.provider, c.key)) == landed[:2] for c in ordered]
        owned = [owner(c.provider, c.key, c.step) == landed.owner for c in ordered]
        front = sorted((i for i in range(len(ordered)) if same[i] or owned[i]), key=lambda i: not same[i])
        if not front or front == list(range(len(front))):
            return
        if chain.strategy == "failover" and self._recovered(ordered[: front[0]], landed.since, now, chain):
            return
        moved = [ordered[i] for i in front]
        ordered[:] = moved + [c for i, c in enumerate(ordered) if not (same[i] or owned[i])]

    def _recovered(self, earlier: list[Candidate], since: float, now: float, chain: Chain) -> bool:
        if now - since >= chain.affinity_return:
            return True
        return any(self._provider_health(c.provider).answered_at > since for c in earlier)

    def _step_view(
        self,
        index: int,
        step: Step,
        provider: Provider,
        now: float,
        tokens: int,
        prompt: int | None,
        capabilities: frozenset[str],
        context_need: int,
    ) -> StepView | Skip:
        breaker = self._provider_health(provider).breaker
        refused = step_refusal(index, step, provider, breaker, now, capabilities, context_need)
        if refused is not None and refused.kind != "unavailable":
            return refused
        candidates, states = self._step_candidates(index, step, provider)
        if refused is not None:  # an open breaker; keys out by a stated limit say more
            if all(state.stated_block(now, tokens, prompt) for state in states):
                return skip_step(index, step, states, now, tokens, prompt)
            return refused
        start = self._next_key.get(provider.name, 0)
        return pool_view(index, step, candidates, states, start, now, tokens, prompt)

    def soonest_recovery(
        self,
        chain: Chain,
        providers: Mapping[str, Provider],
        *,
        est_tokens: int = 0,
        est_output: int | None = None,
    ) -> float | None:
        """When the chain can next serve: now if it can, else the earliest skipped step's recovery."""
        plan = self.plan(chain, providers, est_tokens=est_tokens, est_output=est_output)
        return self._clock() if plan.candidates else plan.soonest_recovery

    async def wait_for_capacity(
        self,
        chain: Chain,
        providers: Mapping[str, Provider],
        *,
        est_tokens: int,
        deadline: float | None = None,
        affinity: str | None = None,
        capabilities: frozenset[str] = frozenset(),
        est_output: int | None = None,
        context_need: int = 0,
    ) -> Waited:
        """Wait in the chain's FIFO queue until a plan has candidates (`outcome == "ready"`).

        Gives up at `deadline` (default: now + `chain.queue.max_wait`), at once when
        `queue.max_depth` requests already wait ("full") or when no step recovers before the
        deadline ("hopeless"). Cancelling the awaiting task (client disconnect) leaves the queue."""
        if deadline is None:
            deadline = self._clock() + chain.queue.max_wait

        def replan() -> Plan:
            return self.plan(
                chain,
                providers,
                est_tokens=est_tokens,
                affinity=affinity,
                capabilities=capabilities,
                est_output=est_output,
                context_need=context_need,
                panic=False,
            )

        return await self._queues.wait(chain.name, chain.queue.max_depth, deadline, replan)

    def cooldown_left(self, cand: Candidate) -> float | None:
        """Seconds until the candidate's key is out of cooldown or backoff, None when it is not cooling."""
        state = self._keys.get(_slot(cand.provider, cand.key))
        if state is None:
            return None
        left = state.out_until() - self._clock()
        return left if left > 0 else None

    # -- attempts ---------------------------------------------------------------------------

    async def begin(
        self, cand: Candidate, est_tokens: int, *, affinity: str | None = None, est_output: int | None = None
    ) -> Lease | None:
        """Reserve capacity for one attempt (windows, concurrency, half-open probe slots); None
        if the key or provider can no longer take it (lost a race since `plan()`). A panic
        candidate is admitted past breakers and backoffs, never past a stated limit.
        Pass the request's `affinity` to have a success remembered for the conversation, and
        the same estimates as to `plan()`."""
        now = self._clock()
        health = self._provider_health(cand.provider)
        if not cand.panic and not health.breaker.allows(now):
            return None
        state = self._state(cand.provider, cand.key)
        prompt = None if est_output is None else max(0, est_tokens - est_output)
        reservation = await self._backend.reserve(state, health, now, est_tokens, prompt, cand.panic)
        if reservation is None:
            return None
        now = self._clock()
        if not cand.panic and not health.breaker.allows(now):  # tripped while a shared backend was asked
            self._backend.release(state, reservation, 0)
            return None
        if health.breaker.tripped:  # a closed breaker admits without a mark
            health.breaker.admit(now)
        if state.breaker.tripped and state.breaker.admit(now):
            state.invalidate()  # the key's single probe slot is taken
        keys = cand.provider.keys
        if cand.key is not None and len(keys) > 1:
            self._next_key[cand.provider.name] = (keys.index(cand.key) + 1) % len(keys)
        lease = Lease(cand, state, health, reservation)
        lease.affinity = affinity
        lease.started = now
        return lease

    def observe(self, lease: Lease, info: RateInfo) -> None:
        """Learn limits from response headers (any status); `EMPTY` (none sent) teaches nothing."""
        lease.info = info
        if info is EMPTY:
            return
        lease.state.learn(self._clock(), info)
        self._backend.learned(lease.state, info)

    def succeed(self, lease: Lease, ttfb: float) -> None:
        """The attempt produced a response for the client (first byte after `ttfb` seconds). A
        probe closes its breaker and the key's backoff ends, for every process: the answer
        proves relay's inference wrong. Passive health counts the success at `end()`, unless
        `fail()` reports the stream broke after all."""
        now = self._clock()
        lease.verdict = True
        state = lease.state
        state.strikes = state.auth_strikes = 0
        if lease.provider_probe or lease.key_probe:
            closed = self._closing(lease)
            state.invalidate()  # the key's breaker (and so its verdict) may have changed
        else:
            closed = False
        if closed or state.backoff_until > now:
            state.forgive()
            self._backend.recovered(state.provider, state)
        lease.healthy = True
        lease.health.measured(lease.candidate.step.model, ttfb)
        lease.health.answered_at = now
        if lease.affinity is not None:
            cand = lease.candidate
            made_by = owner(cand.provider, cand.key, cand.step)
            self._affinity.remember(lease.affinity, cand.provider.name, state.slot, made_by, now)

    def _closing(self, lease: Lease) -> bool:
        """The upstream answered: a probe's success closes its breaker (shared with every
        process), and its verdict is given. True when the key's breaker closed."""
        provider, key = lease.health.breaker, lease.state.breaker
        name = lease.state.provider
        if lease.provider_probe and provider.tripped:
            provider.success(probe=True)
            self._backend.recovered(name, None)
            self._hook(Change("breaker_closed", name, reason="probe answered"))
        closed = lease.key_probe and key.tripped
        key.success(lease.key_probe)
        lease.provider_probe = lease.key_probe = False
        if closed:
            self._key_change("breaker_closed", lease.state, None, "probe answered")
        return closed

    def _key_change(self, kind: ChangeKind, state: KeyState, until: float | None, reason: str) -> None:
        self._hook(Change(kind, state.provider, state.slot, state.fingerprint or None, until, reason))

    def fail(self, lease: Lease, kind: FailureKind, retry_after: float | None = None) -> str | None:
        """Apply the penalty table (runtime.routing.cooldown); returns a message worth logging loudly
        (auth or payment trouble with a key), naming the key by id and fingerprint only.
        Also valid after `succeed()`: a stream that broke after its first event counts for the
        provider's breaker and passive health like a failure before it."""
        now = self._clock()
        lease.verdict = True
        lease.healthy = False
        state = lease.state
        strikes = state.auth_strikes if kind == "auth" else state.strikes
        cost = penalty(
            kind, strikes=strikes, retry_after=retry_after, info=lease.info, now=now, rng=self._rng
        )
        if kind in ("rate_limited", "overloaded"):
            state.strikes += 1
        elif kind == "auth":
            state.auth_strikes += 1
        if cost.seconds is not None:
            state.cool(now + cost.seconds, cost.reason, stated=cost.stated)
            self._backend.cooled(state, now + cost.seconds, cost.reason, cost.stated)
            self._key_change("cooldown_started", state, now + cost.seconds, cost.reason)
            if cost.alert:
                self._key_change("key_marked_bad", state, now + cost.seconds, cost.reason)
        if kind in HEALTH_KINDS:
            provider = lease.health.breaker
            if provider.failure(now, lease.provider_probe):
                self._backend.tripped(state.provider, None, provider.open_until)
                self._hook(Change("breaker_opened", state.provider, None, None, provider.open_until, kind))
            if state.breaker.failure(now, lease.key_probe):
                self._backend.tripped(state.provider, state, state.breaker.open_until)
                self._key_change("breaker_opened", state, state.breaker.open_until, kind)
            state.invalidate()
            lease.health.record(ok=False)
        else:  # the upstream is up; its answer was about the request or key
            if self._closing(lease):
                self._backend.recovered(state.provider, state)
            state.invalidate()
            lease.health.record(ok=True)
        if not cost.alert:
            return None
        return (
            f"{cost.reason}: key {state.slot} ({state.fingerprint}) of provider {state.provider} "
            f"is out of rotation for {cost.seconds or 0:.0f}s"
        )

    def end(self, lease: Lease, tokens_used: int | None) -> None:
        """Attempt over: release concurrency, replace the token estimate by actual usage, and
        free a half-open probe slot that got no verdict."""
        if lease.closed:
            return
        lease.closed = True
        self._backend.release(lease.state, lease.reservation, tokens_used)
        self._queues.notify()
        if lease.healthy:
            lease.health.record(ok=True)
            lease.health.timed(self._clock() - lease.started)
        if not lease.verdict:
            if lease.provider_probe:
                lease.health.breaker.abandon()
            if lease.key_probe:
                lease.state.breaker.abandon()
                lease.state.invalidate()

    # -- active health ----------------------------------------------------------------------

    def probes_due(self, providers: Mapping[str, Provider]) -> list[Provider]:
        """Enabled providers with `health.interval` set whose last probe is that old."""
        now = self._clock()
        return [
            p
            for p in providers.values()
            if p.enabled
            and p.health.interval is not None
            and now - self._provider_health(p).last_probe >= p.health.interval
        ]

    def record_probe(self, provider: Provider, ok: bool) -> None:
        """Feed an active probe's verdict to the provider's health; windows and quotas are
        untouched, since a probe is not user traffic. A good verdict closes the provider's
        breaker and ends its keys' open periods: the failures that tripped a key's breaker
        also tripped the provider's, so each such key gets its half-open request now
        instead of staying out for the rest of `open_for` (and without the backoff the same
        failures set)."""
        now = self._clock()
        health = self._provider_health(provider)
        was_open = health.breaker.tripped
        health.probed(now, ok)
        if health.breaker.tripped and not was_open:
            self._backend.tripped(provider.name, None, health.breaker.open_until)
            self._hook(
                Change("breaker_opened", provider.name, until=health.breaker.open_until, reason="probe")
            )
        if not ok:
            return
        if was_open and not health.breaker.tripped:
            self._backend.recovered(provider.name, None)
            self._hook(Change("breaker_closed", provider.name, reason="probe answered"))
        for state in self._keys.values():
            if state.provider == provider.name and state.breaker.cut_short(now):
                state.forgive()
                self._backend.recovered(provider.name, state)

    # -- views ------------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    def key_state(self, slot: str) -> KeyState | None:
        """The state of one key (by `Key.id`, or a keyless provider's name); read only."""
        return self._keys.get(slot)

    def health_of(self, provider: str) -> ProviderHealth | None:
        return self._health.get(provider)

    def queue_depths(self) -> dict[str, int]:
        return self._queues.depths()

    @property
    def backend(self) -> StateBackend:
        return self._backend

    def snapshot(self) -> dict[str, object]:
        """JSON-able state for the status endpoint and logs; times are seconds from now."""
        now = self._clock()
        return {
            "keys": {slot: state.snapshot(now) for slot, state in sorted(self._keys.items())},
            "providers": {name: health.snapshot(now) for name, health in sorted(self._health.items())},
            "affinity_entries": len(self._affinity),
            "queued": self._queues.depths(),
            "state": self._backend.snapshot(),
        }

    async def close(self) -> None:
        """Flush and close the shared state backend (at shutdown)."""
        await self._backend.close()
