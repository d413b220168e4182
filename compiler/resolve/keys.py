"""Resolve secret fields (provider keys, client and admin keys) from the environment.

Values leave this module only inside `ResolvedKey.value`, which `emit` writes to the 0600
`secrets.json` alone; diagnostics here never quote a value. A key-shaped literal is refused
so that secrets are never committed in definition files.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from compiler import codes
from compiler.context import Context
from compiler.diagnostics import Diagnostic, Part, make
from compiler.language.provider import KeyDef, LimitsDef
from compiler.resolve.environment import env_diagnostics
from compiler.resolve.envrefs import Env, expand
from compiler.source.merge import DefinitionSet

_KEY_SHAPED = re.compile(r"(sk-|gsk_|csk-|xai-|AIza)\S+|[A-Za-z0-9][A-Za-z0-9_\-.:+/=]{19,}")
_CREDENTIAL_PARAM = re.compile(
    r"(api[-_]?key|key|token|access[-_]?token|secret|password|passwd|pwd|auth|sig|signature)", re.IGNORECASE
)


def fingerprint(value: str) -> str:
    """Short, stable and non-reversible: lets runtime state follow a key across rebuilds."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:8]


@dataclass
class ResolvedKey:
    name: str
    value: str
    """Empty when an optional reference was unset: the key is dropped."""
    limits: LimitsDef | None = None
    account: str | None = None
    refs: list[str] = field(default_factory=list)
    missing: bool = False
    unknown: bool = False
    """A blind build (no environment read): the value comes from the environment, unknown here."""


def resolve_one(
    ds: DefinitionSet, parts: list[Part], text: str, env: Env
) -> tuple[ResolvedKey, list[Diagnostic]]:
    result = expand(text, env)
    diags = env_diagnostics(ds, parts, result)
    if not result.refs and not result.malformed and _KEY_SHAPED.fullmatch(text.strip()):
        diags.append(
            make(
                codes.LITERAL_SECRET,
                ds.where(parts),
                "a literal secret is written in a key field",
                "put it in an environment variable and write ${NAME} here; rotate the exposed key",
            )
        )
    unknown = env is None and bool(result.refs)
    value = "" if unknown else result.value
    key = ResolvedKey(str(parts[-1]), value, refs=result.refs, missing=bool(result.missing), unknown=unknown)
    return key, diags


def resolve_keys(
    ds: DefinitionSet, prefix: list[Part], entries: list[str | KeyDef] | list[str], env: Env
) -> tuple[list[ResolvedKey], list[Diagnostic]]:
    keys: list[ResolvedKey] = []
    diags: list[Diagnostic] = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        parts = [*prefix, index] if isinstance(entry, str) else [*prefix, index, "key"]
        key, found = resolve_one(ds, parts, entry if isinstance(entry, str) else entry.key, env)
        diags.extend(found)
        key.name = entry.name if isinstance(entry, KeyDef) and entry.name else str(index)
        key.limits = entry.limits if isinstance(entry, KeyDef) else None
        key.account = entry.account if isinstance(entry, KeyDef) else None
        if key.name in names:
            diags.append(
                make(
                    codes.DUPLICATE_NAME,
                    ds.where([*prefix, index]),
                    f"key name {key.name!r} is used twice",
                    "give each key of a provider its own name",
                )
            )
        names.add(key.name)
        keys.append(key)
    return keys, diags


def literal_url_secret(url: str) -> str | None:
    """The credential a URL carries as written rather than from `${…}`, or None."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return None
    if password and "${" not in password:
        return "a password"
    for name, value in parse_qsl(parts.query):
        if _CREDENTIAL_PARAM.fullmatch(name) and "${" not in value:
            return f"the query parameter {name!r}"
    return None


def check_url_secret(ctx: Context, parts: list[Part], written: str) -> None:
    """A credential in a committed definition file is exposed already; refuse it (R204)."""
    what = literal_url_secret(written)
    if what is not None:
        ctx.report(
            codes.LITERAL_SECRET,
            parts,
            f"{what} is written literally in this URL",
            "put it in an environment variable and write ${NAME} in its place (or the whole URL as "
            "${NAME}); rotate the exposed credential",
        )
