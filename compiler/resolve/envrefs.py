"""Environment references in definition strings: `${NAME}`, `${NAME:-fallback}`, `$${` literal.

`${NAME}` is required (unset or empty: reported as missing); `${NAME:-fallback}` uses the
fallback when NAME is unset or empty, so `${NAME:-}` is an optional value that can vanish.

`env=None` reads no environment at all ("blind"): a string that references one keeps its
text as written, so what `relay build` commits is the same whatever the environment holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Env = Mapping[str, str] | None
"""The environment a build reads; None: none at all (the committed, environment-free build)."""


@dataclass
class Expanded:
    value: str
    refs: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    substituted: list[str] = field(default_factory=list)
    """The non-empty values taken from the environment, in order: what redaction must know."""

    @property
    def from_env(self) -> bool:
        """The value depends on the environment (even when a fallback was used)."""
        return bool(self.refs)


def expand(text: str, env: Env) -> Expanded:
    out = Expanded("")
    pieces: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        pieces.append(text[last : match.start()])
        last = match.end()
        token, body = match.group(0), match.group(1)
        if token == "$${":
            pieces.append("${")
        elif body is None:
            out.malformed.append(text[match.start() :])
            last = len(text)
            break
        else:
            pieces.append(substitute(body, env, out))
    pieces.append(text[last:])
    out.value = text if env is None and out.refs else "".join(pieces)
    return out


def substitute(body: str, env: Env, out: Expanded) -> str:
    name, has_fallback, fallback = body.partition(":-")
    if not _NAME.fullmatch(name):
        out.malformed.append("${" + body + "}")
        return ""
    out.refs.append(name)
    if env is None:
        return ""
    value = env.get(name, "")
    if value:
        out.substituted.append(value)
        return value
    if not has_fallback:
        out.missing.append(name)
    return fallback
