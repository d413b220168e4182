"""Schema errors become one precise diagnostic each: code, place, pointer, hint."""

from __future__ import annotations

import pytest

from tests.compiler.conftest import CompileSet

HEAD = "version: 1\nproviders:\n  local:\n    api: simulated\n"
TAIL = "chains:\n  main:\n    steps: [local/demo]\n"


@pytest.mark.parametrize(
    ("extra", "code", "line", "pointer", "hint"),
    [
        ("    limits: {rpm: lots}\n", "R100", 5, "/providers/local/limits/rpm", ""),
        ("    bse_url: x\n", "R101", 5, "/providers/local/bse_url", "did you mean 'base_url'?"),
        (
            "    keys: [{key: '${K:-}', nmae: a}]\n",
            "R101",
            5,
            "/providers/local/keys/0/nmae",
            "did you mean 'name'?",
        ),
        ("    keys: [{name: a}]\n", "R102", 5, "/providers/local/keys/0", "add `key:`"),
        (
            "    keys: [{key: '${K:-}', account: 'my team'}]\n",
            "R106",
            5,
            "/providers/local/keys/0/account",
            "expected a name",
        ),
        ("    auth: basic\n", "R103", 5, "/providers/local/auth", "one of: x-api-key, bearer, api-key, none"),
        (
            "    rate_limit_headers: grok\n",
            "R103",
            5,
            "/providers/local/rate_limit_headers",
            "did you mean 'groq'?",
        ),
        ("    timeouts: {total: 10 min}\n", "R104", 5, "/providers/local/timeouts/total", "write seconds"),
        ("    health: {interval: -1}\n", "R104", 5, "/providers/local/health/interval", "write seconds"),
        (
            "    simulate: {failure_rate: 2}\n",
            "R107",
            5,
            "/providers/local/simulate/failure_rate",
            "at most 1",
        ),
        ("    headers: {x-a: 1}\n", "R100", 5, "/providers/local/headers/x-a", ""),
    ],
)
def test_provider_schema_errors(
    compile_set: CompileSet, extra: str, code: str, line: int, pointer: str, hint: str
) -> None:
    result = compile_set({"d.yaml": HEAD + extra + TAIL})
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [(d.code, d.line, d.pointer) for d in errors] == [(code, line, pointer)]
    assert hint in errors[0].hint


def test_type_error_hides_the_enum_echo(compile_set: CompileSet) -> None:
    result = compile_set({"d.yaml": HEAD + "chains:\n  main:\n    strategy: 3\n    steps: [local/demo]\n"})
    assert [(d.code, d.message) for d in result.diagnostics if d.severity == "error"] == [
        ("R100", "expected a string, got a whole number")
    ]


def test_all_errors_of_all_files_are_reported(compile_set: CompileSet) -> None:
    result = compile_set(
        {
            "a.yaml": "version: 1\nproviders:\n  x: {api: nope}\n  y: {api: simulated, colour: red}\n",
            "b.yaml": "version: 1\nchains:\n  c: {steps: [y/m], strategy: random}\n",
        }
    )
    assert {
        (d.code, d.file.rsplit("/", 1)[-1], d.line) for d in result.diagnostics if d.severity == "error"
    } == {
        ("R103", "a.yaml", 3),
        ("R101", "a.yaml", 4),
        ("R103", "b.yaml", 3),
    }


def test_entries_with_schema_errors_do_not_cascade(compile_set: CompileSet) -> None:
    """The provider is broken, so the step naming it is not reported as unknown too."""
    result = compile_set(
        {"d.yaml": "version: 1\nproviders:\n  p: {api: nope}\nchains:\n  c: {steps: [p/m]}\n"}
    )
    assert [d.code for d in result.diagnostics] == ["R103"]


def test_one_key_in_two_accounts_is_located_at_its_second_use(compile_set: CompileSet) -> None:
    defs = (
        "version: 1\nproviders:\n"
        "  a:\n    api: anthropic\n    base_url: https://api.anthropic.com\n"
        '    keys: ["${K1:-}", {key: "${K2:-}", account: team}]\n'
        "  b:\n    api: anthropic\n    base_url: https://api.anthropic.com\n"
        '    keys: [{key: "${K1:-}", account: team}, {key: "${K2}", account: team}]\n'
        "chains:\n  main:\n    steps: [a/claude-x, b/claude-x]\n"
    )
    result = compile_set({"d.yaml": defs}, env={"K1": "k1-value-0123456789", "K2": "k2-value-0123456789"})
    clashes = [d for d in result.diagnostics if d.code == "R247"]
    assert [(d.severity, d.line, d.pointer) for d in clashes] == [("warning", 10, "/providers/b/keys/0")]
    assert (
        clashes[0].message
        == "key ${K1} is in account 'team' here but in its own account at providers/a/keys/0"
    )
    assert "k1-value" not in str(result.diagnostics)
