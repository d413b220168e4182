"""The server around the waterfall: probes, auth, bad input, listen policy, import boundary."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.e2e.conftest import BASIC, UPSTREAM_KEYS, RelayFactory
from tests.e2e.procs import (
    REPO,
    FakeUpstream,
    Relay,
    build,
    clean_env,
    free_port,
    stop,
    wait_until,
    write_defs,
)

pytestmark = pytest.mark.e2e

AUTHED = BASIC.replace(
    "version: 1\n",
    'version: 1\nserver:\n  auth:\n    keys: ["${{RELAY_TEST_CLIENT_KEY}}"]\n  max_body_bytes: 2000\n',
)
CLIENT_KEY = {"RELAY_TEST_CLIENT_KEY": "relay-client-key-1234"}


@pytest.mark.parametrize(
    ("path", "status"),
    [("/", 200), ("/health", 200), ("/v1/models", 200), ("/api/hello", 404), ("/v1/messages", 405)],
)
def test_head_answers_what_get_would_and_head_slash_is_200(
    basic_relay: Relay, path: str, status: int
) -> None:
    resp = httpx.head(basic_relay.url + path)
    assert resp.status_code == status and resp.content == b""


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


def test_without_a_key_relay_says_only_that_it_is_up(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    """With client keys set, a caller without one gets HEAD / and /health, a bare /ready,
    and a 401 for everything else: unknown routes and wrong methods cannot be told apart."""
    key = {"x-api-key": "relay-client-key-1234"}
    with start_relay({"r.yaml": AUTHED.format(url=fake.url)}, env=CLIENT_KEY) as relay:
        assert httpx.head(relay.url + "/").status_code == 200
        assert httpx.get(relay.url + "/health").json() == {"status": "ok"}
        assert httpx.get(relay.url + "/ready").json() == {"status": "ready"}
        assert httpx.get(relay.url + "/ready", headers=key).json()["source_hash"].startswith("sha256:")
        for method, path in [
            ("GET", "/nope"),
            ("GET", "/v1/messages"),
            ("DELETE", "/v1/models"),
            ("HEAD", "/x"),
        ]:
            resp = httpx.request(method, relay.url + path)
            assert resp.status_code == 401, (method, path)
        assert httpx.head(relay.url + "/v1/models").status_code == 401
        assert httpx.head(relay.url + "/v1/models", headers=key).status_code == 200
        assert httpx.get(relay.url + "/nope", headers=key).status_code == 404


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
            headers={"authorization": "Bearer relay-client-key-1234", "content-type": "application/json"},
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


def test_a_second_relay_on_the_same_port_is_refused(
    fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path
) -> None:
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        port = relay.url.rsplit(":", 1)[1]
        for listen in (f"127.0.0.1:{port}", f"localhost:{port}"):
            second = _serve_refusal(
                tmp_path / listen.replace(":", "_"), BASIC.format(url=fake.url), "--listen", listen
            )
            assert second.returncode == 2, second.stderr
            assert (
                second.stderr.strip()
                == f"relay run: another relay is already serving on port {port}; stop it first"
            )
        assert httpx.get(relay.url + "/health").status_code == 200  # the first one still serves alone


def test_a_port_held_by_another_program_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = _serve_refusal(
            tmp_path, BASIC.format(url="http://127.0.0.1:9"), "--listen", f"127.0.0.1:{port}"
        )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"relay run: cannot listen on 127.0.0.1:{port}: the port is in use by another program"
    )


def test_listen_on_a_host_name_is_refused_in_one_line(tmp_path: Path) -> None:
    named = _serve_refusal(tmp_path, BASIC.format(url="http://127.0.0.1:9"), "--listen", "relay.example:8787")
    assert (
        named.returncode == 2 and "is not an IP address" in named.stderr and "Traceback" not in named.stderr
    )


def test_listen_localhost_serves_on_loopback(fake: FakeUpstream, tmp_path: Path) -> None:
    chains = write_defs(tmp_path / "chains", {"r.yaml": BASIC.format(url=fake.url)})
    assert build(chains, tmp_path / "gen", UPSTREAM_KEYS).returncode == 0
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "compiler", "run", str(tmp_path / "gen"), "--listen", f"localhost:{port}"],
        cwd=REPO,
        env=clean_env(UPSTREAM_KEYS),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: _up(f"http://127.0.0.1:{port}/health"), "relay on localhost", proc=proc)
    finally:
        assert stop(proc) == 0


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


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


def test_main_process_forks_workers_without_what_the_checks_import(
    fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path
) -> None:
    """Granian forks workers from the main process, so every module it held would count again
    in each worker's memory: the checks before binding run in a fork of their own."""
    audit = tmp_path / "imports.log"
    env = {"RELAY_IMPORT_AUDIT": str(audit), "PYTHONPATH": f"{Path(__file__).parent / 'audit_site'}:{REPO}"}
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}, env=env) as relay:
        assert httpx.get(relay.url + "/ready", timeout=5).status_code == 200
    lines = audit.read_text().splitlines()
    assert any(line.endswith("forked") for line in lines), lines
    assert not [line for line in lines if line.startswith("inherited")], lines
