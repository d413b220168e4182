"""Checks across the whole definition set: one test per code, plus what must not be reported."""

from __future__ import annotations

import pytest

from compiler.diagnostics import Diagnostic
from tests.compiler.conftest import SIMULATED, CompileSet

P = "version: 1\nproviders:\n  local:\n    api: simulated\n"


def only(diags: list[Diagnostic], code: str) -> list[Diagnostic]:
    return [d for d in diags if d.code == code]


def test_minimal_set_is_clean_but_for_the_raw_id(compile_set: CompileSet) -> None:
    result = compile_set({"d.yaml": SIMULATED})
    assert [d.code for d in result.diagnostics] == ["R214"]
    assert result.artifact is not None


def test_same_name_in_two_files_names_both_places(compile_set: CompileSet) -> None:
    result = compile_set(
        {"a.yaml": SIMULATED, "sub/b.yaml": "version: 1\nchains:\n  main:\n    steps: [local/x]\n"}
    )
    (dup,) = only(result.diagnostics, "R200")
    assert dup.file.endswith("sub/b.yaml") and dup.line == 3
    assert "a.yaml:6" in dup.message and "chain 'main'" in dup.message


def test_unknown_provider_suggests_the_closest(compile_set: CompileSet) -> None:
    result = compile_set({"d.yaml": P + "chains:\n  c:\n    steps: [lokal/m]\n"})
    (d,) = only(result.diagnostics, "R201")
    assert (d.line, d.pointer, d.hint) == (7, "/chains/c/steps/0", "did you mean 'local'?")


def test_alias_without_mapping_for_the_provider(compile_set: CompileSet) -> None:
    models = "models:\n  big: {providers: {other: big-1}}\n"
    result = compile_set({"d.yaml": P + models + "chains:\n  c:\n    steps: [local/big]\n"})
    (d,) = only(result.diagnostics, "R202")
    assert d.line == 9 and "mapped now: other" in d.hint


@pytest.mark.parametrize(
    ("mode", "strict", "severity"),
    [("check", False, "warning"), ("build", False, "error"), ("check", True, "error")],
)
def test_missing_env_severity_depends_on_command(
    compile_set: CompileSet, mode: str, strict: bool, severity: str
) -> None:
    text = (
        P.replace("simulated\n", 'simulated\n    keys: ["${RELAY_T_KEY}"]\n')
        + "chains:\n  c:\n    steps: [local/m]\n"
    )
    result = compile_set({"d.yaml": text}, mode=mode, strict=strict)
    (d,) = only(result.diagnostics, "R203")
    assert (d.severity, d.line, d.message) == (severity, 5, "environment variable RELAY_T_KEY is not set")
    assert (result.artifact is None) == (severity == "error")


def test_literal_secret_is_refused_without_echoing_it(compile_set: CompileSet) -> None:
    secret = "gsk_" + "q" * 40
    text = (
        P.replace("simulated\n", f"simulated\n    keys: [{{key: {secret}}}]\n")
        + "chains:\n  c:\n    steps: [local/m]\n"
    )
    result = compile_set({"d.yaml": text})
    (d,) = only(result.diagnostics, "R204")
    assert d.pointer == "/providers/local/keys/0/key"
    assert secret not in repr(result.diagnostics) and "qqqq" not in repr(result.diagnostics)


@pytest.mark.parametrize(
    ("a", "b", "tie"),
    [
        ("claude-*", "claude-?-opus", True),
        ("claude-*", "claude-3*", False),  # longer literal prefix wins: no tie
        ("gpt-[0-9]*", "gpt-[!0-9]*", False),
        ("x*y", "x*z", False),
        ("gpt-4o", "gpt-4o", True),
        ("gpt-4o", "gpt-*", False),  # a literal beats a glob
    ],
)
def test_ambiguous_match_between_chains(compile_set: CompileSet, a: str, b: str, tie: bool) -> None:
    chains = f'chains:\n  one:\n    match: ["{a}"]\n    steps: [local/x]\n  two:\n    match: ["{b}"]\n    steps: [local/y]\n'
    result = compile_set({"d.yaml": P + chains})
    assert bool(only(result.diagnostics, "R205")) == tie


def test_empty_chain(compile_set: CompileSet) -> None:
    result = compile_set({"d.yaml": P + "chains:\n  c: {}\n"})
    assert [(d.code, d.line) for d in result.diagnostics if d.severity == "error"] == [("R206", 6)]


def test_duplicate_step_after_alias_resolution(compile_set: CompileSet) -> None:
    models = "models:\n  m: {providers: {local: demo}}\n"
    result = compile_set({"d.yaml": P + models + "chains:\n  c:\n    steps: [local/m, local/demo]\n"})
    (d,) = only(result.diagnostics, "R207")
    assert d.pointer == "/chains/c/steps/1"


def test_unused_provider_and_model_are_warnings(compile_set: CompileSet) -> None:
    extra = "  idle:\n    api: simulated\nmodels:\n  spare: {providers: {idle: x}}\n"
    result = compile_set({"d.yaml": P + extra + "chains:\n  c:\n    steps: [local/m]\n"})
    assert {(d.code, d.severity, d.line) for d in result.diagnostics if d.code in ("R208", "R209")} == {
        ("R208", "warning", 5),
        ("R209", "warning", 8),
    }
    assert result.artifact is not None


