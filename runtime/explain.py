"""`relay explain MODEL` and `GET /admin/explain`: how a requested model name resolves,
step by step, and why.

Asks the runtime's own router (`runtime.routes`, pure) over the compiled `Routes`, so the
answer is what the built artifact will do, not a second reading of the rules. Lives in the
runtime so a running relay answers from the artifact it serves; the compiler's CLI calls it
on the artifact it just compiled.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.artifact import Artifact, Limits, Provider, Step
from runtime.routes import Router


@dataclass(frozen=True)
class Route:
    chain: str | None
    why: str
    direct: Step | None = None


def route(artifact: Artifact, model: str) -> Route:
    found = Router(artifact).match(model)
    if found is None:
        return Route(None, "no chain name, logical model, match pattern or default_chain fits")
    if found.kind == "direct":
        return Route(None, "provider/model requested directly (server.allow_direct)", found.chain.steps[0])
    if found.kind == "glob" and found.glob is not None:
        return Route(
            found.chain.name, f"match pattern {found.glob.pattern!r} (literal prefix {found.glob.prefix!r})"
        )
    why = {
        "chain": "exact chain name",
        "literal": f"literal match pattern {model!r}",
        "model": "logical model from models:, served by the providers that map it, in order",
        "default": "nothing else matched: server.default_chain",
    }[found.kind]
    return Route(found.chain.name, why)


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
