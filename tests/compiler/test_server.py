"""The server block: client and admin key strength, a bindable listen address, settings not served."""

from __future__ import annotations

import pytest

from compiler.pipeline import compile_dir
from tests.compiler.conftest import SIMULATED, CompileSet, WriteSet

WEAK = "weak-value"


def server(block: str) -> dict[str, str]:
    return {"d.yaml": SIMULATED + "server:\n" + block}


@pytest.mark.parametrize("block", ["auth", "admin"])
@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ('""', "is empty"),
        ("'   '", "is empty"),
        ("a", "is shorter than 16 characters"),
        ("'a long key with spaces'", "contains whitespace"),
        ("'${RELAY_T_K:-short-fallback}'", "is shorter than 16 characters"),
    ],
)
def test_weak_literal_keys_are_refused(compile_set: CompileSet, block: str, key: str, reason: str) -> None:
    result = compile_set(server(f"  {block}: {{keys: [{key}]}}\n"))
    (weak,) = [d for d in result.diagnostics if d.code == "R224"]
    assert (weak.line, weak.severity, weak.pointer) == (9, "error", f"/server/{block}/keys/0")
    assert reason in weak.message and "at least 16 random characters" in weak.hint
    variable = (
        "RELAY_T_K" if "RELAY_T_K" in key else {"auth": "RELAY_API_KEY", "admin": "RELAY_ADMIN_KEY"}[block]
    )
    assert f"export {variable}=" in weak.hint and f"${{{variable}}}" in weak.hint
    assert result.artifact is None


@pytest.mark.parametrize("mode", ["check", "build"])
@pytest.mark.parametrize(
    ("value", "refused"), [(WEAK, True), (" padded-key-0123456789", True), ("k" * 16, False)]
)
def test_keys_from_the_environment_are_checked_without_being_printed(
    compile_set: CompileSet, mode: str, value: str, refused: bool
) -> None:
    result = compile_set(server("  auth: {keys: ['${RELAY_T_K}']}\n"), env={"RELAY_T_K": value}, mode=mode)
    weak = [d for d in result.diagnostics if d.code == "R224"]
    assert bool(weak) == refused
    assert all(value.strip() not in f"{d.message} {d.hint}" for d in result.diagnostics)
    assert all("RELAY_T_K" in d.message for d in weak)


def test_unknown_and_unset_keys_are_not_judged(write_set: WriteSet) -> None:
    root = write_set(server("  auth: {keys: ['${RELAY_T_K:-}', '${RELAY_T_REQ}']}\n"))
    for env in ({}, None):
        codes = {d.code for d in compile_dir(root, env, "check").diagnostics}
        assert "R224" not in codes


@pytest.mark.parametrize(
    ("listen", "written"),
    [
        ("localhost:8787", "127.0.0.1:8787"),
        ("LOCALHOST:9", "127.0.0.1:9"),
        ("127.0.0.2:8787", "127.0.0.2:8787"),
        ("'[::1]:8787'", "[::1]:8787"),
        ("0.0.0.0:8787", None),
        ("relay.internal:8787", None),
    ],
)
def test_listen_is_written_as_an_address_the_server_can_bind(
    compile_set: CompileSet, listen: str, written: str | None
) -> None:
    keys = "  auth: {keys: ['${RELAY_T_K}']}\n"
    result = compile_set(server(f"  listen: {listen}\n" + keys), env={"RELAY_T_K": "k" * 20})
    if written is None and listen.startswith("0.0.0.0"):
        assert result.artifact is not None and result.artifact.server.listen == listen
        return
    if written is None:
        (bad,) = [d for d in result.diagnostics if d.code == "R223"]
        assert "not an IP address" in bad.message and "0.0.0.0:8787" in bad.hint and bad.line == 9
        return
    assert result.artifact is not None and result.artifact.server.listen == written


