"""Environment references in definition strings: `${NAME}`, `${NAME:-fallback}`, `$${` literal.

`${NAME}` is required (unset or empty: reported as missing); `${NAME:-fallback}` uses the
fallback when NAME is unset or empty, so `${NAME:-}` is an optional value that can vanish.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Expanded:
    value: str
    refs: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


def expand(text: str, env: Mapping[str, str]) -> Expanded:
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
    out.value = "".join(pieces)
    return out


def substitute(body: str, env: Mapping[str, str], out: Expanded) -> str:
    name, has_fallback, fallback = body.partition(":-")
    if not _NAME.fullmatch(name):
        out.malformed.append("${" + body + "}")
        return ""
    out.refs.append(name)
    value = env.get(name, "")
    if value:
        return value
    if not has_fallback:
        out.missing.append(name)
    return fallback
