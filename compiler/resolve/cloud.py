"""Cloud providers at build time: their settings checked, resolved into the artifact's `Cloud`.

Per api: bedrock needs `region` (its host is derived from it unless `base_url` names a VPC
endpoint); vertex needs `project` and `region` (host derived likewise); azure needs a
`base_url`, which also says which service it is (a path ending in `/anthropic` is Claude on
Azure AI Foundry, anything else Azure OpenAI). Credentials come from the provider's `keys:`
when it has any, else from the cloud's own chain at run time (botocore, google-auth, Entra
ID); `credential_note` says which, for the lint report, never with a value. Cloud settings
end up in committed files, so they are written literally, never from the environment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from compiler import codes
from compiler.context import Context
from compiler.language.model import ModelDef, ModelTargetDef
from compiler.language.provider import ProviderDef
from compiler.resolve.envrefs import expand
from runtime.artifact import Chain, Cloud, CredentialSource, Provider

_AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_GCP_REGION = re.compile(r"[a-z]+-[a-z]+\d{1,2}|global|us|eu")
_GCP_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")
_DEPLOYMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_FIELDS = ("region", "project", "deployment", "api_version", "credentials_file")
_VERTEX_HOSTS = {"global": "aiplatform.googleapis.com", "us": "aiplatform.us.rep.googleapis.com"}
_VERTEX_HOSTS["eu"] = "aiplatform.eu.rep.googleapis.com"
SERVICE_ACCOUNT_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
ENTRA_ENV = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")

CLOUD_APIS = frozenset({"bedrock", "vertex", "azure"})


def azure_wire(base_url: str) -> str:
    path = urlsplit(base_url).path.rstrip("/")
    path = path.removesuffix("/v1")
    return "anthropic" if path.endswith("/anthropic") else "openai"


def default_base_url(api: str, region: str | None) -> str | None:
    if region is None:
        return None
    if api == "bedrock":
        return f"https://bedrock-runtime.{region}.amazonaws.com"
    if api == "vertex":
        return "https://" + _VERTEX_HOSTS.get(region, f"{region}-aiplatform.googleapis.com")
    return None


def _from_env(ctx: Context, name: str) -> list[str]:
    """Cloud fields of provider `name` whose written value refers to the environment."""
    raw = ctx.ds.data.get("providers", {}).get(name, {})
    found = []
    for fname in _FIELDS:
        value = raw.get(fname) if isinstance(raw, dict) else None
        texts = [*value.keys(), *value.values()] if isinstance(value, dict) else [value]
        if any(isinstance(t, str) and expand(t, {}).refs for t in texts):
            found.append(fname)
    return found


def _check_form(
    ctx: Context, name: str, fname: str, value: str, pattern: re.Pattern[str], example: str
) -> None:
    if not pattern.fullmatch(value):
        ctx.report(
            codes.CLOUD_BAD_SETTING,
            ["providers", name, fname],
            f"{fname} {value!r} is not a valid value",
            f"write e.g. {example}",
        )


def _require(ctx: Context, name: str, p: ProviderDef, fname: str, example: str) -> None:
    if getattr(p, fname) is None:
        ctx.report(
            codes.CLOUD_MISSING,
            ["providers", name],
            f"provider {name!r} (api {p.api}) has no {fname}",
            f"add {fname}: {example}",
            at_key=True,
        )


def _check_fields(ctx: Context, name: str, p: ProviderDef, wire: str) -> None:
    if p.api == "bedrock":
        _require(ctx, name, p, "region", "us-east-1")
        if p.region is not None:
            _check_form(ctx, name, "region", p.region, _AWS_REGION, "us-east-1 or eu-central-1")
    elif p.api == "vertex":
        _require(ctx, name, p, "project", "my-project-123")
        _require(ctx, name, p, "region", "us-east5 (or global)")
        if p.region is not None:
            _check_form(ctx, name, "region", p.region, _GCP_REGION, "us-east5, europe-west1 or global")
        if p.project is not None:
            _check_form(ctx, name, "project", p.project, _GCP_PROJECT, "my-project-123 (the project id)")
    else:
        if p.api_version is not None:
            _check_form(ctx, name, "api_version", p.api_version, _API_VERSION, "2024-10-21")
        if p.api_version is not None and wire == "anthropic":
            ctx.report(
                codes.FIELD_NOT_APPLICABLE,
                ["providers", name, "api_version"],
                "api_version has no effect for Claude on Azure AI Foundry (base_url ends in /anthropic)",
                "remove it; only Azure OpenAI deployments take an api-version",
            )
        for model, deployment in (p.deployment or {}).items():
            _check_form(ctx, name, "deployment", deployment, _DEPLOYMENT, f"{model}: my-deployment")
    for fname in _from_env(ctx, name):
        ctx.report(
            codes.CLOUD_FROM_ENV,
            ["providers", name, fname],
            f"{fname} is taken from the environment, but cloud settings are written to committed files",
            "write it literally (it is not a secret); credentials come from keys: or the cloud's own chain",
        )


def _check_credentials(ctx: Context, name: str, p: ProviderDef, source: CredentialSource) -> None:
    if p.keys and p.credentials_file is not None:
        ctx.report(
            codes.FIELD_NOT_APPLICABLE,
            ["providers", name, "credentials_file"],
            "credentials_file has no effect: the provider's keys are its credentials",
            "remove keys: to authenticate with the service-account file, or remove credentials_file",
        )
    elif source == "google-service-account" and p.credentials_file is not None:
        problem = _service_account_problem(p.credentials_file)
        if problem:
            ctx.report(
                codes.CLOUD_CREDENTIALS,
                ["providers", name, "credentials_file"],
                f"credentials_file {problem}",
                "relay run reads it in each worker: point it at a service-account JSON key file",
            )
    elif source == "entra-id" and (missing := [v for v in ENTRA_ENV if not (ctx.env or {}).get(v)]):
        ctx.report(
            codes.CLOUD_CREDENTIALS,
            ["providers", name],
            f"provider {name!r} has no keys, so it uses Entra ID, but {', '.join(missing)} is not set here",
            "set them where relay runs, or give the provider keys: (api-key)",
            at_key=True,
        )


def _service_account_problem(path: str) -> str | None:
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        return f"{path!r} cannot be read here ({exc.strerror})"
    except ValueError:
        return f"{path!r} is not JSON"
    if not isinstance(data, dict) or data.get("type") != "service_account":
        return f"{path!r} is not a service-account key file (type is not service_account)"
    return None


def credential_source(p: ProviderDef) -> CredentialSource:
    if p.keys:
        return "keys"
    if p.api == "bedrock":
        return "aws-chain"
    if p.api == "vertex":
        return "google-service-account" if p.credentials_file else "google-adc"
    return "entra-id"


def resolve_cloud(ctx: Context, name: str, p: ProviderDef) -> Cloud | None:
    if p.api not in CLOUD_APIS:
        return None
    wire = azure_wire(p.base_url or "") if p.api == "azure" else "anthropic"
    _check_fields(ctx, name, p, wire)
    source = credential_source(p)
    _check_credentials(ctx, name, p, source)
    cloud = Cloud(
        wire="openai" if wire == "openai" else "anthropic",
        region=p.region,
        project=p.project,
        deployments=dict(sorted((p.deployment or {}).items())),
        api_version=p.api_version if wire == "openai" else None,
        credentials=source,
        credentials_file=p.credentials_file,
    )
    ctx.report(
        codes.CLOUD_CREDENTIAL_SOURCE,
        ["providers", name],
        f"provider {name!r}: {credential_note(p.api, cloud)}",
        at_key=True,
    )
    return cloud


def credential_note(api: str, cloud: Cloud) -> str:
    """Where the credential comes from at run time, in words (never a value)."""
    if cloud.credentials == "keys":
        style = {"bedrock": "Bedrock API keys as bearer tokens", "vertex": "bearer tokens"}.get(api, "keys")
        return f"credentials: its keys: ({style}), from secrets.json"
    if cloud.credentials == "aws-chain":
        return (
            "credentials: botocore's standard chain in the worker (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE and the shared files, container or instance role), refreshed in the background"
        )
    if cloud.credentials == "google-service-account":
        return f"credentials: the service-account file {cloud.credentials_file} (google-auth), tokens refreshed before expiry"
    if cloud.credentials == "google-adc":
        return (
            f"credentials: Google application default credentials ({SERVICE_ACCOUNT_ENV}, gcloud, "
            "or the metadata server), tokens refreshed before expiry"
        )
    return f"credentials: Entra ID client credentials from {', '.join(ENTRA_ENV)}, tokens refreshed before expiry"


def check_deployments(
    ctx: Context,
    chains: Mapping[str, Chain],
    models: Mapping[str, ModelDef],
    providers: Mapping[str, Provider],
) -> None:
    """With a `deployment:` map, every model an Azure provider serves must be in it: a model
    left out would reach Azure under a deployment name nobody created."""

    def missing(provider: str, model: str) -> bool:
        cloud = providers[provider].cloud if provider in providers else None
        return cloud is not None and bool(cloud.deployments) and model not in cloud.deployments

    def report(parts: list[str | int], provider: str, model: str) -> None:
        ctx.report(
            codes.NO_DEPLOYMENT,
            parts,
            f"model {model!r} has no deployment in providers.{provider}.deployment",
            f"add `{model}: <deployment name>` to providers.{provider}.deployment",
        )

    for cname, chain in chains.items():
        for index, step in enumerate(chain.steps):
            if step.alias is None and missing(step.provider, step.model):
                report(["chains", cname, "steps", index], step.provider, step.model)
    for mname, model in models.items():
        for pname, target in model.providers.items():
            model_id = target.id if isinstance(target, ModelTargetDef) else target
            if missing(pname, model_id):
                report(["models", mname, "providers", pname], pname, model_id)