@pytest.mark.parametrize(
    ("server", "error"),
    [
        ("  listen: 0.0.0.0:8787\n", True),
        ("  listen: 192.168.1.5:80\n", True),
        ("  listen: 0.0.0.0:8787\n  auth: {keys: ['${RELAY_T_CLIENT:-}']}\n", True),
        ("  listen: 0.0.0.0:8787\n  auth: {keys: ['${RELAY_T_CLIENT}']}\n", False),
        ("  listen: localhost:8787\n", False),
        ("  listen: '[::1]:8787'\n", False),
    ],
)
def test_non_loopback_listen_needs_client_keys(compile_set: CompileSet, server: str, error: bool) -> None:
    result = compile_set({"d.yaml": SIMULATED + "server:\n" + server})
    assert bool(only(result.diagnostics, "R210")) == error


@pytest.mark.parametrize(
    ("url", "warned"),
    [("http://llm.example.com/v1", True), ("http://127.0.0.1:11434", False), ("https://x.example", False)],
)
def test_plain_http_to_non_loopback(compile_set: CompileSet, url: str, warned: bool) -> None:
    text = f"version: 1\nproviders:\n  o:\n    api: ollama\n    base_url: {url}\nchains:\n  c:\n    steps: [o/m]\n"
    assert bool(only(compile_set({"d.yaml": text}).diagnostics, "R211")) == warned


@pytest.mark.parametrize(("caps", "warned"), [("[stream]", True), ("[tools, stream]", False)])
def test_claude_chain_model_without_tools(compile_set: CompileSet, caps: str, warned: bool) -> None:
    models = f"models:\n  m: {{capabilities: {caps}, providers: {{local: x}}}}\n"
    chains = "chains:\n  cc:\n    match: ['claude-*']\n    steps: [local/m]\n"
    assert bool(only(compile_set({"d.yaml": P + models + chains}).diagnostics, "R212")) == warned


def test_optional_keys_unset_disable_the_provider(compile_set: CompileSet) -> None:
    text = "version: 1\nproviders:\n  g:\n    api: openai\n    base_url: https://api.groq.com/openai/v1\n"
    text += "    keys: ['${RELAY_T_G:-}']\nchains:\n  c:\n    steps: [g/m]\n"
    result = compile_set({"d.yaml": text})
    assert [d.code for d in result.diagnostics if d.severity != "info"] == ["R218"]
    assert [d.severity for d in result.diagnostics if d.code == "R213"] == ["info"]
    assert result.artifact is not None and not result.artifact.providers["g"].enabled
    enabled = compile_set({"d.yaml": text}, env={"RELAY_T_G": "k"})
    assert enabled.artifact is not None and enabled.artifact.providers["g"].enabled


def test_a_provider_with_only_empty_literal_keys_is_warned_about(compile_set: CompileSet) -> None:
    """Optional references say the provider may be off (R213 is info); an empty literal key
    is a mistake, so it stays a warning."""
    text = "version: 1\nproviders:\n  g:\n    api: openai\n    base_url: https://api.groq.com/openai/v1\n"
    text += "    keys: ['', '${RELAY_T_G:-}']\nchains:\n  c:\n    steps: [g/m]\n"
    (disabled,) = [d for d in compile_set({"d.yaml": text}).diagnostics if d.code == "R213"]
    assert disabled.severity == "warning"


def test_field_for_another_api_is_flagged(compile_set: CompileSet) -> None:
    text = (
        P.replace("simulated\n", "simulated\n    region: eu-west-1\n")
        + "chains:\n  c:\n    steps: [local/m]\n"
    )
    assert [d.pointer for d in only(compile_set({"d.yaml": text}).diagnostics, "R220")] == [
        "/providers/local/region"
    ]


def test_default_chain_must_exist(compile_set: CompileSet) -> None:
    result = compile_set({"d.yaml": SIMULATED + "server: {default_chain: mian}\n"})
    (d,) = only(result.diagnostics, "R216")
    assert d.hint == "did you mean 'main'?"


def test_malformed_env_reference(compile_set: CompileSet) -> None:
    result = compile_set({"d.yaml": SIMULATED + "server: {state: 'redis://${1HOST}/0'}\n"})
    assert [(d.code, d.pointer) for d in result.diagnostics if d.severity == "error"] == [
        ("R217", "/server/state")
    ]


def test_every_step_disabled_is_a_warning(compile_set: CompileSet) -> None:
    text = "version: 1\nproviders:\n  a:\n    api: anthropic\n    base_url: https://api.anthropic.com\n"
    text += "    keys: ['${RELAY_T_A:-}']\nchains:\n  c:\n    steps: [a/m]\n"
    assert only(compile_set({"d.yaml": text}).diagnostics, "R218")


def test_no_providers_or_chains(compile_set: CompileSet) -> None:
    result = compile_set({"d.yaml": "version: 1\n"})
    assert sorted(d.message for d in only(result.diagnostics, "R222")) == [
        "no chains are defined in any file",
        "no providers are defined in any file",
    ]
