"""Routing rules (`rules:`) in the compiler: compiled in order into the artifact's decision
table, and every rule that would mislead reported where it is written (R226-R228)."""

from __future__ import annotations

import pytest

from compiler.diagnostics import Diagnostic
from compiler.pipeline import Compiled
from tests.compiler.conftest import SIMULATED, CompileSet

CHAINS = SIMULATED + "  other:\n    steps: [local/other]\n"


def compiled(
    compile_set: CompileSet, rules: str, extra: str = "", env: dict[str, str] | None = None
) -> Compiled:
    return compile_set({"d.yaml": CHAINS + extra + "rules:\n" + rules}, env=env)


def errors(result: Compiled) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.severity == "error"]


def test_rules_compile_in_order_with_globs_as_regexes(compile_set: CompileSet) -> None:
    result = compiled(
        compile_set,
        "  bg:\n    when: {model: [claude-haiku-*, exact.name]}\n    chain: other\n"
        "  big:\n    when: {input_tokens: {above: 1000, below: 9000}, stream: true}\n    chain: main\n"
        "  search:\n    when: {tool_types: [web_search], headers: {X-Team: a*}}\n    chain: other\n",
    )
    assert errors(result) == [] and result.artifact is not None
    bg, big, search = result.artifact.routes.rules
    assert (bg.name, bg.chain, bg.models) == (
        "bg",
        "other",
        (r"^(?s:claude\-haiku\-.*)\Z", r"^exact\.name\Z"),
    )
    assert (big.above, big.below, big.stream, big.thinking) == (1000, 9000, True, None)
    assert search.tool_types == ("web_search",) and search.headers == (("x-team", r"^(?s:a.*)\Z"),)


def test_an_unknown_chain_is_located_with_a_suggestion(compile_set: CompileSet) -> None:
    result = compiled(compile_set, "  r:\n    when: {stream: true}\n    chain: otter\n")
    (error,) = errors(result)
    assert (error.code, error.pointer, error.line) == ("R226", "/rules/r/chain", 13)
    assert "'otter'" in error.message and "other" in error.hint


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("{}", "{stream: true}"),
        ("{thinking: true}", "{thinking: true, model: [claude-*]}"),
        ("{model: [claude-*]}", "{model: [claude-opus-4]}"),
        ("{input_tokens: {above: 100}}", "{input_tokens: {above: 500, below: 900}}"),
        ("{tools: true}", "{tool_types: [web_search]}"),
        ("{tool_types: [web_search, code_execution]}", "{tool_types: [web_search], images: true}"),
        ("{headers: {x-a: b}}", "{headers: {x-a: b, x-c: d}}"),
    ],
)
def test_a_rule_an_earlier_one_always_preempts_is_an_error(
    compile_set: CompileSet, earlier: str, later: str
) -> None:
    rules = (
        f"  first:\n    when: {earlier}\n    chain: main\n  second:\n    when: {later}\n    chain: other\n"
    )
    (error,) = errors(compiled(compile_set, rules))
    assert (error.code, error.pointer) == ("R227", "/rules/second")
    assert "'first' before it" in error.message


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("{stream: true}", "{stream: false}"),
        ("{model: [claude-haiku-*]}", "{model: [claude-*]}"),
        ("{input_tokens: {above: 500}}", "{input_tokens: {above: 100}}"),
        ("{tool_types: [web_search]}", "{tools: true}"),
        ("{headers: {x-a: b, x-c: d}}", "{headers: {x-a: b}}"),
    ],
)
def test_a_narrower_rule_before_a_wider_one_is_fine(
    compile_set: CompileSet, earlier: str, later: str
) -> None:
    rules = (
        f"  first:\n    when: {earlier}\n    chain: main\n  second:\n    when: {later}\n    chain: other\n"
    )
    result = compiled(compile_set, rules)
    assert errors(result) == [] and result.artifact is not None and len(result.artifact.routes.rules) == 2


@pytest.mark.parametrize(
    ("when", "pointer", "words"),
    [
        ("{input_tokens: {above: 10, below: 11}}", "/rules/r/when/input_tokens", "no estimate"),
        ("{tools: false, tool_types: [web_search]}", "/rules/r/when/tool_types", "tools is false"),
        ("{client_key: [TEAM_KEY]}", "/rules/r/when/client_key/0", "server.auth has no keys"),
        ("{headers: {Authorization: 'Bearer *'}}", "/rules/r/when/headers/Authorization", "credential"),
    ],
)
def test_conditions_relay_cannot_know_or_meet_are_errors(
    compile_set: CompileSet, when: str, pointer: str, words: str
) -> None:
    (error,) = errors(compiled(compile_set, f"  r:\n    when: {when}\n    chain: other\n"))
    assert (error.code, error.pointer) == ("R228", pointer) and words in error.message


def test_client_keys_are_named_by_their_variable(compile_set: CompileSet) -> None:
    server = "server:\n  auth: {keys: ['${TEAM_KEY}', '${OPS_KEY:-}']}\n"
    env = {"TEAM_KEY": "t" * 24, "OPS_KEY": "o" * 24}
    ok = compiled(compile_set, "  r:\n    when: {client_key: [OPS_KEY]}\n    chain: other\n", server, env)
    assert errors(ok) == [] and ok.artifact is not None
    assert ok.artifact.routes.rules[0].client_keys == ("OPS_KEY",)
    assert ok.secrets is not None and ok.secrets.client_key_names == ("TEAM_KEY", "OPS_KEY")
    typo = compiled(compile_set, "  r:\n    when: {client_key: [OPS_KY]}\n    chain: other\n", server, env)
    (error,) = errors(typo)
    assert error.code == "R228" and "OPS_KEY" in error.hint


def test_unknown_conditions_are_schema_errors(compile_set: CompileSet) -> None:
    result = compiled(compile_set, "  r:\n    when: {thinkin: true}\n    chain: other\n")
    (error,) = errors(result)
    assert error.code == "R101" and "thinking" in error.hint
