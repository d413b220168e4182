"""Split a build into what is committed and what this machine's environment adds.

`relay build` resolves the definitions twice: with the environment (what relay will serve)
and blind, reading none (`Compiled.blind`). The blind one is committed: routing.json, the
provider modules and the lint report are then the same on every machine, and rebuilding
with one's own keys leaves the repository clean. Everything by which the two differ goes
to the git-ignored side: `secrets.json` (key values, the routing.json fields the
environment changes as JSON pointers, module constants, values to redact) and the
environment's diagnostics and capacity (`lint.env.*`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from compiler import codes
from compiler.diagnostics import Diagnostic, Part, pointer
from compiler.pipeline import Compiled
from compiler.resolve.endpoints import urls
from compiler.resolve.providers import ProviderPlan
from runtime.artifact import FORMAT_VERSION, Artifact, ModuleOverride, Secrets

ENV_CODES = frozenset(
    {
        codes.MISSING_ENV.code,
        codes.PROVIDER_DISABLED.code,
        codes.NO_ENABLED_STEP.code,
        codes.CLOUD_CREDENTIALS.code,
    }
)
"""Diagnostics about what the environment (or the building machine) holds: never committed."""


def differences(old: Any, new: Any, parts: list[Part]) -> Iterator[tuple[str, Any]]:
    """Pointers to the smallest parts of `new` that differ from `old` (plain JSON data)."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys():
        for key in sorted(old):
            yield from differences(old[key], new[key], [*parts, key])
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from differences(a, b, [*parts, index])
    else:
        yield pointer(parts), new


def plain(value: object) -> Any:
    """`value` as JSON data, exactly as the runtime decodes it from the file (lists, not tuples)."""
    return msgspec.json.decode(msgspec.json.encode(value))


def overrides(committed: Artifact, effective: Artifact) -> dict[str, Any]:
    return dict(differences(plain(committed), plain(effective), []))


def module_values(plan: ProviderPlan) -> ModuleOverride:
    provider = plan.provider
    found = urls(provider.api, provider.base_url)
    return ModuleOverride(
        messages_url=found.messages,
        count_tokens_url=found.count_tokens,
        chat_url=found.chat,
        responses_url=found.responses,
        models_url=found.models,
        static_headers=provider.headers,
    )


def module_overrides(
    committed: dict[str, ProviderPlan], effective: dict[str, ProviderPlan]
) -> dict[str, ModuleOverride]:
    changed = {}
    for name, plan in effective.items():
        values = module_values(plan)
        if values != module_values(committed[name]):
            changed[name] = values
    return changed


def secrets(result: Compiled, routing_digest: str) -> Secrets:
    """secrets.json: what `result` (the environment's build) adds to its blind twin."""
    assert result.artifact is not None and result.secrets is not None
    assert result.blind is not None and result.blind.artifact is not None
    return msgspec.structs.replace(
        result.secrets,
        format_version=FORMAT_VERSION,
        routing=routing_digest,
        overrides=overrides(result.blind.artifact, result.artifact),
        modules=module_overrides(result.blind.plans, result.plans),
        redact=tuple(sorted(result.env_secrets)),
    )


def depends_on_env(d: Diagnostic, unresolved: set[tuple[Part, ...]]) -> bool:
    if d.code in ENV_CODES:
        return True
    return any(d.pointer == (p := pointer(path)) or d.pointer.startswith(p + "/") for path in unresolved)


def committed_diagnostics(result: Compiled) -> list[Diagnostic]:
    """The blind build's diagnostics but those about the environment or values taken from it."""
    assert result.blind is not None
    return [d for d in result.blind.diagnostics if not depends_on_env(d, result.blind.unresolved)]


def environment_diagnostics(result: Compiled) -> list[Diagnostic]:
    """What this environment's build reports beyond the committed diagnostics."""
    committed = set(committed_diagnostics(result))
    return [d for d in result.diagnostics if d not in committed]
