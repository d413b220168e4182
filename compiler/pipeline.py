"""The compiler's phases end to end: a definition folder in, diagnostics and an artifact out.

Pure of side effects (no files written, environment passed in), so tests and `relay
explain` call it directly and `emit` is the only writer. `mode="build"` turns missing
environment variables into errors; `strict` turns every warning into one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Literal

from compiler import codes, typed
from compiler.capacity import Capacity, capacities
from compiler.chains import model_chains, resolve_chains
from compiler.checks import check_claude_tools, check_unused
from compiler.cloud import check_deployments
from compiler.context import Context
from compiler.diagnostics import Diagnostic, Where, has_errors, make, ordered, promote
from compiler.environment import expand_all
from compiler.load import Source, load_dir
from compiler.merge import DefinitionSet, merge
from compiler.model import DefinitionFile, ModelDef, ModelTargetDef, ServerDef
from compiler.providers import ProviderPlan, resolve_providers
from compiler.routes import build_routes, claimed_names
from compiler.server import resolve_server
from compiler.validate import Broken, validate
from runtime.artifact import FORMAT_VERSION, Artifact, ModelInfo, Secrets

Mode = Literal["check", "build"]


@dataclass
class Compiled:
    diagnostics: list[Diagnostic]
    sources: list[Source]
    artifact: Artifact | None = None
    secrets: Secrets | None = None
    plans: dict[str, ProviderPlan] = field(default_factory=dict)
    capacity: list[Capacity] = field(default_factory=list)


def relay_version() -> str:
    try:
        return metadata.version("relay")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def source_hash(sources: list[Source]) -> str:
    digest = hashlib.sha256()
    for source in sorted(sources, key=lambda s: s.rel):
        digest.update(source.rel.encode() + b"\0" + source.raw + b"\0")
    return "sha256:" + digest.hexdigest()


def model_info(name: str, model: ModelDef) -> ModelInfo:
    ids = {p: t.id if isinstance(t, ModelTargetDef) else t for p, t in sorted(model.providers.items())}
    return ModelInfo(
        name=name,
        context=model.context,
        capabilities=tuple(model.capabilities),
        cost_input=model.cost.input if model.cost else None,
        cost_output=model.cost.output if model.cost else None,
        providers=ids,
    )


def require_sections(ds: DefinitionSet, broken: Broken) -> list[Diagnostic]:
    where = Where(ds.sources[0].display if ds.sources else ".")
    return [
        make(
            codes.NO_DEFINITIONS, where, f"no {section} are defined in any file", f"add a {section}: section"
        )
        for section in ("providers", "chains")
        if not ds.data[section] and not any(s == section for s, _ in broken)
    ]


def resolve(ctx: Context, defs: DefinitionFile, sources: list[Source]) -> Compiled:
    server_def = defs.server or ServerDef.model_validate({})
    server, client_keys, admin_keys = resolve_server(ctx, server_def)
    plans = resolve_providers(ctx, defs.providers, server.timeouts)
    providers = {name: plan.provider for name, plan in plans.items()}
    chains = resolve_chains(ctx, defs.chains, defs.models, providers)
    check_deployments(ctx, chains, defs.models, providers)
    check_unused(ctx, defs.providers, defs.models, chains)
    check_claude_tools(ctx, chains)
    by_model = model_chains(ctx, claimed_names(defs.chains), defs.models, providers)
    routes = build_routes(ctx, defs.chains, server_def, by_model)
    chains.update(by_model)
    artifact = Artifact(
        format_version=FORMAT_VERSION,
        relay_version=relay_version(),
        source_hash=source_hash(sources),
        sources=tuple(s.rel for s in sources),
        server=server,
        providers=providers,
        models={name: model_info(name, m) for name, m in sorted(defs.models.items())},
        chains=chains,
        routes=routes,
    )
    key_values = {k: v for plan in plans.values() for k, v in plan.secrets.items()}
    secrets = Secrets(
        format_version=FORMAT_VERSION,
        keys=key_values,
        client_keys=tuple(client_keys),
        admin_keys=tuple(admin_keys),
    )
    return Compiled(ctx.diags, sources, artifact, secrets, plans, capacities(chains, providers))


def analyse(root: Path, env: Mapping[str, str]) -> Compiled:
    sources, diags = load_dir(root)
    if not sources or has_errors(d for d in diags if d.code in codes.IO_CODES):
        return Compiled(diags, sources)
    broken_by_file: dict[str, Broken] = {}
    for source in sources:
        if source.data is not None:
            found, broken_by_file[source.rel] = validate(source)
            diags.extend(found)
    broken = set().union(*broken_by_file.values())
    ds, found = merge(sources, broken_by_file)
    if all(s.data is not None for s in sources):
        found += require_sections(ds, broken)
    diags += found
    expanded, found, unresolved = expand_all(ds, env)
    diags += found
    defs, found = typed.build(ds, expanded)
    diags += found
    if defs is None:
        return Compiled(diags, sources)
    result = resolve(Context(ds, env, broken, unresolved=unresolved), defs, sources)
    result.diagnostics = diags + result.diagnostics
    return result


def compile_dir(root: Path, env: Mapping[str, str], mode: Mode = "check", strict: bool = False) -> Compiled:
    result = analyse(root, env)
    diags = (
        promote(result.diagnostics, frozenset({codes.MISSING_ENV.code}))
        if mode == "build"
        else result.diagnostics
    )
    result.diagnostics = ordered(promote(diags) if strict else diags)
    if has_errors(result.diagnostics):
        result.artifact, result.secrets = None, None
    return result
