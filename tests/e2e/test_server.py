"""The server around the waterfall: probes, auth, bad input, listen policy, import boundary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.e2e.conftest import BASIC, UPSTREAM_KEYS, RelayFactory
from tests.e2e.procs import REPO, FakeUpstream, Relay, build, clean_env, write_defs

pytestmark = pytest.mark.e2e

AUTHED = BASIC.replace(
    "version: 1\n",
    'version: 1\nserver:\n  auth:\n    keys: ["${{RELAY_TEST_CLIENT_KEY}}"]\n  max_body_bytes: 2000\n',
)
CLIENT_KEY = {"RELAY_TEST_CLIENT_KEY": "relay-client-key-1234"}


@pytest.mark.parametrize("path", ["/", "/api/hello", "/v1/messages"])
def test_head_on_any_path_is_200_and_empty(basic_relay: Relay, path: str) -> None:
    resp = httpx.head(basic_relay.url + path)
    assert resp.status_code == 200 and resp.content == b""


def test_health_ready_and_unknown_routes(basic_relay: Relay) -> None:
    assert httpx.get(basic_relay.url + "/health").json() == {"status": "ok"}
    assert httpx.get(basic_relay.url + "/ready").json()["status"] == "ready"
    missing = httpx.get(basic_relay.url + "/nope")
    assert missing.status_code == 404 and missing.json()["error"]["message"].startswith("no route GET /nope")
    wrong = httpx.get(basic_relay.url + "/v1/messages", headers={"anthropic-version": "2023-06-01"})
    assert wrong.status_code == 405 and wrong.json()["type"] == "error"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{nope", 400, "not valid JSON"),
        (b"\xff\xfe\x00", 400, "not valid JSON"),
        (b'{"model": 12}', 400, "model: expected a string"),
        (b'{"messages": []}', 400, "model: required"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions"])
def test_malformed_requests_get_errors_in_the_callers_format(
    basic_relay: Relay, body: bytes, status: int, fragment: str, path: str
) -> None:
    resp = httpx.post(basic_relay.url + path, content=body, headers={"content-type": "application/json"})
    assert resp.status_code == status
    payload = resp.json()
    if path == "/v1/messages":
        assert payload["type"] == "error" and fragment in payload["error"]["message"]
    else:
        assert fragment in payload["error"]["message"] and payload["error"]["type"] == "invalid_request_error"


def test_unknown_model_without_default_lists_chains(basic_relay: Relay) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        openai.OpenAI(base_url=basic_relay.url + "/v1", api_key="k", max_retries=0).chat.completions.create(
            model="gpt-nothing", messages=[{"role": "user", "content": "x"}]
        )
    assert "available chains: claude, free" in str(err.value)


def test_auth_oversize_and_both_key_headers(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    with start_relay({"r.yaml": AUTHED.format(url=fake.url)}, env=CLIENT_KEY) as relay:
        with pytest.raises(anthropic.AuthenticationError):
            anthropic.Anthropic(base_url=relay.url, api_key="wrong", max_retries=0).messages.create(
                model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=relay.url + "/v1", api_key="wrong", max_retries=0).models.list()
        fake.script({}, {})
        by_header = anthropic.Anthropic(base_url=relay.url, api_key="relay-client-key-1234", max_retries=0)
        by_bearer = anthropic.Anthropic(base_url=relay.url, auth_token="relay-client-key-1234", max_retries=0)
        for client in (by_header, by_bearer):
            client.messages.create(
                model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
        assert httpx.get(relay.url + "/health").status_code == 200  # probes need no key
        big = httpx.post(
            relay.url + "/v1/chat/completions",
            content=b"x" * 5000,
            headers={"authorization": "Bearer relay-client-key-1234"},
        )
        assert big.status_code == 413 and big.json()["error"]["code"] == "request_too_large"


def _serve_refusal(tmp_path: Path, defs: str, *args: str) -> subprocess.CompletedProcess[str]:
    chains = write_defs(tmp_path / "chains", {"r.yaml": defs})
    assert build(chains, tmp_path / "gen", UPSTREAM_KEYS).returncode == 0
    return subprocess.run(
        [sys.executable, "-m", "compiler", "run", str(tmp_path / "gen"), *args],
        cwd=REPO,
        env=clean_env(UPSTREAM_KEYS),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_public_listen_without_client_keys_is_refused(tmp_path: Path) -> None:
    result = _serve_refusal(tmp_path, BASIC.format(url="http://127.0.0.1:9"), "--listen", "0.0.0.0:8999")
    assert result.returncode == 2 and "not a loopback address" in result.stderr
    assert "Traceback" not in result.stderr


def test_several_workers_with_memory_state_are_refused(tmp_path: Path) -> None:
    result = _serve_refusal(tmp_path, BASIC.format(url="http://127.0.0.1:9"), "--workers", "2")
    assert result.returncode == 2 and "redis://" in result.stderr and "Traceback" not in result.stderr


def test_worker_never_imports_the_compiler_side(
    fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path
) -> None:
    audit = tmp_path / "imports.log"
    env = {"RELAY_IMPORT_AUDIT": str(audit), "PYTHONPATH": f"{Path(__file__).parent / 'audit_site'}:{REPO}"}
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}, env=env) as relay:
        fake.script({}, {"frames": []}, {})
        client = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
        client.messages.create(model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0).models.list()
    lines = audit.read_text().splitlines()
    assert any(line.endswith("forked") for line in lines), lines
    assert not [line for line in lines if line.startswith("forbidden")], lines