def test_admin_keys_are_served_without_a_warning(compile_set: CompileSet) -> None:
    result = compile_set(server("  admin: {keys: ['${RELAY_T_ADMIN}']}\n"), env={"RELAY_T_ADMIN": "a" * 20})
    assert [d for d in result.diagnostics if d.code == "R215"] == []
    assert result.artifact is not None and len(result.artifact.server.admin_key_fingerprints) == 1


def test_context_is_served_without_a_warning(compile_set: CompileSet) -> None:
    models = "models:\n  demo: {context: 1000, providers: {local: demo-1}}\n"
    result = compile_set({"d.yaml": SIMULATED + models})
    assert [d for d in result.diagnostics if d.code == "R215"] == []
    assert result.artifact is not None
    assert {s.context for c in result.artifact.chains.values() for s in c.steps} == {1000}


@pytest.mark.parametrize(
    ("hook", "code", "pointer"),
    [
        ("{url: 'http://127.0.0.1:9/h', events: [breaker_opened], secret: plain-secret}", "R204", "secret"),
        ("{url: 'https://h.example.com/h?token=abc', events: [breaker_opened]}", "R204", "url"),
        ("{url: 'https://h.example.com/h', events: []}", "R109", "events"),
        ("{url: 'https://h.example.com/h', events: [nope]}", "R103", "events/0"),
    ],
)
def test_bad_webhooks_are_refused_where_written(
    compile_set: CompileSet, hook: str, code: str, pointer: str
) -> None:
    result = compile_set(server(f"  webhooks: [{hook}]\n"))
    assert [(d.code, d.pointer) for d in result.diagnostics if d.severity == "error"] == [
        (code, f"/server/webhooks/0/{pointer}")
    ]


def test_a_webhook_secret_from_the_environment_stays_out_of_the_committed_build(
    compile_set: CompileSet,
) -> None:
    hook = "{url: 'https://h.example.com/h', events: [chain_exhausted], secret: '${RELAY_T_HOOK}'}"
    result = compile_set(
        server(f"  webhooks: [{hook}]\n"), env={"RELAY_T_HOOK": "hook-secret-value"}, mode="build"
    )
    assert result.artifact is not None and result.blind is not None and result.blind.artifact is not None
    assert result.artifact.server.webhooks[0].secret == "hook-secret-value"
    assert result.blind.artifact.server.webhooks[0].secret == "${RELAY_T_HOOK}"
    assert "hook-secret-value" in result.env_secrets


def test_hosts_and_origins_are_written_as_browsers_send_them(compile_set: CompileSet) -> None:
    block = (
        '  hosts: [Relay.Example.COM., "*.corp.example", relay.example.com]\n'
        '  cors: {origins: ["https://Chat.Example.com:443", "http://127.0.0.1:3000", "http://x.example:80"]}\n'
    )
    result = compile_set(server(block))
    assert result.artifact is not None, result.diagnostics
    written = result.artifact.server
    assert written.hosts == ("relay.example.com", "*.corp.example")
    assert written.cors.origins == ("https://chat.example.com", "http://127.0.0.1:3000", "http://x.example")


@pytest.mark.parametrize(
    ("block", "where", "wanted"),
    [
        ('  hosts: ["relay.example.com:8787"]\n', "/server/hosts/0", "without scheme or port"),
        ('  hosts: ["http://relay.example.com"]\n', "/server/hosts/0", "without scheme or port"),
        ('  hosts: ["*"]\n', "/server/hosts/0", "without scheme or port"),
        ('  cors: {origins: ["https://chat.example.com/"]}\n', "/server/cors/origins/0", "with no path"),
        ('  cors: {origins: ["*"]}\n', "/server/cors/origins/0", "with no path"),
        ('  cors: {origins: ["null"]}\n', "/server/cors/origins/0", "with no path"),
    ],
)
def test_malformed_hosts_and_origins_are_located(
    compile_set: CompileSet, block: str, where: str, wanted: str
) -> None:
    result = compile_set(server(block))
    (bad,) = [d for d in result.diagnostics if d.severity == "error"]
    assert (bad.code, bad.line, bad.pointer) == ("R106", 9, where)
    assert wanted in bad.hint and result.artifact is None
