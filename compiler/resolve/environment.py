"""Expand environment references in every definition string except secrets.

Secrets (provider keys, client and admin keys) are left as written here: `keys` resolves
them separately so their values only ever flow into `secrets.json`. Every other value that
came from the environment may still be a secret (a password in `server.state`, an
`?api_key=` in a `base_url`, a token in a header), so the build keeps the committed files
free of all of them (`split`) and the values in `base_url`, `headers` and `server.state`
are also handed to the runtime to redact from what it passes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from compiler import codes
from compiler.diagnostics import Diagnostic, Part, make
from compiler.resolve.envrefs import Env, Expanded, expand
from compiler.source.merge import DefinitionSet


def is_secret(parts: list[Part]) -> bool:
    if len(parts) >= 4 and parts[0] == "providers" and parts[2] == "keys":
        return len(parts) == 4 or (len(parts) == 5 and parts[4] == "key")
    return len(parts) == 4 and parts[0] == "server" and parts[1] in ("auth", "admin") and parts[2] == "keys"


def carries_credentials(parts: list[Part]) -> bool:
    """Fields whose environment values are treated as secrets to redact at run time."""
    if parts == ["server", "state"]:
        return True
    if len(parts) == 4 and parts[:2] == ["server", "webhooks"] and parts[3] in ("url", "secret"):
        return True
    return len(parts) >= 3 and parts[0] == "providers" and parts[2] in ("base_url", "headers")


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that are credentials when present: password, user, query values."""
    try:
        parts = urlsplit(url)
        found = [parts.password or "", parts.username or ""]
    except ValueError:
        return []
    return [v for v in found + [value for _, value in parse_qsl(parts.query)] if v]


def env_secrets(result: Expanded) -> list[str]:
    """The substituted values, plus each URL credential that holds or is held by one of them
    (`${REDIS_URL}` whole, or `?key=${KEY}`): an upstream may echo either form."""
    taken = result.substituted
    parts = [p for p in url_secrets(result.value) if any(p in s or s in p for s in taken)]
    return [*taken, *parts]


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


@dataclass
class Expansion:
    data: dict[str, Any]
    diags: list[Diagnostic] = field(default_factory=list)
    unresolved: set[tuple[Part, ...]] = field(default_factory=set)
    """Values later checks must skip: a missing or malformed reference (already reported), or,
    in a blind build, any reference at all (its value is unknown there)."""
    secrets: set[str] = field(default_factory=set)
    """Values from the environment in fields that carry credentials (see `carries_credentials`)."""


def expand_all(ds: DefinitionSet, env: Env) -> Expansion:
    """The data with references expanded, with what the expansion found out along the way.

    A URL built from a missing variable is reported once, as the missing variable (a
    warning in `relay check`), not again as a bad URL.
    """
    out = Expansion({})

    def walk(value: Any, parts: list[Part]) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, [*parts, k]) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, [*parts, i]) for i, v in enumerate(value)]
        if isinstance(value, str) and "$" in value and not is_secret(parts):
            result = expand(value, env)
            out.diags.extend(env_diagnostics(ds, parts, result))
            if result.missing or result.malformed or (env is None and result.refs):
                out.unresolved.add(tuple(parts))
            if result.substituted and carries_credentials(parts):
                out.secrets.update(env_secrets(result))
            return result.value
        return value

    out.data = walk(ds.data, [])
    return out
