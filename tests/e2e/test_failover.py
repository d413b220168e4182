"""The waterfall against scripted upstream failures, through a real `relay run`."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import openai
import pytest

from tests.e2e.conftest import BASIC, RelayFactory
from tests.e2e.procs import FakeUpstream, Relay, stream_raw, wait_until
from tests.e2e.sse import anthropic_tool_stream, frame, stream_body

pytestmark = pytest.mark.e2e


def _client(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="k", max_retries=0)


def _ask(client: anthropic.Anthropic, stream: bool = False) -> anthropic.types.Message:
    kwargs = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        with client.messages.stream(**kwargs) as s:  # type: ignore[arg-type]
            return s.get_final_message()
    return client.messages.create(**kwargs)  # type: ignore[arg-type]


RATE_429 = {
    "status": 429,
    "headers": {"retry-after": "30"},
    "body": {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
}


def test_429_fails_over_and_cools_the_key_down(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        fake.script(RATE_429, {"text": "from b"})
        raw = _client(relay.url).messages.with_raw_response.create(
            model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
        assert raw.parse().content[0].text == "from b"  # type: ignore[union-attr]
        assert raw.headers["x-relay-provider"] == "anth_b" and raw.headers["x-relay-attempts"] == "2"
        fake.script({"text": "again b"})
        raw = _client(relay.url).messages.with_raw_response.create(
            model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
        assert raw.headers["x-relay-provider"] == "anth_b" and raw.headers["x-relay-attempts"] == "1"
        assert "anth_a/claude-up-a: rate limited" in raw.headers["x-relay-skipped"]
        assert len(fake.requests()) == 1  # the cooling step cost no network call
    lines = [json.loads(line) for line in relay.output().splitlines() if line.startswith("{")]
    first = next(line for line in lines if line.get("msg") == "request")
    assert [(a["provider"], a["outcome"]) for a in first["attempts"]] == [
        ("anth_a", "rate_limited"),
        ("anth_b", "ok"),
    ]
    assert first["provider"] == "anth_b" and first["status"] == 200 and first["tokens"]["total"] == 13
    text = relay.output()
    assert "test-upstream-key" not in text and '"hi"' not in text  # no secrets, no prompts


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500, "body": {"type": "error", "error": {"type": "api_error", "message": "boom"}}},
        {"status": 529, "body": {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}},
        {
            "status": 401,
            "body": {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}},
        },
        {"status": 402, "body": {"type": "error", "error": {"type": "billing_error", "message": "pay"}}},
        {"delay": 4},
        {
            "status": 200,
            "frames": [
                frame("error", {"type": "error", "error": {"type": "overloaded_error", "message": "x"}})
            ],
        },
        {"status": 200, "frames": ["data: this is not json\n\n"]},
        {"status": 200, "frames": [], "drop_after": 0},
        {"status": 200, "body": "<html>definitely not json</html>"},
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_failures_before_the_first_byte_fall_over_silently(
    fake: FakeUpstream, start_relay: RelayFactory, failure: dict[str, object], stream: bool
) -> None:
    if "frames" in failure and not stream:
        pytest.skip("stream-only failure")
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        fake.script(failure, {"text": "rescued"} if not stream else {})
        message = _ask(_client(relay.url), stream=stream)
        assert message.content[0].text in ("rescued", "hello")  # type: ignore[union-attr]
        assert [r["body"]["model"] for r in fake.requests()] == ["claude-up-a", "claude-up-b"]


def test_every_step_rate_limited_gives_429_with_retry_after_and_attempts(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        fake.script(RATE_429, RATE_429)
        with pytest.raises(anthropic.RateLimitError) as err:
            _client(relay.url).messages.create(
                model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
        assert 1 <= int(err.value.response.headers["retry-after"]) <= 30
        assert "anth_a/claude-up-a (429 rate_limited" in err.value.message
        assert "anth_b/claude-up-b (429 rate_limited" in err.value.message
        fake.script()
        # Both steps cool down, yet a 429 without an exhausted counter refused one request, not
        # every request (issue 18): with nothing else left, the first step is tried again.
        reply = openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0).chat.completions.create(
            model="claude-x", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content
        assert [r["body"]["model"] for r in fake.requests()] == ["claude-up-a"]


def test_every_step_overloaded_gives_529_to_anthropic_and_503_to_openai(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    busy_a = {
        "status": 529,
        "body": {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
    }
    busy_o = {"status": 503, "body": {"error": {"message": "busy", "type": "server_error"}}}
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        fake.script(busy_a, busy_a)
        with pytest.raises(anthropic.InternalServerError) as err:
            _ask(_client(relay.url))
        assert err.value.status_code == 529
        fake.script(busy_o, busy_o)
        with pytest.raises(openai.InternalServerError) as oerr:
            openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0).chat.completions.create(
                model="free", messages=[{"role": "user", "content": "hi"}]
            )
        assert oerr.value.status_code == 503


def test_context_overflow_everywhere_says_prompt_is_too_long(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    long_ = {
        "status": 400,
        "body": {
            "error": {
                "message": "This model's maximum context length is 8192 tokens",
                "code": "context_length_exceeded",
            }
        },
    }
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        fake.script(long_, long_)
        with pytest.raises(openai.BadRequestError) as err:
            openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0).chat.completions.create(
                model="free", messages=[{"role": "user", "content": "hi"}]
            )
        assert "prompt is too long" in str(err.value)


def test_other_4xx_is_returned_as_it_is(basic_relay: Relay, fake: FakeUpstream) -> None:
    url = basic_relay.url
    bad = {
        "status": 400,
        "body": {"type": "error", "error": {"type": "invalid_request_error", "message": "tools.0: bad"}},
    }
    fake.script(bad)
    with pytest.raises(anthropic.BadRequestError) as err:
        _ask(_client(url))
    assert err.value.body == bad["body"]
    assert len(fake.requests()) == 1


def test_drop_after_first_byte_ends_stream_with_error_event(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    frames = anthropic_tool_stream("claude-up-a")
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        fake.script({"frames": frames, "drop_after": 4})
        body = stream_body("claude-up-a")
        data = stream_raw(relay, body)
        assert data.startswith("".join(frames[:4]).encode())
        assert data.endswith(b"\n\n") and b"event: error\n" in data and b"message_stop" not in data
        with pytest.raises(anthropic.APIStatusError):
            fake.script({"frames": frames, "drop_after": 4})
            _ask(_client(relay.url), stream=True)


def test_stalled_stream_ends_with_error_after_stream_idle(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    frames = anthropic_tool_stream("claude-up-a")[:3]
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        fake.script({"frames": frames, "hang_after": True})
        body = stream_body("claude-x")
        started = time.monotonic()
        data = stream_raw(relay, body)
        assert b"event: error\n" in data and b"timeout_error" in data
        assert time.monotonic() - started < 8


def test_client_disconnect_mid_stream_closes_the_upstream_request(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    frames = anthropic_tool_stream("claude-up-a")[:3]
    with start_relay(
        {"r.yaml": BASIC.format(url=fake.url).replace("stream_idle: 2s", "stream_idle: 60s")}
    ) as relay:
        fake.script({"frames": frames, "hang_after": True})
        body = stream_body("claude-x")
        with httpx.stream("POST", relay.url + "/v1/messages", json=body, timeout=10) as resp:
            raw = resp.iter_raw()  # kept: dropping the generator would close the response now
            next(raw)
            wait_until(lambda: fake.stats()["open"] == 1, "upstream request open")
        wait_until(lambda: fake.stats()["open"] == 0, "upstream request closed after client left", timeout=10)
        fake.script({})
        assert _ask(_client(relay.url)).content  # and the relay keeps serving


def test_client_disconnect_before_the_answer_closes_the_upstream_request(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    """Waiting for the upstream's head of a whole (non-streamed) answer: the request runs in
    Granian's own task, and a client that leaves cancels it (the upstream request closes
    long before relay's own first_byte of 60 s), while the next request is served."""
    slow = BASIC.format(url=fake.url).replace("first_byte: 2s", "first_byte: 60s")
    with start_relay({"r.yaml": slow}) as relay:
        fake.script({"hang": True})
        body = {"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(relay.url + "/v1/messages", json=body, timeout=httpx.Timeout(10, read=0.5))
        wait_until(lambda: fake.stats()["open"] == 0, "upstream request closed after client left", timeout=10)
        fake.script({})
        assert _ask(_client(relay.url)).content  # and the relay keeps serving


def test_a_step_out_by_inference_gets_a_second_look_when_the_rest_fail(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    """anth_a is in relay's own backoff after a 503; when anth_b then answers 429, relay
    tries anth_a once more rather than fail without asking it (a client going direct to
    anth_a would have been served)."""
    busy = {
        "status": 503,
        "body": {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
    }
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        fake.script(busy, {"text": "from b"})
        assert _ask(_client(relay.url)).content[0].text == "from b"  # type: ignore[union-attr]
        fake.script(RATE_429, {"text": "from a"})
        raw = _client(relay.url).messages.with_raw_response.create(
            model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
        assert raw.parse().content[0].text == "from a"  # type: ignore[union-attr]
        assert raw.headers["x-relay-provider"] == "anth_a" and raw.headers["x-relay-attempts"] == "2"
        assert [r["body"]["model"] for r in fake.requests()] == ["claude-up-b", "claude-up-a"]
