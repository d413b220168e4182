"""Resolve chains into ordered artifact steps: aliases flattened, references checked.

A step's model part is an alias from `models:` (resolved to that provider's upstream id, an
error when the alias has none for it) or else a raw id passed verbatim (info). Steps that
name entries which failed the schema are dropped quietly: their errors are already out.
"""

from __future__ import annotations

import msgspec

from compiler import codes
from compiler.context import Context
from compiler.language.model import ChainDef, ModelDef, ModelTargetDef, StepDef
from compiler.resolve.prices import price_of
from compiler.source.validate import did_you_mean
from runtime.artifact import AFFINITY_RETURN, Chain, Provider, Queue, Step


def alias_step(
    ctx: Context, where: list[str | int], provider: str, alias: str, model: ModelDef
) -> Step | None:
    target = model.providers.get(provider)
    if target is None:
        known = ", ".join(sorted(model.providers)) or "none"
        ctx.report(
            codes.ALIAS_NO_PROVIDER,
            where,
            f"model {alias!r} has no id for provider {provider!r}",
            f"add `{provider}: <upstream id>` under models.{alias}.providers (mapped now: {known})",
        )
        return None
    ident, cost = (
        (target.id, target.cost or model.cost) if isinstance(target, ModelTargetDef) else (target, model.cost)
    )
    return Step(
        provider=provider,
        model=ident,
        alias=alias,
        capabilities=tuple(model.capabilities),
        context=model.context,
        cost_input=cost.input if cost else None,
        cost_output=cost.output if cost else None,
        price=price_of(cost),
    )


def resolve_step(
    ctx: Context,
    chain: str,
    index: int,
    entry: str | StepDef,
    models: dict[str, ModelDef],
    providers: dict[str, Provider],
) -> Step | None:
    use, weight = (entry, 1.0) if isinstance(entry, str) else (entry.use, entry.weight)
    provider, _, model = use.partition("/")
    where: list[str | int] = ["chains", chain, "steps", index]
    if provider not in providers:
        if not ctx.is_broken("providers", provider):
            ctx.report(
                codes.UNKNOWN_PROVIDER,
                where,
                f"unknown provider {provider!r} in step {use!r}",
                did_you_mean(provider, providers) or f"providers: {', '.join(sorted(providers)) or 'none'}",
            )
        return None
    if model in models:
        step = alias_step(ctx, where, provider, model, models[model])
    elif ctx.is_broken("models", model):
        return None
    else:
        ctx.report(codes.RAW_MODEL, where, f"{model!r} is not in models:, sent verbatim to {provider}")
        step = Step(provider=provider, model=model)
    return msgspec.structs.replace(step, weight=weight) if step else None


def resolve_chain(
    ctx: Context, name: str, chain: ChainDef, models: dict[str, ModelDef], providers: dict[str, Provider]
) -> Chain:
    if not chain.steps:
        ctx.report(
            codes.EMPTY_CHAIN,
            ["chains", name],
            f"chain {name!r} has no steps",
            "add steps: [provider/model, …] or remove the chain",
            at_key=True,
        )
    steps: list[Step] = []
    for index, entry in enumerate(chain.steps):
        step = resolve_step(ctx, name, index, entry, models, providers)
        if step is None:
            continue
        if any((s.provider, s.model) == (step.provider, step.model) for s in steps):
            ctx.report(
                codes.DUPLICATE_STEP,
                ["chains", name, "steps", index],
                f"step {step.provider}/{step.model} appears twice in chain {name!r}",
                "remove the repeat; use weight: to give a step a larger share",
            )
            continue
        steps.append(step)
    if steps and not any(providers[s.provider].enabled for s in steps):
        ctx.report(
            codes.NO_ENABLED_STEP,
            ["chains", name],
            f"chain {name!r} has no step on an enabled provider",
            "set a key for one of its providers, or add a simulated step",
            at_key=True,
        )
    queue = Queue(**chain.queue.model_dump()) if chain.queue else Queue()
    return Chain(
        name=name,
        strategy=chain.strategy,
        steps=tuple(steps),
        match=tuple(chain.match),
        queue=queue,
        affinity_return=chain.affinity.return_after if chain.affinity else AFFINITY_RETURN,
        retry_wait=chain.retry_wait,
    )


def resolve_chains(
    ctx: Context, chains: dict[str, ChainDef], models: dict[str, ModelDef], providers: dict[str, Provider]
) -> dict[str, Chain]:
    return {name: resolve_chain(ctx, name, c, models, providers) for name, c in sorted(chains.items())}


def model_chains(
    ctx: Context, taken: set[str], models: dict[str, ModelDef], providers: dict[str, Provider]
) -> dict[str, Chain]:
    """A chain per logical model that no chain name claims: a client asking for `glm` is
    served by the providers that map `glm`, in the order written (failover), not by whatever
    chain the name would otherwise fall through to."""
    built: dict[str, Chain] = {}
    for name, model in sorted(models.items()):
        if name in taken:
            continue
        steps = [
            step
            for provider in model.providers
            if provider in providers
            and (step := alias_step(ctx, ["models", name], provider, name, model)) is not None
        ]
        if steps:
            built[name] = Chain(name=name, steps=tuple(steps), model=name)
    return built
