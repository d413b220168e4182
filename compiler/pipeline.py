"""The compiler's phases end to end: a definition folder in, diagnostics and an artifact out.

Pure of side effects (no files written, environment passed in), so tests and `relay
explain` call it directly and `emit` is the only writer. `mode="build"` turns missing
environment variables into errors; `strict` turns every warning into one, and also
resolves the set a second time without any environment (`Compiled.blind`): that is what
`relay build` commits, so the committed files are the same on every machine.

A file that cannot be parsed stops the run after every file was read and checked on its
own: checks across files would only report what the broken file failed to define.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Literal

import msgspec

from compiler import codes
from compiler.context import Context
from compiler.diagnostics import Diagnostic, Part, Where, has_errors, make, ordered, promote
from compiler.language import typed
from compiler.language.model import DefinitionFile, ModelDef, ModelTargetDef, ServerDef
from compiler.resolve.capacity import Capacity, capacities
from compiler.resolve.chains import model_chains, resolve_chains
from compiler.resolve.checks import check_claude_tools, check_unused
from compiler.resolve.cloud import check_deployments
from compiler.resolve.environment import expand_all
from compiler.resolve.envrefs import Env
from compiler.resolve.extras import check_extras
from compiler.resolve.prices import CostEstimate, check_references, estimate, with_references
from compiler.resolve.providers import ProviderPlan, resolve_providers
from compiler.resolve.routes import build_routes, claimed_names
from compiler.resolve.rules import client_key_names, resolve_rules
from compiler.resolve.server import resolve_server
from compiler.source.files import Source, load_dir
from compiler.source.merge import DefinitionSet, merge
from compiler.source.validate import Broken, validate
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
    estimates: list[CostEstimate] = field(default_factory=list)
    env_secrets: set[str] = field(default_factory=set)
    """Credentials from the environment outside key fields, for the runtime to redact."""
    unresolved: set[tuple[Part, ...]] = field(default_factory=set)
    blind: Compiled | None = None
    """In a build: the same definitions resolved without reading the environment."""


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
    check_extras(ctx, providers, server)
    by_model = model_chains(ctx, claimed_names(defs.chains), defs.models, providers)
    routes = build_routes(ctx, defs.chains, server_def, by_model)
    auth_keys = server_def.auth.keys if server_def.auth else []
    rules = resolve_rules(
        ctx, defs.rules, set(chains) | set(by_model), client_key_names(auth_keys), bool(auth_keys)
    )
    routes = msgspec.structs.replace(routes, rules=rules)
    chains.update(by_model)
    check_references(ctx, defs.references, set(defs.models), set(chains))
    chains = with_references(chains, defs.references)
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
        routing="",
        keys=key_values,
        client_keys=tuple(value for value, _ in client_keys),
        client_key_names=tuple(name for _, name in client_keys),
        admin_keys=tuple(admin_keys),
    )
    return Compiled(
        ctx.diags,
        sources,
        artifact,
        secrets,
        plans,
        capacities(chains, providers),
        estimate(chains, defs.references),
    )


@dataclass
class Prepared:
    """The environment-independent phases' result: read, validated and merged, once per run."""

    sources: list[Source]
    diags: list[Diagnostic]
    ds: DefinitionSet | None = None
    broken: set[tuple[str, str]] = field(default_factory=set)


def prepare(root: Path) -> Prepared:
    return prepare_sources(*load_dir(root))


def prepare_sources(sources: list[Source], diags: list[Diagnostic]) -> Prepared:
    if not sources or has_errors(d for d in diags if d.code in codes.IO_CODES):
        return Prepared(sources, diags)
    broken_by_file: dict[str, Broken] = {}
    for source in sources:
        if source.data is not None:
            found, broken_by_file[source.rel] = validate(source)
            diags.extend(found)
    if any(s.data is None for s in sources):
        return Prepared(sources, diags)
    broken = set().union(*broken_by_file.values())
    ds, found = merge(sources, broken_by_file)
    found += require_sections(ds, broken)
    return Prepared(sources, diags + found, ds, broken)


def resolve_env(prepared: Prepared, env: Env) -> Compiled:
    """The prepared set with `env` applied: its values expanded, its keys resolved, checked."""
    if prepared.ds is None:
        return Compiled(list(prepared.diags), prepared.sources)
    expansion = expand_all(prepared.ds, env)
    diags = prepared.diags + expansion.diags
    defs, found = typed.build(prepared.ds, expansion.data)
    diags += found
    if defs is None:
        return Compiled(diags, prepared.sources)
    ctx = Context(prepared.ds, env, prepared.broken, unresolved=expansion.unresolved)
    result = resolve(ctx, defs, prepared.sources)
    result.diagnostics = diags + result.diagnostics
    result.env_secrets = expansion.secrets
    result.unresolved = expansion.unresolved
    return result


def analyse(root: Path, env: Env) -> Compiled:
    return resolve_env(prepare(root), env)


def finish(result: Compiled, mode: Mode, strict: bool) -> Compiled:
    diags = (
        promote(result.diagnostics, frozenset({codes.MISSING_ENV.code}))
        if mode == "build"
        else result.diagnostics
    )
    result.diagnostics = ordered(promote(diags) if strict else diags)
    if has_errors(result.diagnostics):
        result.artifact, result.secrets = None, None
    return result


def compile_dir(root: Path, env: Env, mode: Mode = "check", strict: bool = False) -> Compiled:
    return compile_prepared(prepare(root), env, mode, strict)


def compile_prepared(prepared: Prepared, env: Env, mode: Mode = "check", strict: bool = False) -> Compiled:
    """`compile_dir` of files already read: the editor's drafts are checked in memory."""
    result = finish(resolve_env(prepared, env), mode, strict)
    if mode == "build" and result.artifact is not None:
        result.blind = resolve_env(prepared, None)
        result.blind.diagnostics = ordered(result.blind.diagnostics)
    return result
