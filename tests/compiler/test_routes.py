"""The compiled Routes table and `relay explain` follow config-format.md's resolution order."""

from __future__ import annotations

import pytest

from runtime.explain import explain, route
from tests.compiler.conftest import CompileSet

DEFS = """version: 1
server: {default_chain: fallback, allow_direct: true}
providers:
  local: {api: simulated}
models:
  demo: {capabilities: [tools], providers: {local: relay-demo}}
chains:
  fallback: {steps: [local/demo]}
  claude: {match: ["claude-*"], steps: [local/demo]}
  opus: {match: ["claude-opus-*", "best"], steps: [local/demo]}
  exact: {match: ["claude-opus-4"], steps: [local/demo]}
"""


@pytest.mark.parametrize(
    ("model", "chain", "why"),
    [
        ("claude", "claude", "exact chain name"),
        ("claude-opus-4", "exact", "literal match pattern"),
        ("best", "opus", "literal match pattern"),
        ("claude-opus-4-1", "opus", "match pattern 'claude-opus-*'"),
        ("claude-sonnet-4-6", "claude", "match pattern 'claude-*'"),
        ("gpt-4o", "fallback", "default_chain"),
        ("local/raw-id", None, "allow_direct"),
    ],
)
def test_resolution_order(compile_set: CompileSet, model: str, chain: str | None, why: str) -> None:
    result = compile_set({"d.yaml": DEFS})
    assert result.artifact is not None
    found = route(result.artifact, model)
    assert found.chain == chain and why in found.why


def test_globs_are_ordered_by_literal_prefix_length(compile_set: CompileSet) -> None:
    result = compile_set({"d.yaml": DEFS})
    assert result.artifact is not None
    assert [g.pattern for g in result.artifact.routes.globs] == ["claude-opus-*", "claude-*"]
    assert result.artifact.routes.exact == {
        "fallback": "fallback",
        "claude": "claude",
        "opus": "opus",
        "exact": "exact",
        "best": "opus",
        "claude-opus-4": "exact",
        "demo": "demo",  # the logical model, served by its own chain
    }


def test_explain_lists_steps_and_unknown_models(compile_set: CompileSet) -> None:
    result = compile_set(
        {"d.yaml": DEFS.replace(", allow_direct: true", "").replace("default_chain: fallback", "")}
    )
    assert result.artifact is not None
    text, found = explain(result.artifact, "claude-3-haiku")
    assert found and "→ chain claude" in text and "1. local → relay-demo (alias demo)" in text
    text, found = explain(result.artifact, "mystery")
    assert not found and "chains: claude, demo, exact, fallback, opus" in text  # demo: a logical model


MODELS = """version: 1
providers:
  a: {api: simulated}
  b: {api: simulated}
models:
  glm: {providers: {b: glm-b, a: glm-a}}
  named: {providers: {a: x}}
  claimed: {providers: {a: y}}
chains:
  named: {steps: [a/named]}
  other: {match: ["claimed", "glm-*"], steps: [a/claimed]}
"""


def test_a_logical_model_gets_a_chain_of_its_providers_unless_a_chain_claims_its_name(
    compile_set: CompileSet,
) -> None:
    result = compile_set({"d.yaml": MODELS})
    assert result.artifact is not None
    chains = result.artifact.chains
    assert sorted(chains) == ["glm", "named", "other"]
    assert [(s.provider, s.model) for s in chains["glm"].steps] == [("b", "glm-b"), ("a", "glm-a")]
    assert chains["glm"].model == "glm" and chains["named"].model is None
    assert route(result.artifact, "glm").chain == "glm"  # a logical model beats a glob
    assert "logical model" in route(result.artifact, "glm").why
    assert route(result.artifact, "claimed").chain == "other"  # a literal pattern beats it
