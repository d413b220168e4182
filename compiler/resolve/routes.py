"""Flatten chain names and `match` patterns into the runtime's `Routes` table, proving no ties.

Resolution order (config-format.md): chain name, literal pattern, logical model name (served
by the steps of the providers that map it), glob with the longest literal prefix,
`provider/model` when allowed, `default_chain`. Globs that share a literal
prefix are the only ones that can tie; for those, `globs.overlap` decides.
"""

from __future__ import annotations

from collections.abc import Iterable

from compiler import codes
from compiler.context import Context
from compiler.language.model import ChainDef, ServerDef
from compiler.resolve.globs import is_glob, literal_prefix, overlap, to_regex
from compiler.source.validate import did_you_mean
from runtime.artifact import GlobRule, Routes


def literal_routes(ctx: Context, chains: dict[str, ChainDef]) -> dict[str, str]:
    exact = {name: name for name in chains}
    for name, chain in sorted(chains.items()):
        for index, pattern in enumerate(chain.match):
            owner = exact.get(pattern)
            if is_glob(pattern) or owner == name:
                continue
            if owner is None:
                exact[pattern] = name
                continue
            what = "is the name of chain" if pattern in chains else "is also a match pattern of chain"
            ctx.report(
                codes.AMBIGUOUS_MATCH,
                ["chains", name, "match", index],
                f"{pattern!r} {what} {owner!r}",
                "a model name may route to one chain only; remove one",
            )
    return exact


def glob_rules(ctx: Context, chains: dict[str, ChainDef]) -> tuple[GlobRule, ...]:
    by_prefix: dict[str, list[tuple[GlobRule, int]]] = {}
    for name, chain in sorted(chains.items()):
        for index, pattern in enumerate(chain.match):
            if is_glob(pattern):
                rule = GlobRule(
                    pattern=pattern, prefix=literal_prefix(pattern), regex=to_regex(pattern), chain=name
                )
                by_prefix.setdefault(rule.prefix, []).append((rule, index))
    rules: list[GlobRule] = []
    for group in by_prefix.values():
        for position, (rule, index) in enumerate(group):
            clash = next(
                (
                    r
                    for r, _ in group[:position]
                    if r.chain != rule.chain and overlap(r.pattern, rule.pattern)
                ),
                None,
            )
            if clash is not None:
                ctx.report(
                    codes.AMBIGUOUS_MATCH,
                    ["chains", rule.chain, "match", index],
                    f"{rule.pattern!r} ties with {clash.pattern!r} of chain {clash.chain!r}: "
                    f"a name can match both with the same literal prefix {rule.prefix!r}",
                    "make one pattern more specific (a longer literal prefix wins)",
                )
            elif all(r.pattern != rule.pattern or r.chain != rule.chain for r in rules):
                rules.append(rule)
    return tuple(sorted(rules, key=lambda r: (-len(r.prefix), r.pattern)))


def claimed_names(chains: dict[str, ChainDef]) -> set[str]:
    """Names a chain claims exactly (its name, its literal patterns): a logical model of the
    same name is reached through that chain instead."""
    return set(chains) | {p for chain in chains.values() for p in chain.match if not is_glob(p)}


def model_routes(exact: dict[str, str], models: Iterable[str]) -> dict[str, str]:
    """Logical model names a client may ask for, each to the chain relay builds for it
    (`compiler.resolve.chains.model_chains`); a chain name or literal pattern of the same text wins."""
    return {**{name: name for name in models if name not in exact}, **exact}


def build_routes(
    ctx: Context, chains: dict[str, ChainDef], server: ServerDef, models: Iterable[str] = ()
) -> Routes:
    default = server.default_chain
    if default is not None and default not in chains and not ctx.is_broken("chains", default):
        ctx.report(
            codes.UNKNOWN_CHAIN,
            ["server", "default_chain"],
            f"default_chain {default!r} is not a chain",
            did_you_mean(default, chains) or f"chains: {', '.join(sorted(chains)) or 'none'}",
        )
        default = None
    return Routes(
        exact=model_routes(literal_routes(ctx, chains), models),
        globs=glob_rules(ctx, chains),
        default_chain=default,
        allow_direct=server.allow_direct,
    )
