"""The management API end to end (docs/admin-api.md): a real relay, a fake upstream, httpx."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RelayFactory
from tests.e2e.procs import FakeUpstream, Relay, wait_until

pytestmark = pytest.mark.e2e

ADMIN_KEY = "admin-key-0123456789abcdef"
CLIENT_KEY = "client-key-0123456789abcdef"
KEYS = {"RELAY_ADMIN_KEY": ADMIN_KEY, "RELAY_API_KEY": CLIENT_KEY}

DEFS = """\
version: 1
server:
  auth: {{keys: ["${{RELAY_API_KEY}}"]}}
  admin: {{keys: ["${{RELAY_ADMIN_KEY}}"]}}
providers:
  first:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
    limits: {{rpm: 30}}
    breaker: {{failures: 1, window: 30s, open_for: 60s}}
    timeouts: {{first_byte: 2s}}
  second:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_B}}"]
    timeouts: {{first_byte: 2s}}
chains:
  free:
    steps: [first/llama-first, second/llama-second]
"""

RATE_429 = {
    "status": 429,
    "headers": {"retry-after": "30"},
    "body": {"error": {"message": "slow down", "type": "rate_limit_error"}},
}
FAIL_500 = {"status": 500, "body": {"error": {"message": "boom", "type": "server_error"}}}


def admin(relay: Relay, path: str, key: str | None = ADMIN_KEY, method: str = "GET") -> httpx.Response:
    headers = {} if key is None else {"authorization": f"Bearer {key}"}
    return httpx.request(method, relay.url + path, headers=headers, timeout=10)


def ask(relay: Relay) -> httpx.Response:
    body = {"model": "free", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {CLIENT_KEY}"}
    return httpx.post(relay.url + "/v1/chat/completions", json=body, headers=headers, timeout=10)


class Events:
    """An `/admin/events` subscriber reading on a thread: every (event, data) in order."""

    def __init__(self, relay: Relay) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.ended = threading.Event()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._read, args=(relay,), daemon=True)
        self._thread.start()
        opened = self._ready.wait(10)
        assert opened, (
            f"event stream did not open ({self._failure!r}; relay exit code {relay.proc.poll()}):\n"
            + relay.output()[-3000:]
        )

    def _read(self, relay: Relay) -> None:
        headers = {"x-api-key": ADMIN_KEY}
        try:
            with httpx.stream("GET", relay.url + "/admin/events", headers=headers, timeout=30) as resp:
                assert resp.status_code == 200
                self._ready.set()
                name = ""
                for line in resp.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        self.seen.append((name, json.loads(line[6:])))
                    elif line.startswith(":"):
                        self.seen.append(("comment", line))
        except BaseException as exc:  # said by the constructor's assertion, not lost in the thread
            self._failure = exc
        finally:
            self.ended.set()

    def close(self) -> None:
        """Stop reading at the next line (the relay's keep-alives bound the wait)."""
        self._stop.set()

    def of(self, name: str) -> list[Any]:
        return [data for event, data in list(self.seen) if event == name]


def wait_for(check: Any, what: str, timeout: float = 15.0) -> None:
    wait_until(lambda: bool(check()), what, timeout)


@pytest.fixture
def relay(fake: FakeUpstream, start_relay: RelayFactory) -> Iterator[Relay]:
    with start_relay({"relay.yaml": DEFS.format(url=fake.url)}, env={**KEYS, "RELAY_RELOAD_POLL": "0"}) as r:
        yield r


def test_admin_routes_need_an_admin_key_and_client_keys_are_not_admin_keys(relay: Relay) -> None:
    for key in (None, CLIENT_KEY, ADMIN_KEY + "x"):
        reply = admin(relay, "/admin/state", key)
        assert reply.status_code == 401
        assert reply.json()["error"]["type"] == "authentication_error"
        assert ADMIN_KEY not in reply.text
    assert admin(relay, "/admin/state").status_code == 200
    by_header = httpx.get(relay.url + "/admin/state", headers={"x-api-key": ADMIN_KEY}, timeout=10)
    assert by_header.status_code == 200
    models = httpx.get(relay.url + "/v1/models", headers={"x-api-key": ADMIN_KEY}, timeout=10)
    assert models.status_code == 401  # an admin key is not a client key either


def test_bad_query_values_are_400_naming_the_parameter(relay: Relay) -> None:
    reply = admin(relay, "/admin/state?verbose=1")
    assert reply.status_code == 400
    assert reply.json()["error"] == {
        "type": "invalid_request_error",
        "message": "unknown query parameter 'verbose'",
        "param": "verbose",
    }
    missing = admin(relay, "/admin/explain")
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "model"
    assert admin(relay, "/admin/nothing").status_code == 404
    assert admin(relay, "/admin/state", method="POST").status_code == 405


def _key(state: dict[str, Any], provider: str) -> dict[str, Any]:
    (found,) = [p for p in state["providers"] if p["name"] == provider]
    key: dict[str, Any] = found["keys"][0]
    return key


def test_state_and_events_show_a_cooling_key_and_an_open_breaker(relay: Relay, fake: FakeUpstream) -> None:
    events = Events(relay)
    fake.script(RATE_429)
    assert ask(relay).headers["x-relay-provider"] == "second"
    wait_for(lambda: events.of("request") and events.of("state"), "request and state events")
    assert events.seen[0][0] == "hello" and events.seen[0][1]["source_hash"].startswith("sha256:")
    (request,) = events.of("request")
    assert request["chain"] == "free" and request["provider"] == "second" and request["status"] == 200
    assert [a["provider"] for a in request["attempts"]] == ["first", "second"]
    cooled = [e for e in events.of("state") if e["kind"] == "cooldown_started"]
    assert cooled and cooled[0]["provider"] == "first" and 25 < cooled[0]["until_s"] <= 30
    assert cooled[0]["key"].startswith("sha256:")

    state = admin(relay, "/admin/state").json()
    key = _key(state, "first")
    assert key["status"] == "cooling" and "rate limited" in key["reason"]
    assert 20 < key["until_s"] <= 30
    assert key["id"] == "first#0" and "UP_KEY" not in json.dumps(state)
    rpm = next(w for w in key["windows"] if w["name"] == "rpm")
    assert (rpm["used"], rpm["limit"], rpm["limit_source"]) == (1, 30, "configured")
    (chain,) = state["chains"]
    assert [s["status"] for s in chain["steps"]] == ["cooling", "ready"]
    assert state["relay"]["workers"] == 1 and state["state_backend"]["backend"] == "memory"


def test_a_failure_opens_the_breaker_in_state_and_events(relay: Relay, fake: FakeUpstream) -> None:
    events = Events(relay)
    fake.script(FAIL_500)
    assert ask(relay).headers["x-relay-provider"] == "second"
    wait_for(lambda: any(e["kind"] == "breaker_opened" for e in events.of("state")), "breaker event")
    state = admin(relay, "/admin/state").json()
    (first,) = [p for p in state["providers"] if p["name"] == "first"]
    assert first["breaker"]["state"] == "open" and 50 < first["breaker"]["open_s"] <= 60
    assert state["chains"][0]["steps"][0]["status"] == "breaker_open"


def test_reload_endpoint_reports_the_outcome(relay: Relay, fake: FakeUpstream, tmp_path: Path) -> None:
    first = admin(relay, "/admin/reload", method="POST").json()
    assert first["outcome"] == "unchanged" and first["reloads"] == 0
    routing = relay.generated / "routing.json"
    routing.write_text(routing.read_text().replace('"llama-second"', '"llama-other"'))
    refused = admin(relay, "/admin/reload", method="POST").json()
    assert refused["outcome"] == "refused" and "does not match manifest" in refused["detail"]
    assert admin(relay, "/admin/state").json()["artifact"]["last_reload"]["outcome"] == "refused"


def test_explain_and_chain_answer_from_the_served_artifact(relay: Relay) -> None:
    reply = admin(relay, "/admin/explain?model=free").json()
    assert reply["resolves"] and reply["chain"] == "free" and reply["kind"] == "chain"
    assert reply["text"].startswith("free → chain free\n  why: exact chain name")
    nothing = admin(relay, "/admin/explain?model=gpt-9").json()
    assert not nothing["resolves"] and nothing["chain"] is None
    chain = admin(relay, "/admin/chains/free").json()
    assert [s["provider"] for s in chain["steps"]] == ["first", "second"]
    assert admin(relay, "/admin/chains/nope").status_code == 404
