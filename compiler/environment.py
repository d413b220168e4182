"""Expand environment references in every definition string except secrets.

Secrets (provider keys, client and admin keys) are left as written here: `keys` resolves
them separately so their values only ever flow into `secrets.json`. Everything expanded
here may end up in committed files, which is why `headers` must not carry credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compiler import codes
from compiler.diagnostics import Diagnostic, Part, make
from compiler.envrefs import Expanded, expand
from compiler.merge import DefinitionSet


def is_secret(parts: list[Part]) -> bool:
    if len(parts) >= 4 and parts[0] == "providers" and parts[2] == "keys":
        return len(parts) == 4 or (len(parts) == 5 and parts[4] == "key")
    return len(parts) == 4 and parts[0] == "server" and parts[1] in ("auth", "admin") and parts[2] == "keys"


def env_diagnostics(ds: DefinitionSet, parts: list[Part], result: Expanded) -> list[Diagnostic]:
    where = ds.where(parts)
    diags = [
        make(
            codes.BAD_ENV_REF,
            where,
            f"malformed environment reference {bad!r}",
            "write ${NAME} or ${NAME:-fallback}; $${ is a literal ${",
        )
        for bad in result.malformed
    ]
    diags += [
        make(
            codes.MISSING_ENV,
            where,
            f"environment variable {name} is not set",
            f"export {name}, or write ${{{name}:-}} to make it optional",
        )
        for name in result.missing
    ]
    return diags


def expand_all(
    ds: DefinitionSet, env: Mapping[str, str]
) -> tuple[dict[str, Any], list[Diagnostic], set[tuple[Part, ...]]]:
    """The data with references expanded, their diagnostics, and the paths left unresolved.

    Later checks skip unresolved values: a URL built from a missing variable is reported
    once, as the missing variable (a warning in `relay check`), not again as a bad URL.
    """
    diags: list[Diagnostic] = []
    unresolved: set[tuple[Part, ...]] = set()

    def walk(value: Any, parts: list[Part]) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, [*parts, k]) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, [*parts, i]) for i, v in enumerate(value)]
        if isinstance(value, str) and "$" in value and not is_secret(parts):
            result = expand(value, env)
            diags.extend(env_diagnostics(ds, parts, result))
            if result.missing or result.malformed:
                unresolved.add(tuple(parts))
            return result.value
        return value

    expanded: dict[str, Any] = walk(ds.data, [])
    return expanded, diags, unresolved
