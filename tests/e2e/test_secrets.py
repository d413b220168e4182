"""Secrets stay secret end to end: values from the environment work at run time, reach no
committed file, and an upstream that echoes one gets it redacted from everything relay
passes on (client answers in both SDKs, the all-failed message, stream error events, log)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
import redis

from tests.e2e.conftest import UPSTREAM_KEYS, RelayFactory
from tests.e2e.procs import (
    FakeUpstream,
    Relay,
    anthropic_client,
    build,
    openai_client,
    relay_run,
    stream_raw,
    wait_until,
    write_defs,
)
from tests.e2e.sse import frame, stream_body
from tests.routing.redis_server import running_redis

pytestmark = pytest.mark.e2e

KEY = UPSTREAM_KEYS["UP_KEY_A"]
MARK = "[redacted]"

STREAMS = [  # (client path, upstream api, chain): one provider each, so no failure spills over
    ("/v1/messages", "anthropic", "s1"),
    ("/v1/messages", "openai", "s2"),
    ("/v1/chat/completions", "openai", "s3"),
    ("/v1/chat/completions", "anthropic", "s4"),
]


def provider(name: str, api: str, url: str) -> str:
    base = url if api == "anthropic" else url + "/v1"
    return (
        f"  {name}:\n    api: {api}\n    base_url: {base}\n    keys: ['${{UP_KEY_A}}']\n"
        "    timeouts: {first_byte: 3s, stream_idle: 3s}\n"
    )


def echo_defs(url: str) -> str:
    providers = provider("anth", "anthropic", url) + provider("oai", "openai", url)
    chains = "  claude:\n    match: ['claude-*']\n    steps: [anth/claude-up]\n"
    chains += "  free:\n    steps: [oai/llama-up]\n"
    for _, api, chain in STREAMS:
        providers += provider(f"p_{chain}", api, url)
        chains += f"  {chain}:\n    steps: [p_{chain}/up-{chain}]\n"
    return f"version: 1\nproviders:\n{providers}chains:\n{chains}"


def anthropic_error(status: int, kind: str) -> dict[str, Any]:
    message = f"{kind}: the key {KEY} is not valid here"
    return {"status": status, "body": {"type": "error", "error": {"type": kind, "message": message}}}


def openai_error(status: int, kind: str) -> dict[str, Any]:
    message = f"Incorrect API key provided: {KEY}"
    return {
        "status": status,
        "body": {"error": {"message": message, "type": kind, "code": "invalid_api_key"}},
    }


def error_for(chain: str, status: int) -> dict[str, Any]:
    kind = "invalid_request_error" if status == 400 else "authentication_error"
    return anthropic_error(status, kind) if chain == "claude" else openai_error(status, kind)


def ask_anthropic(relay: Relay, model: str) -> str:
    """The client's whole view of a failed request: exception text and raw body."""
    with pytest.raises(anthropic.APIStatusError) as caught:
        anthropic_client(relay).messages.create(
            model=model, max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    return f"{caught.value} {caught.value.response.text}"


def ask_openai(relay: Relay, model: str) -> str:
    with pytest.raises(openai.APIStatusError) as caught:
        openai_client(relay).chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    return f"{caught.value} {caught.value.response.text}"


CLIENTS: dict[str, Callable[[Relay, str], str]] = {"anthropic": ask_anthropic, "openai": ask_openai}
MODELS = {"claude": "claude-x", "free": "free"}


def test_an_upstream_echoing_our_key_leaks_it_nowhere(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    with start_relay({"r.yaml": echo_defs(fake.url)}) as relay:
        # 400: returned to the client as it is (translated when the formats differ)
        for client in CLIENTS:
            for chain in MODELS:
                fake.script(error_for(chain, 400))
                seen = CLIENTS[client](relay, MODELS[chain])
                assert KEY not in seen and MARK in seen, (client, chain, seen)
        # a stream whose upstream sends an error event after its first event
        anthropic_frames = [
            frame("message_start", {"type": "message_start", "message": {"id": "m", "type": "message",
                   "role": "assistant", "model": "claude-up", "content": [], "stop_reason": None,
                   "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}}),
            frame("error", {"type": "error", "error": {"type": "overloaded_error", "message": f"bad {KEY}"}}),
        ]  # fmt: skip
        openai_frames = [
            frame(None, {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "llama-up",
                         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "a"}}]}),
            frame(None, {"error": {"message": f"bad {KEY}", "type": "server_error"}}),
        ]  # fmt: skip
        for path, api, model in STREAMS:
            frames = anthropic_frames if api == "anthropic" else openai_frames
            fake.script({"frames": frames, "frame_delay": 0.2})
            body = stream_body(model) | (
                {} if path == "/v1/messages" else {"messages": [{"role": "user", "content": "x"}]}
            )
            seen = stream_raw(relay, body, path).decode()
            assert KEY not in seen and MARK in seen, (path, model, seen)
        # 401: the key is rejected, the step fails, the all-failed message lists the attempt
        for client, chain in [("anthropic", "claude"), ("openai", "free")]:
            fake.script(error_for(chain, 401))
            seen = CLIENTS[client](relay, MODELS[chain])
            assert KEY not in seen and MARK in seen, (client, chain, seen)
        fake.script()
        httpx.get(relay.url + "/health", timeout=5)  # the last request's log line is written
        log = relay.output()
        assert KEY not in log and MARK in log


QUERY_SECRET = "query-secret-0123456789"
FROM_ENV = """\
version: 1
providers:
  q:
    api: openai
    base_url: ${{RELAY_T_BASE}}
    keys: ["${{UP_KEY_O}}"]
    headers: {{x-tenant: "${{RELAY_T_TENANT}}"}}
    timeouts: {{first_byte: 3s}}
chains:
  free:
    steps: [q/llama-q]
"""


def committed(generated: Path) -> str:
    local = {"secrets.json", "lint.env.json", "lint.env.txt"}
    return "".join(p.read_text() for p in sorted(generated.rglob("*")) if p.is_file() and p.name not in local)


def test_a_base_url_and_header_from_the_environment_work_and_are_never_committed(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    tenant = "tenant-secret-0123456789"
    env = {"RELAY_T_BASE": f"{fake.url}/v1?api_key={QUERY_SECRET}", "RELAY_T_TENANT": tenant}
    with start_relay({"r.yaml": FROM_ENV.format()}, env=env) as relay:
        text = committed(relay.generated)
        assert "${RELAY_T_BASE}" in text
        assert QUERY_SECRET not in text and tenant not in text and fake.url not in text
        assert QUERY_SECRET in (relay.generated / "secrets.json").read_text()
        fake.script({})
        reply = openai_client(relay).chat.completions.create(
            model="free", messages=[{"role": "user", "content": "x"}]
        )
        assert reply.choices[0].message.content == "hello"
        (sent,) = fake.requests()
        assert (sent["path"], sent["query"]) == ("/v1/chat/completions", f"api_key={QUERY_SECRET}")
        assert sent["headers"]["x-tenant"] == tenant
        fake.script({"status": 401, "body": {"error": {"message": f"no access for {env['RELAY_T_BASE']}"}}})
        seen = ask_openai(relay, "free")
        assert QUERY_SECRET not in seen and MARK in seen
        httpx.get(relay.url + "/health", timeout=5)
        assert QUERY_SECRET not in relay.output()


STATE = """\
version: 1
server:
  state: "${{RELAY_T_REDIS}}"
providers:
  limited:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
    limits: {{rpm: 50}}
    timeouts: {{first_byte: 3s}}
chains:
  free:
    steps: [limited/llama-limited]
"""


def test_a_redis_password_from_the_environment_is_used_and_never_committed(
    fake: FakeUpstream, tmp_path: Path
) -> None:
    password = "redis-pw-0123456789abc"
    with running_redis(tmp_path, password=password) as server:
        chains = write_defs(tmp_path / "chains", {"r.yaml": STATE.format(url=fake.url)})
        out = tmp_path / "generated"
        result = build(chains, out, {**UPSTREAM_KEYS, "RELAY_T_REDIS": server.url})
        assert result.returncode == 0, result.stdout + result.stderr
        text = committed(out)
        assert password not in text and '"state": "${RELAY_T_REDIS}"' in text
        with relay_run(out) as relay:  # no variable set: the runtime reads secrets.json
            fake.script({})
            reply = openai_client(relay).chat.completions.create(
                model="free", messages=[{"role": "user", "content": "x"}]
            )
            assert reply.choices[0].message.content == "hello"
            shared = redis.Redis(port=server.port, password=password)
            wait_until(lambda: bool(shared.keys("relay:*")), "relay's state in redis", timeout=10)
            shared.close()
            assert password not in relay.output() and "unreachable" not in relay.output()


def test_key_rotation_is_a_rebuild_and_a_hot_reload(fake: FakeUpstream, tmp_path: Path) -> None:
    chains = write_defs(tmp_path / "chains", {"r.yaml": echo_defs(fake.url)})
    out = tmp_path / "generated"
    assert build(chains, out, {"UP_KEY_A": "first-key-0123456789"}).returncode == 0
    with relay_run(out) as relay:
        fake.script({})
        anthropic_client(relay).messages.create(
            model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
        before = int(httpx.get(relay.url + "/ready", timeout=5).json()["reloads"])
        committed_before = committed(out)
        assert build(chains, out, {"UP_KEY_A": "second-key-0123456789"}).returncode == 0
        assert committed(out) == committed_before
        wait_until(
            lambda: int(httpx.get(relay.url + "/ready", timeout=5).json()["reloads"]) > before, "reload"
        )
        fake.script({})
        anthropic_client(relay).messages.create(
            model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
        assert [r["headers"]["x-api-key"] for r in fake.requests()] == ["second-key-0123456789"]


def test_a_cookie_an_upstream_sets_is_never_sent_on_later_requests(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    """relay keeps no cookie jar: a Set-Cookie answered to one client's request (a CDN's bot
    cookie, say) must not ride along on every later request, whoever sends it. The provider
    is named by host name, since cookie jars refuse cookies for IP addresses."""
    url = fake.url.replace("127.0.0.1", "localhost")
    defs = (
        "version: 1\nproviders:\n"
        + provider("oai", "openai", url)
        + "chains:\n  free:\n    steps: [oai/llama-up]\n"
    )
    fake.script({"text": "one", "headers": {"set-cookie": "session=abc123; Path=/"}}, {"text": "two"})
    with start_relay({"c.yaml": defs}) as relay:
        client = openai_client(relay)
        for text in ("one", "two"):
            answer = client.chat.completions.create(model="free", messages=[{"role": "user", "content": "x"}])
            assert answer.choices[0].message.content == text
    sent = [r["headers"] for r in fake.requests() if r["path"].endswith("/chat/completions")]
    assert len(sent) == 2
    assert not any(name.lower() == "cookie" for headers in sent for name in headers)
