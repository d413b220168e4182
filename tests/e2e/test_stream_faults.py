"""Streams that go wrong, through a real `relay run`: never worse than going direct.

An error before the content falls over unseen, or (on the last step) reaches the client as
the provider sent it; failures after the content begins count against the provider;
keep-alives flow through upstream silence; stalls are bounded; garbage never reaches clients.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
import httpx
import pytest

from tests.e2e.conftest import RelayFactory
from tests.e2e.fake_upstream import default_stream
from tests.e2e.procs import FakeUpstream, Relay, stream_raw
from tests.e2e.sse import frame, stream_body

pytestmark = pytest.mark.e2e

DEFS = """\
version: 1
server: {{keepalive: {keepalive}}}
providers:
  anth_a:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_A}}"]
    timeouts: {{first_byte: 2s, stream_idle: 2s}}
    breaker: {{failures: 2, window: 60s, open_for: 60s}}
  anth_b:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_B}}"]
    timeouts: {{first_byte: 2s, stream_idle: 2s}}
  oai_a:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
    timeouts: {{first_byte: 2s, stream_idle: 2s}}
chains:
  pair:
    match: ["claude-*"]
    steps: [anth_a/up-a, anth_b/up-b]
  solo:
    match: ["solo-*"]
    steps: [anth_a/up-a]
  cross:
    match: ["cross-*"]
    steps: [oai_a/up-o]
