"""Routing rules (`rules:`) into the artifact's decision table, checked before they can mislead:
a rule naming an unknown chain, a condition relay can never know or never satisfy, and a rule
no request can reach because an earlier one matches everything it would.

Globs become anchored regexes here, headers lower-case names, so the runtime only compares.
"""

from __future__ import annotations

import re

from compiler import codes
from compiler.context import Context
from compiler.language.model import RuleDef, WhenDef
from compiler.resolve.globs import is_glob, to_regex
from compiler.source.validate import did_you_mean
from runtime.artifact import Rule

CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization", "cookie"})
"""Headers relay reads only to check a client key, never to route on: `client_key` does that
by name, without a secret in the definitions."""


def _env_name(text: str) -> str | None:
    found = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}", text.strip())
    return found[1] if found else None


def client_key_names(keys: list[str]) -> list[str]:
    """The names rules may use for `server.auth.keys`: the variables they come from."""
    return [name for name in map(_env_name, keys) if name is not None]


def _conditions_text(when: WhenDef) -> str:
    parts = [f"{k}={v}" for k, v in when.model_dump(exclude_none=True).items()]
    return ", ".join(parts) or "always"


def _glob_regex(pattern: str) -> str:
    return to_regex(pattern) if is_glob(pattern) else "^" + re.escape(pattern) + r"\Z"


def compile_rule(name: str, rule: RuleDef) -> Rule:
    when = rule.when
    tokens = when.input_tokens
    return Rule(
        name=name,
        chain=rule.chain,
        models=tuple(_glob_regex(p) for p in when.model or ()),
        above=tokens.above if tokens else None,
        below=tokens.below if tokens else None,
        thinking=when.thinking,
        tools=when.tools,
        tool_types=tuple(when.tool_types or ()),
        images=when.images,
        stream=when.stream,
        client_keys=tuple(when.client_key or ()),
        headers=tuple((h.lower(), _glob_regex(v)) for h, v in (when.headers or {}).items()),
        text=_conditions_text(when),
    )


def _never(ctx: Context, name: str, when: WhenDef, key_names: list[str], auth: bool) -> bool:
    """Report conditions no request can satisfy or relay cannot know; True if any."""
    found = False

    def report(field: list[str | int], message: str, hint: str) -> None:
        nonlocal found
        found = True
        ctx.report(codes.RULE_NEVER_KNOWN, ["rules", name, "when", *field], message, hint)

    tokens = when.input_tokens
    if tokens and tokens.above is not None and tokens.below is not None and tokens.above + 1 >= tokens.below:
        report(
            ["input_tokens"],
            f"rule {name!r}: no estimate is above {tokens.above} and below {tokens.below}",
            "make below larger than above + 1, or keep one bound",
        )
    if when.tools is False and when.tool_types:
        report(["tool_types"], f"rule {name!r}: tool_types needs tools, and tools is false", "drop one")
    for index, key in enumerate(when.client_key or ()):
        if not auth:
            report(
                ["client_key", index],
                f"rule {name!r}: client_key {key!r} can never be known: server.auth has no keys",
                'add server.auth.keys: ["${' + key + '}"], or drop the condition',
            )
        elif key not in key_names:
            report(
                ["client_key", index],
                f"rule {name!r}: no client key comes from {key!r}",
                did_you_mean(key, key_names) or f"server.auth.keys come from: {', '.join(key_names)}",
            )
    for header in when.headers or {}:
        if header.lower() in CREDENTIAL_HEADERS:
            report(
                ["headers", header],
                f"rule {name!r}: relay never routes on the credential header {header!r}",
                "route by client key name with client_key: [VAR], where server.auth.keys has ${VAR}",
            )
    return found


def _covers_models(earlier: tuple[str, ...], later: tuple[str, ...], later_text: list[str]) -> bool:
    if not earlier:
        return True
    if not later:
        return False
    compiled = [re.compile(r) for r in earlier]
    return all(
        pattern in earlier or (not is_glob(text) and any(r.match(text) for r in compiled))
        for pattern, text in zip(later, later_text, strict=True)
    )


def _flag(rule: Rule, name: str) -> bool | None:
    """A flag as the rule implies it: asking for a tool type asks for tools."""
    value: bool | None = getattr(rule, name)
    return True if name == "tools" and rule.tool_types else value


def shadows(earlier: Rule, later: Rule, later_models: list[str]) -> bool:
    """True when every request `later` matches also matches `earlier` (sound, not complete:
    a False may still be a shadow that this cheap comparison cannot prove)."""
    flags = ("thinking", "tools", "images", "stream")
    if any(getattr(earlier, f) is not None and getattr(earlier, f) != _flag(later, f) for f in flags):
        return False
    if earlier.above is not None and (later.above is None or later.above < earlier.above):
        return False
    if earlier.below is not None and (later.below is None or later.below > earlier.below):
        return False
    if earlier.tool_types and not (later.tool_types and set(later.tool_types) <= set(earlier.tool_types)):
        return False
    if earlier.client_keys and not (later.client_keys and set(later.client_keys) <= set(earlier.client_keys)):
        return False
    if not set(earlier.headers) <= set(later.headers):
        return False
    return _covers_models(earlier.models, later.models, later_models)


def resolve_rules(
    ctx: Context, rules: dict[str, RuleDef], chains: set[str], key_names: list[str], auth: bool
) -> tuple[Rule, ...]:
    """The rules that can match, in order; every other one is reported (never dropped silently:
    a reported rule is an error, so no artifact is written)."""
    compiled: list[tuple[Rule, list[str]]] = []
    for name, rule in rules.items():
        if rule.chain not in chains:
            if not ctx.is_broken("chains", rule.chain):
                ctx.report(
                    codes.RULE_UNKNOWN_CHAIN,
                    ["rules", name, "chain"],
                    f"rule {name!r} routes to {rule.chain!r}, which is not a chain",
                    did_you_mean(rule.chain, chains) or f"chains: {', '.join(sorted(chains)) or 'none'}",
                )
            continue
        if _never(ctx, name, rule.when, key_names, auth):
            continue
        this = compile_rule(name, rule)
        earlier = next((r for r, _ in compiled if shadows(r, this, rule.when.model or [])), None)
        if earlier is not None:
            ctx.report(
                codes.RULE_SHADOWED,
                ["rules", name],
                f"rule {name!r} can never match: rule {earlier.name!r} before it ({earlier.text}) "
                "matches every request it would",
                f"move {name!r} above {earlier.name!r}, or narrow {earlier.name!r}",
                at_key=True,
            )
            continue
        compiled.append((this, list(rule.when.model or [])))
    return tuple(r for r, _ in compiled)
