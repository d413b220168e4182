"""`relay explain MODEL` and `GET /admin/explain`: how a requested model name resolves,
step by step, and why.

Asks the runtime's own router (`runtime.routes`, pure) over the compiled `Routes`, so the
answer is what the built artifact will do, not a second reading of the rules. Lives in the
runtime so a running relay answers from the artifact it serves; the compiler's CLI calls it
on the artifact it just compiled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from runtime.artifact import Artifact, Limits, Provider, Step
from runtime.routes import Router
from runtime.rules import Facts, RuleTable


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


def explain(artifact: Artifact, model: str, prefix: tuple[str, ...] = ()) -> tuple[str, bool]:
    """The explanation, and whether the model resolves at all; `prefix`: lines before it."""
    found = route(artifact, model)
    if found.direct is not None:
        lines = [*prefix, f"{model} → direct", f"  why: {found.why}"]
        return "\n".join(
            lines + step_lines(1, found.direct, artifact.providers[found.direct.provider])
        ) + "\n", True
    if found.chain is None:
        chains = ", ".join(sorted(artifact.chains)) or "none"
        return "\n".join(
            [*prefix, f"{model} → no chain", f"  why: {found.why}", f"  chains: {chains}", ""]
        ), False
    head = [*prefix, f"{model} → chain {found.chain}", f"  why: {found.why}"]
    return _chain_text(artifact, head, found.chain), True


def _chain_text(artifact: Artifact, head: list[str], name: str) -> str:
    chain = artifact.chains[name]
    lines = [*head, f"  strategy: {chain.strategy}", "  steps:"]
    for number, step in enumerate(chain.steps, start=1):
        lines += step_lines(number, step, artifact.providers[step.provider])
    return "\n".join(lines) + "\n"


_top = msgspec.json.Decoder(dict[str, msgspec.Raw])
_any = msgspec.json.Decoder()


def _facts(body: bytes, fmt: str, headers: Mapping[str, str], client_key: str | None) -> Facts:
    try:
        top = _top.decode(body)
    except msgspec.DecodeError as exc:
        raise ValueError(f"the request is not a JSON object: {exc}") from None
    model = _any.decode(top["model"]) if "model" in top else ""
    if not isinstance(model, str) or not model:
        raise ValueError("the request has no model (a string)")
    return Facts(
        fmt=fmt,
        model=model,
        tokens=len(body) // 4,
        stream=bool(_any.decode(top["stream"])) if "stream" in top else False,
        top=top,
        full=lambda: dict(_any.decode(body)),
        headers={k.lower(): v for k, v in headers.items()},
        client_key=client_key,
    )


def explain_request(
    artifact: Artifact,
    body: bytes,
    fmt: str = "anthropic",
    headers: Mapping[str, str] | None = None,
    client_key: str | None = None,
) -> tuple[str, bool]:
    """Which routing rule a sample request fires and why each earlier one did not, then the
    chain it lands on; the same `runtime.rules` table the request path asks. Raises
    ValueError for a body that is not a request."""
    facts = _facts(body, fmt, headers or {}, client_key)
    table = RuleTable(artifact.routes.rules)
    lines = [
        f"request: model {facts.model}, ~{facts.tokens} input tokens (bytes / 4), "
        f"stream {str(facts.stream).lower()}, thinking {str(facts.thinking()).lower()}, "
        f"tools {str(facts.tools()).lower()}, images {str(facts.images()).lower()}"
    ]
    if not table.rules:
        lines.append("rules: none defined")
    else:
        lines.append("rules (first match wins):")
    fired = None
    for rule, failed in table.trace(facts):
        if failed is None:
            fired = rule
            lines.append(f"  {rule.name}: MATCHES ({rule.text}) → chain {rule.chain}")
        else:
            lines.append(f"  {rule.name}: no, {failed} does not hold ({rule.text})")
    if fired is None:
        if table.rules:
            lines.append("  no rule matches: the model name decides")
        return explain(artifact, facts.model, tuple(lines))
    return _chain_text(
        artifact, [*lines, f"{facts.model} → chain {fired.chain}", f"  why: rule {fired.name!r}"], fired.chain
    ), True
