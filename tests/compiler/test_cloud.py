"""Cloud providers in the compiler: located checks, the artifact's `Cloud`, URL templates, credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.pipeline import Compiled
from compiler.resolve.endpoints import urls
from runtime.artifact import Cloud
from tests.compiler.conftest import CompileSet


def defs(provider: str, steps: str = "[c/m]", extra: str = "") -> dict[str, str]:
    return {
        "d.yaml": f"version: 1\nproviders:\n  c:\n{provider}{extra}chains:\n  main:\n    steps: {steps}\n"
    }


def found(result: Compiled, *wanted: str) -> list[tuple[str, str, int]]:
    return [(d.code, d.pointer, d.line) for d in result.diagnostics if d.code in wanted]


BEDROCK = "    api: bedrock\n    region: eu-central-1\n"
VERTEX = "    api: vertex\n    project: my-project-1\n    region: us-east5\n"
AOAI = "    api: azure\n    base_url: https://r.openai.azure.com\n    api_version: 2024-10-21\n    keys: ['${AZ}']\n"
FOUNDRY = "    api: azure\n    base_url: https://r.services.ai.azure.com/anthropic/\n    keys: ['${AZ}']\n"


def test_each_cloud_builds_with_what_it_needs(compile_set: CompileSet) -> None:
    for provider in (BEDROCK, VERTEX, AOAI, FOUNDRY):
        result = compile_set(defs(provider), env={"AZ": "k"}, mode="build")
        assert result.artifact is not None, [str(d) for d in result.diagnostics]
        assert not [d for d in result.diagnostics if d.severity != "info"]
    bedrock = compile_set(defs(BEDROCK)).artifact
    assert bedrock is not None
    c = bedrock.providers["c"]
    assert c.base_url == "https://bedrock-runtime.eu-central-1.amazonaws.com"
    assert c.cloud == Cloud(region="eu-central-1", credentials="aws-chain")


@pytest.mark.parametrize(
    ("provider", "code", "pointer"),
    [
        ("    api: bedrock\n", "R240", "/providers/c"),
        ("    api: vertex\n    region: us-east5\n", "R240", "/providers/c"),
        ("    api: vertex\n    project: p1\n    region: us-east5\n", "R241", "/providers/c/project"),
        ("    api: bedrock\n    region: US East\n", "R241", "/providers/c/region"),
        ("    api: vertex\n    project: my-project-1\n    region: useast\n", "R241", "/providers/c/region"),
        (AOAI.replace("2024-10-21", "latest"), "R241", "/providers/c/api_version"),
        (FOUNDRY + "    api_version: 2024-10-21\n", "R220", "/providers/c/api_version"),
        (BEDROCK + "    credentials_file: /x.json\n", "R220", "/providers/c/credentials_file"),
        ("    api: bedrock\n    region: '${AWS_REGION:-us-east-1}'\n", "R242", "/providers/c/region"),
        (AOAI + "    deployment: {m: '${DEP}'}\n", "R242", "/providers/c/deployment"),
        ("    api: azure\n", "R219", "/providers/c"),
    ],
)
def test_located_cloud_diagnostics(compile_set: CompileSet, provider: str, code: str, pointer: str) -> None:
    result = compile_set(defs(provider), env={"AZ": "k", "DEP": "d"})
    assert [p for c, p, _ in found(result, code)] == [pointer], [str(d) for d in result.diagnostics]


def test_deployment_map_must_list_every_model_it_serves(compile_set: CompileSet) -> None:
    models = "models:\n  big:\n    providers: {c: gpt-5}\n"
    files = defs(AOAI + "    deployment: {gpt-4o: d4o}\n", steps="[c/gpt-4o, c/gpt-4.1, c/big]", extra=models)
    result = compile_set(files, env={"AZ": "k"})
    assert [(p, line) for _, p, line in found(result, "R243")] == [
        ("/models/big/providers/c", 11),
        ("/chains/main/steps/1", 14),
    ]


def test_credentials_are_described_never_valued(compile_set: CompileSet, tmp_path: Path) -> None:
    account = tmp_path / "sa.json"
    account.write_text(json.dumps({"type": "service_account", "private_key": "PRIVATE-KEY-BYTES"}))
    not_account = tmp_path / "user.json"
    not_account.write_text(json.dumps({"type": "authorized_user"}))
    cases = {
        BEDROCK: "botocore's standard chain",
        BEDROCK + "    keys: ['${BK}']\n": "Bedrock API keys",
        VERTEX: "application default credentials",
        VERTEX + f"    credentials_file: {account}\n": f"service-account file {account}",
        AOAI.replace("    keys: ['${AZ}']\n", ""): "Entra ID client credentials",
    }
    for provider, words in cases.items():
        result = compile_set(defs(provider), env={"BK": "bedrock-secret-value", "AZ": "k"})
        (note,) = [d.message for d in result.diagnostics if d.code == "R245"]
        assert words in note and "PRIVATE-KEY-BYTES" not in note and "bedrock-secret-value" not in note
    missing = compile_set(defs(VERTEX + f"    credentials_file: {tmp_path / 'none.json'}\n"))
    wrong = compile_set(defs(VERTEX + f"    credentials_file: {not_account}\n"))
    entra = compile_set(defs(AOAI.replace("    keys: ['${AZ}']\n", "")))
    entra_set = compile_set(
        defs(AOAI.replace("    keys: ['${AZ}']\n", "")),
        env={"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"},
    )
    assert [p for _, p, _ in found(missing, "R244")] == ["/providers/c/credentials_file"]
    assert [p for _, p, _ in found(wrong, "R244")] == ["/providers/c/credentials_file"]
    assert [p for _, p, _ in found(entra, "R244")] == ["/providers/c"]
    assert found(entra_set, "R244") == []


@pytest.mark.parametrize(
    ("api", "base", "cloud", "expected"),
    [
        (
            "bedrock",
            "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com/",
            Cloud(region="us-east-1"),
            (
                "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/{model}/invoke",
                "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/{model}/count-tokens",
                None,
            ),
        ),
        (
            "vertex",
            "https://aiplatform.googleapis.com",
            Cloud(region="global", project="p-123456"),
            (
                "https://aiplatform.googleapis.com/v1/projects/p-123456/locations/global/publishers/anthropic/models/{model}:rawPredict",
                "https://aiplatform.googleapis.com/v1/projects/p-123456/locations/global/publishers/anthropic/models/count-tokens:rawPredict",
                None,
            ),
        ),
        (
            "azure",
            "https://r.services.ai.azure.com/anthropic/v1",
            Cloud(),
            (
                "https://r.services.ai.azure.com/anthropic/v1/messages",
                "https://r.services.ai.azure.com/anthropic/v1/messages/count_tokens",
                None,
            ),
        ),
        (
            "azure",
            "https://r.openai.azure.com/openai",
            Cloud(wire="openai", api_version="2025-01-01-preview"),
            (
                None,
                None,
                "https://r.openai.azure.com/openai/deployments/{deployment}/chat/completions?api-version=2025-01-01-preview",
            ),
        ),
        (
            "azure",
            "https://r.openai.azure.com/openai/v1/",
            Cloud(wire="openai"),
            (None, None, "https://r.openai.azure.com/openai/v1/chat/completions"),
        ),
    ],
)
def test_url_templates(api: str, base: str, cloud: Cloud, expected: tuple[str | None, ...]) -> None:
    got = urls(api, base, cloud)  # type: ignore[arg-type]
    assert (got.messages, got.count_tokens, got.chat) == expected


def test_foundry_defaults_to_x_api_key_and_azure_openai_to_api_key(compile_set: CompileSet) -> None:
    foundry = compile_set(defs(FOUNDRY), env={"AZ": "k"})
    aoai = compile_set(defs(AOAI), env={"AZ": "k"})
    assert foundry.plans["c"].auth == "x-api-key" and aoai.plans["c"].auth == "api-key"
    assert foundry.artifact is not None and foundry.artifact.providers["c"].cloud == Cloud(credentials="keys")
