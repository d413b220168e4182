"""Checks across the resolved set that no single section can see: unused names, Claude tools.

Run after resolution, over artifact chains, so they judge what the runtime will do.
"""

from __future__ import annotations

from compiler import codes
from compiler.context import Context
from compiler.language.model import ModelDef
from compiler.language.provider import ProviderDef
from compiler.resolve.globs import is_glob, overlap
from runtime.artifact import Chain

CLAUDE_GLOB = "claude-*"


def check_unused(
    ctx: Context, providers: dict[str, ProviderDef], models: dict[str, ModelDef], chains: dict[str, Chain]
) -> None:
    if any(section == "chains" for section, _ in ctx.broken):
        return  # a chain left out after a schema error may be the user of what looks unused
    steps = [s for c in chains.values() for s in c.steps]
    used_providers = {s.provider for s in steps}
    used_models = {s.alias for s in steps if s.alias}
    for name in sorted(set(providers) - used_providers):
        ctx.report(
            codes.UNUSED_PROVIDER,
            ["providers", name],
            f"provider {name!r} is used by no chain",
            "add it to a chain's steps, or remove it",
            at_key=True,
        )
    for name in sorted(set(models) - used_models):
        ctx.report(
            codes.UNUSED_MODEL,
            ["models", name],
            f"model {name!r} is used by no chain",
            "use it in a step as provider/" + name + ", or remove it",
            at_key=True,
        )


def serves_claude(chain: Chain) -> bool:
    """Whether Claude Code's model names (claude-…) can land on this chain through `match`."""
    return any(overlap(p, CLAUDE_GLOB) if is_glob(p) else p.startswith("claude-") for p in chain.match)


def check_claude_tools(ctx: Context, chains: dict[str, Chain]) -> None:
    for name, chain in chains.items():
        if not serves_claude(chain):
            continue
        for index, step in enumerate(chain.steps):
            if step.capabilities is not None and "tools" not in step.capabilities:
                ctx.report(
                    codes.NO_TOOLS,
                    ["chains", name, "steps", index],
                    f"{step.provider}/{step.alias} lacks the tools capability, but chain {name!r} "
                    "serves Claude Code, which calls tools on nearly every request",
                    f"add tools to models.{step.alias}.capabilities if it supports them, or drop the step",
                )