"""

OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def _defs(fake: FakeUpstream, keepalive: str = "15s") -> dict[str, str]:
    return {"r.yaml": DEFS.format(url=fake.url, keepalive=keepalive)}


def _message_start(model: str) -> str:
    return default_stream("anthropic", model, "")[0].decode()


def _log_lines(relay: Relay) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in relay.output().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("msg") == "request"]


def test_error_event_before_any_content_falls_over_unseen(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    with start_relay(_defs(fake)) as relay:
        fake.script({"frames": [_message_start("up-a"), frame("error", OVERLOADED)]}, {})
        client = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
        with client.messages.stream(
            model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            assert stream.get_final_message().content[0].text == "hello"  # type: ignore[union-attr]
        assert [r["body"]["model"] for r in fake.requests()] == ["up-a", "up-b"]
    attempts = _log_lines(relay)[0]["attempts"]
    assert [(a["provider"], a["outcome"]) for a in attempts] == [("anth_a", "overloaded"), ("anth_b", "ok")]
    assert attempts[0]["detail"] == "overloaded_error: Overloaded"  # a cleaned excerpt, not raw SSE


def test_on_the_last_step_the_client_gets_what_the_provider_sent(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    frames = [_message_start("up-a"), frame("ping", {"type": "ping"}), frame("error", OVERLOADED)]
    with start_relay(_defs(fake)) as relay:
        fake.script({"frames": frames})
        with httpx.stream("POST", relay.url + "/v1/messages", json=stream_body("solo-x"), timeout=10) as resp:
            data = b"".join(resp.iter_raw())
            assert resp.status_code == 200
        assert data == "".join(frames).replace('"up-a"', '"solo-x"').encode()
        fake.script({"frames": frames})
        client = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as caught:  # noqa: SIM117  # the SDK's own error
            with client.messages.stream(
                model="solo-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            ) as stream:
                stream.get_final_message()
        assert "Overloaded" in str(caught.value)
    text = relay.output()
    assert "event: error" not in text and "data: {" not in text  # no raw upstream bytes in the log


def test_an_openai_upstream_error_chunk_reaches_an_anthropic_client_translated(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    head = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "up-o"}
    role = {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    error = {"error": {"message": "upstream is overloaded", "type": "server_error", "code": 503}}
    with start_relay(_defs(fake)) as relay:
        fake.script({"frames": [frame(None, role), frame(None, error)]})
        with httpx.stream(
            "POST", relay.url + "/v1/messages", json=stream_body("cross-x"), timeout=10
        ) as resp:
            data = b"".join(resp.iter_raw())
            assert resp.status_code == 200
    events = [line[7:] for line in data.decode().splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "error"
    assert "content_block_start" not in events and b"upstream is overloaded" in data


def test_streams_that_break_after_their_content_began_open_the_breaker(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    broken = {"frames": [f.decode() for f in default_stream("anthropic", "up-a", "part")], "drop_after": 3}
    with start_relay(_defs(fake)) as relay:
        for _ in range(2):
            fake.script(broken)
            data = stream_raw(relay, stream_body("claude-x"))
            assert b"part" in data and data.rstrip().endswith(b"}") and b"event: error" in data
        fake.script({})
        answered = httpx.post(relay.url + "/v1/messages", json={**stream_body("claude-x"), "stream": False})
        assert answered.headers["x-relay-provider"] == "anth_b"
        assert "anth_a/up-a: breaker open" in answered.headers["x-relay-skipped"]
        assert [r["body"]["model"] for r in fake.requests()] == ["up-b"]
    outcomes = [[a["outcome"] for a in line["attempts"]] for line in _log_lines(relay)]
    assert outcomes[:2] == [["connect"], ["connect"]]


OPENAI_STREAM = {"model": "cross-x", "stream": True, "messages": [{"role": "user", "content": "x"}]}


@pytest.mark.parametrize(
    ("path", "body", "upstream", "marker"),
    [
        ("/v1/messages", stream_body("claude-x"), "anthropic", b'event: ping\ndata: {"type":"ping"}\n\n'),
        ("/v1/chat/completions", OPENAI_STREAM, "openai", b": keep-alive\n\n"),
    ],
)
def test_keepalives_flow_through_upstream_silence(
    fake: FakeUpstream,
    start_relay: RelayFactory,
    path: str,
    body: dict[str, Any],
    upstream: str,
    marker: bytes,
) -> None:
    frames = [f.decode() for f in default_stream(upstream, "up", "slow")]
    with start_relay(_defs(fake, keepalive="300ms")) as relay:
        fake.script({"frames": frames, "frame_delay": 0.8})
        data = stream_raw(relay, body, path)
    assert data.count(marker) >= 2  # silences of 0.8 s, keep-alive every 0.3 s, stream_idle 2 s
    assert b"slow" in data and b"error" not in data


def test_a_stalled_response_body_is_bounded_by_stream_idle(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    with start_relay(_defs(fake)) as relay:
        fake.script({"stall_body": True}, {"text": "rescued"})
        started = time.monotonic()
        answered = httpx.post(
            relay.url + "/v1/messages", json={**stream_body("claude-x"), "stream": False}, timeout=20
        )
        assert answered.status_code == 200 and answered.json()["content"][0]["text"] == "rescued"
        assert time.monotonic() - started < 8  # stream_idle 2s, not timeouts.total (10 minutes)


def test_garbage_lines_never_reach_the_client(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    """A line of no SSE field is ignored by any SSE parser, so a client going direct never
    sees it: relay drops it and the answer completes. Undecodable `data:` ends the stream."""
    frames = [f.decode() for f in default_stream("anthropic", "up-a", "fine")]
    garbled = [
        *frames[:3],
        "garbage bytes, no field\n\n",
        frames[3].replace("event:", "junk\nevent:"),
        *frames[4:],
    ]
    broken = [*frames[:3], "data: {not json\n\n", *frames[3:]]
    with start_relay(_defs(fake)) as relay:
        fake.script({"frames": garbled}, {"frames": broken, "frame_delay": 0.05})
        data = stream_raw(relay, stream_body("solo-x"))
        assert b"garbage" not in data and b"junk" not in data and b"fine" in data
        assert data.endswith(b'event: message_stop\ndata: {"type": "message_stop"}\n\n')
        data = stream_raw(relay, stream_body("solo-x"))
    assert b"not json" not in data and b"fine" in data  # the content had reached the client
    assert data.rsplit(b"\n\n", 2)[-2].startswith(b"event: error")
