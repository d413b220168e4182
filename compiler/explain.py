"""`relay explain MODEL`: how a requested model name resolves, step by step, and why.

Follows the resolution order of config-format.md over the compiled `Routes`, the same
table the runtime reads, so the answer describes what the built artifact will do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runtime.artifact import Artifact, Limits, Provider, Step


@dataclass(frozen=True)
class Route:
    chain: str | None
    why: str
    direct: Step | None = None


def route(artifact: Artifact, model: str) -> Route:
    routes = artifact.routes
    if model in artifact.chains:
        return Route(model, "exact chain name")
    if model in routes.exact:
        return Route(routes.exact[model], f"literal match pattern {model!r}")
    for rule in routes.globs:
        if model.startswith(rule.prefix) and re.match(rule.regex, model):
            return Route(rule.chain, f"match pattern {rule.pattern!r} (literal prefix {rule.prefix!r})")
    provider, _, upstream = model.partition("/")
    if routes.allow_direct and upstream and provider in artifact.providers:
        return Route(
            None,
            "provider/model requested directly (server.allow_direct)",
            Step(provider=provider, model=upstream),
        )
    if routes.default_chain:
        return Route(routes.default_chain, "nothing else matched: server.default_chain")
    return Route(None, "no chain name, match pattern or default_chain fits")


def limits_text(limits: Limits) -> str:
    parts = [f"{name} {getattr(limits, name)}" for name in ("rpm", "rpd", "tpm", "tpd", "concurrency")]
    shown = [p for p in parts if not p.endswith(" None")]
    return ", ".join(shown) or "none configured"


def step_lines(number: int, step: Step, provider: Provider) -> list[str]:
    alias = f" (alias {step.alias})" if step.alias else " (raw id)"
    state = "enabled" if provider.enabled else f"DISABLED: {provider.disabled_reason}"
    caps = ", ".join(step.capabilities) if step.capabilities is not None else "unknown"
    key_limits = [limits_text(k.limits) for k in provider.keys] or [limits_text(provider.limits)]
    sim = provider.simulate
    simulated = [f"       simulated: latency {sim.latency:g}s, rpm {sim.rpm or 'unlimited'}"] if sim else []
    return [
        f"    {number}. {step.provider} → {step.model}{alias}",
        f"       wire format {provider.api}, {len(provider.keys)} key(s), {state}",
        f"       limits per key: {'; '.join(key_limits)}",
        f"       capabilities: {caps}; weight {step.weight:g}",
        *simulated,
    ]


def explain(artifact: Artifact, model: str) -> tuple[str, bool]:
    """The explanation, and whether the model resolves at all."""
    found = route(artifact, model)
    if found.direct is not None:
        lines = [f"{model} → direct", f"  why: {found.why}"]
        return "\n".join(
            lines + step_lines(1, found.direct, artifact.providers[found.direct.provider])
        ) + "\n", True
    if found.chain is None:
        chains = ", ".join(sorted(artifact.chains)) or "none"
        return f"{model} → no chain\n  why: {found.why}\n  chains: {chains}\n", False
    chain = artifact.chains[found.chain]
    lines = [
        f"{model} → chain {chain.name}",
        f"  why: {found.why}",
        f"  strategy: {chain.strategy}",
        "  steps:",
    ]
    for number, step in enumerate(chain.steps, start=1):
        lines += step_lines(number, step, artifact.providers[step.provider])
    return "\n".join(lines) + "\n", True
