"""Resolve the `providers:` section into artifact `Provider`s plus what only the emitter needs.

Per provider: keys from the environment (optional unset keys dropped; a provider left with
none is disabled, not an error), limits merged per key, timeouts over the server's, and the
build-time decisions of `endpoints`. Wire formats this runtime cannot serve yet are kept
(so the definitions stay valid) but reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from compiler import codes
from compiler.context import Context
from compiler.diagnostics import Part
from compiler.language.provider import LimitsDef, ProviderDef, TimeoutsDef
from compiler.resolve.cloud import default_base_url, resolve_cloud
from compiler.resolve.endpoints import DEFAULT_AUTH, SERVED, is_loopback, module_name, rate_limit_family
from compiler.resolve.keys import ResolvedKey, check_url_secret, fingerprint, resolve_keys
from runtime.artifact import Breaker, Health, Key, Limits, Provider, Simulate, Timeouts

_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "cookie", "proxy-authorization"})
_CLOUD_FIELDS = {
    "region": ("bedrock", "vertex"),
    "project": ("vertex",),
    "deployment": ("azure",),
    "api_version": ("azure",),
    "credentials_file": ("vertex",),
    "simulate": ("simulated",),
}


@dataclass
class ProviderPlan:
    """An artifact provider with the emit-only facts: auth style, secret values, sources."""

    provider: Provider
    auth: str
    source: str
    """The definition file (relative path) that defines this provider."""
    secrets: dict[str, str] = field(default_factory=dict)


def limits(base: LimitsDef | None, override: LimitsDef | None = None) -> Limits:
    merged = (base.model_dump(exclude_none=True) if base else {}) | (
        override.model_dump(exclude_none=True) if override else {}
    )
    return Limits(**merged)


def timeouts(base: Timeouts, override: TimeoutsDef | None) -> Timeouts:
    values = {k: getattr(base, k) for k in Timeouts.__struct_fields__}
    values |= override.model_dump(exclude_none=True) if override else {}
    return Timeouts(**values)


def check_url(ctx: Context, name: str, url: str) -> None:
    parts = urlsplit(url)
    where = ["providers", name, "base_url"]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        ctx.report(
            codes.BAD_URL, where, f"{url!r} is not an http(s) URL", "write e.g. https://api.example.com/v1"
        )
    elif parts.scheme == "http" and not is_loopback(parts.hostname):
        ctx.report(
            codes.PLAIN_HTTP,
            where,
            f"plain http to {parts.hostname}: keys and prompts travel unencrypted",
            "use https, or keep plain http for loopback only",
        )


def check_fields(ctx: Context, name: str, p: ProviderDef) -> None:
    if p.api not in SERVED:
        ctx.report(
            codes.NOT_SERVED,
            ["providers", name, "api"],
            f"api {p.api!r} is accepted but not served yet",
            "its steps are skipped at run time; use anthropic, openai, ollama or simulated meanwhile",
        )
    for fname, apis in _CLOUD_FIELDS.items():
        if getattr(p, fname) is not None and p.api not in apis:
            ctx.report(
                codes.FIELD_NOT_APPLICABLE,
                ["providers", name, fname],
                f"{fname} has no effect for api {p.api}",
                f"only used by api {' / '.join(apis)}; remove it",
            )
    for header in p.headers:
        if header.lower() in _CREDENTIAL_HEADERS:
            ctx.report(
                codes.LITERAL_SECRET,
                ["providers", name, "headers", header],
                f"credential header {header!r}",
                "headers are written to generated files; put credentials in keys: and pick auth:",
            )


def disabled_reason(ctx: Context, name: str, p: ProviderDef, keys: list[ResolvedKey]) -> str | None:
    if not p.keys or any(k.value for k in keys) or any(k.missing for k in keys):
        return None
    unset = sorted({ref for k in keys for ref in k.refs})
    reason = f"no key set ({', '.join(unset) or 'every key is empty'})"
    # Every key written as `${NAME:-}` says the provider is optional: off until a key is set
    # is what its author asked for, so --strict in a CI without secrets does not fail on it.
    declared = all(k.refs for k in keys)
    ctx.report(
        replace(codes.PROVIDER_DISABLED, severity="info") if declared else codes.PROVIDER_DISABLED,
        ["providers", name],
        f"provider {name!r} is disabled: {reason}",
        f"export {unset[0]} to enable it" if unset else "set at least one key",
        at_key=True,
    )
    return reason


def written_url(ctx: Context, name: str) -> str:
    """The base_url as written, before expansion: build-time choices made from it (the
    rate-limit dialect) must not depend on the environment, or the committed module would."""
    return str(ctx.ds.data["providers"][name].get("base_url") or "")


def resolve_provider(ctx: Context, name: str, p: ProviderDef, server_timeouts: Timeouts) -> ProviderPlan:
    cloud = resolve_cloud(ctx, name, p)
    base_url = p.base_url or default_base_url(p.api, p.region) or ""
    if not base_url and p.api not in ("simulated", "bedrock", "vertex"):
        ctx.report(
            codes.MISSING_BASE_URL,
            ["providers", name],
            f"provider {name!r} (api {p.api}) has no base_url",
            "add base_url: https://…",
            at_key=True,
        )
    elif p.base_url is not None and ("providers", name, "base_url") not in ctx.unresolved:
        check_url(ctx, name, base_url)
    check_fields(ctx, name, p)
    check_url_secret(ctx, ["providers", name, "base_url"], written_url(ctx, name))
    keys, diags = resolve_keys(ctx.ds, ["providers", name, "keys"], p.keys, ctx.env)
    ctx.diags.extend(diags)
    reason = disabled_reason(ctx, name, p, keys)
    live = [k for k in keys if k.value]
    provider = Provider(
        name=name,
        api=p.api,
        base_url=base_url,
        module=module_name(name),
        rate_limit_family=rate_limit_family(p.rate_limit_headers, p.api, written_url(ctx, name)),
        keys=tuple(
            Key(
                id=f"{name}#{k.name}",
                name=k.name,
                fingerprint=fingerprint(k.value),
                limits=limits(p.limits, k.limits),
                account=k.account or fingerprint(k.value),
            )
            for k in live
        ),
        limits=limits(p.limits),
        headers=tuple((h.lower(), v) for h, v in p.headers.items()),
        timeouts=timeouts(server_timeouts, p.timeouts),
        breaker=Breaker(**p.breaker.model_dump()) if p.breaker else Breaker(),
        health=Health(**p.health.model_dump()) if p.health else Health(),
        simulate=Simulate(**(p.simulate.model_dump() if p.simulate else {}))
        if p.api == "simulated"
        else None,
        enabled=reason is None,
        disabled_reason=reason,
        cloud=cloud,
    )
    secrets = {f"{name}#{k.name}": k.value for k in live}
    source = ctx.ds.origin[("providers", name)].rel
    foundry = cloud is not None and p.api == "azure" and cloud.wire == "anthropic"
    auth = p.auth or ("x-api-key" if foundry else DEFAULT_AUTH[p.api])
    return ProviderPlan(provider, auth, source, secrets)


def resolve_providers(
    ctx: Context, defs: dict[str, ProviderDef], server_timeouts: Timeouts
) -> dict[str, ProviderPlan]:
    plans = {name: resolve_provider(ctx, name, p, server_timeouts) for name, p in sorted(defs.items())}
    owners: dict[str, str] = {}
    for name, plan in plans.items():
        other = owners.setdefault(plan.provider.module, name)
        if other != name:
            ctx.report(
                codes.MODULE_CLASH,
                ["providers", name],
                f"providers {other!r} and {name!r} both generate providers/{plan.provider.module}.py",
                "rename one of them",
                at_key=True,
            )
    check_accounts(ctx, defs)
    return plans


_WHOLE_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-)?\}")


def check_accounts(ctx: Context, defs: dict[str, ProviderDef]) -> None:
    """One key (the same `${NAME}`) is one upstream account wherever it is used (R247):
    written with two accounts, thinking signed through one use would be dropped for the other.
    Only whole references are compared, so no diagnostic can quote a value."""
    first: dict[str, tuple[str | None, list[Part]]] = {}
    for name, p in sorted(defs.items()):
        for index, entry in enumerate(p.keys):
            text, account = (entry, None) if isinstance(entry, str) else (entry.key, entry.account)
            ref = _WHOLE_REF.fullmatch(text.strip())
            if ref is None:
                continue
            where: list[Part] = ["providers", name, "keys", index]
            seen = first.setdefault(ref[1], (account, where))
            if seen[0] != account:
                ctx.report(
                    codes.ACCOUNT_CLASH,
                    where,
                    f"key ${{{ref[1]}}} is in {_account(account)} here but in {_account(seen[0])} at "
                    + "/".join(map(str, seen[1])),
                    "a key belongs to one account: write the same `account:` on every use of it",
                )


def _account(account: str | None) -> str:
    return "its own account" if account is None else f"account {account!r}"
