"""docs/configuration.md against the compiler: which apis are served, where `base_url` is
required, how a Vertex root is joined and which `auth` each api defaults to. Each claim is
read from the page's tables and checked by compiling a provider, so the page cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler.resolve.endpoints import SERVED, urls
from tests.compiler.conftest import CompileSet

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
ENV = {"K": "key-value-0123456789"}
NEEDS: dict[str, str] = {
    "anthropic": "",
    "openai": "",
    "openai-responses": "",
    "ollama": "",
    "simulated": "",
    "bedrock": "    region: us-east-1\n",
    "vertex": "    project: my-project-123\n    region: us-east5\n",
    "azure": "",
}
"""What each api needs besides `base_url` to compile."""
BASE_URLS = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.groq.com/openai/v1",
    "openai-responses": "https://api.openai.com/v1",
    "ollama": "http://127.0.0.1:11434",
    "azure": "https://r.openai.azure.com",
}


def section(heading: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index(f"\n### {heading}\n")
    end = text.find("\n#", start + 1)
    return text[start:end]


def table(heading: str) -> dict[str, list[str]]:
    """The section's table rows by their first cell, cells stripped."""
    rows = [line for line in section(heading).splitlines() if line.startswith("| `")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    return {c[0]: c[1:] for c in cells}


def provider(api: str, base_url: str | None, keys: bool = True) -> dict[str, str]:
    text = f"version: 1\nproviders:\n  c:\n    api: {api}\n{NEEDS[api]}"
    text += f"    base_url: {base_url}\n" if base_url else ""
    text += "    keys: ['${K}']\n" if keys and api != "simulated" else ""
    return {"d.yaml": text + "chains:\n  main:\n    steps: [c/m]\n"}


def test_every_api_is_documented_as_served() -> None:
    rows = table("`api`")
    documented = {api for cell in rows for api in re.findall(r"`([a-z-]+)`", cell)}
    assert documented == SERVED
    assert all(cells[-1] == "yes" for cells in rows.values()), rows
    assert "not served" not in section("`api`")


@pytest.mark.parametrize("api", sorted(SERVED))
def test_base_url_is_required_where_the_page_says(compile_set: CompileSet, api: str) -> None:
    rows = {name.strip("`"): cells for name, cells in table("`base_url`").items()}
    optional = api == "simulated" or rows[api][0].startswith("optional")
    result = compile_set(provider(api, None), env=ENV)
    assert ("R219" not in {d.code for d in result.diagnostics}) == optional
    assert (api in rows) == (api != "simulated")


@pytest.mark.parametrize("suffix", ["", "/", "/v1"])
def test_a_vertex_base_url_is_a_root_as_the_page_says(compile_set: CompileSet, suffix: str) -> None:
    example = table("`base_url`")["`vertex`"][1].strip("`")
    joined = "/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict"
    assert joined in section("`base_url`")
    result = compile_set(provider("vertex", example + suffix), env=ENV)
    assert result.artifact is not None, [str(d) for d in result.diagnostics]
    c = result.artifact.providers["c"]
    assert c.cloud is not None
    url = urls(c.api, c.base_url, c.cloud).messages
    assert url == example + joined.format(project="my-project-123", region="us-east5", model="{model}")


@pytest.mark.parametrize(
    ("row", "api", "base_url"),
    [
        ("`anthropic`", "anthropic", None),
        ("`openai`", "openai", None),
        ("`openai-responses`", "openai-responses", None),
        ("`ollama`", "ollama", None),
        ("`bedrock`", "bedrock", None),
        ("`vertex`", "vertex", None),
        ("`azure`, Azure OpenAI", "azure", "https://r.openai.azure.com"),
        (
            "`azure`, Foundry (`base_url` ending in `/anthropic`)",
            "azure",
            "https://r.services.ai.azure.com/anthropic",
        ),
        ("`simulated`", "simulated", None),
    ],
)
def test_auth_defaults_are_the_documented_ones(
    compile_set: CompileSet, row: str, api: str, base_url: str | None
) -> None:
    documented = table("`auth`")[row][0].split()[0].strip("`")
    result = compile_set(provider(api, base_url or BASE_URLS.get(api)), env=ENV)
    assert result.plans["c"].auth == documented
