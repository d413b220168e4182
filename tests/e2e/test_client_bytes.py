"""Whatever bytes a client sends, relay answers 4xx in the caller's format, never a 5xx.

msgspec's exceptions for bad input changed between releases (0.23 raises `DecodeError`
where 0.19 raised `UnicodeDecodeError` for invalid UTF-8 in a string), which once turned a
client's bad bytes into a 500. These properties drive a real relay (one for the module)
with arbitrary bytes and with mutated valid requests, on every generation endpoint
(`/v1/responses` included), same-format and translated (`free` is an OpenAI-format chain,
`claude-*` an Anthropic-format one). They are derandomized with a bounded number of
examples so CI is stable and quick.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.procs import Relay

pytestmark = pytest.mark.e2e

ENDPOINTS = ("/v1/messages", "/v1/chat/completions", "/v1/responses")
MODELS = ("claude-x", "free")  # same-format on one endpoint, translated on the other

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def client(basic_relay: Relay) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=basic_relay.url, timeout=30) as http:
        yield http


def _valid(path: str, model: str, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": 5,
        "stream": stream,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    if path == "/v1/responses":  # Codex CLI's API, served through the chat path
        return {
            "model": model,
            "stream": stream,
            "instructions": "be brief",
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
            "tools": [{"type": "function", "name": "t", "parameters": {"type": "object"}}],
            "prompt_cache_key": "conversation-1",
        }
    if path == "/v1/messages":
        body["system"] = [{"type": "text", "text": "be brief"}]
        body["tools"] = [{"name": "t", "description": "d", "input_schema": {"type": "object"}}]
    else:
        body["messages"].insert(0, {"role": "system", "content": "be brief"})
        body["tools"] = [{"type": "function", "function": {"name": "t", "parameters": {"type": "object"}}}]
        if stream:
            body["stream_options"] = {"include_usage": True}
    return body


def _assert_answer(resp: httpx.Response, path: str, *, client_error: bool) -> None:
    """4xx in the caller's format (or, for a request still valid after mutation, a 2xx)."""
    detail = f"{resp.status_code} {resp.content[:300]!r}"
    if client_error or resp.status_code >= 300:
        assert 400 <= resp.status_code < 500, detail
        payload = resp.json()
        error = payload["error"]
        assert isinstance(error["message"], str) and error["message"] and isinstance(error["type"], str), (
            detail
        )
        if path == "/v1/messages":
            assert payload["type"] == "error", detail


def _post(client: httpx.Client, path: str, body: bytes) -> httpx.Response:
    return client.post(path, content=body, headers={"content-type": "application/json"})


@SETTINGS
@given(path=st.sampled_from(ENDPOINTS), body=st.binary(max_size=600))
def test_arbitrary_bytes_are_a_4xx_in_the_callers_format(
    client: httpx.Client, path: str, body: bytes
) -> None:
    _assert_answer(_post(client, path, body), path, client_error=True)


BAD_UTF8 = st.sampled_from(
    [b"\xff", b"\xfe\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"\x80"]
)
MUTATION = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("bad_utf8"), st.integers(0, 10_000), BAD_UTF8),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 8)),
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
)


def _mutate(body: bytes, mutations: list[tuple[str, int, Any]]) -> bytes:
    for kind, where, what in mutations:
        at = where % (len(body) + 1)
        if kind in ("insert", "bad_utf8"):
            body = body[:at] + what + body[at:]
        elif kind == "delete":
            body = body[:at] + body[at + what :]
        elif at < len(body):
            body = body[:at] + bytes([body[at] ^ what]) + body[at + 1 :]
    return body


@SETTINGS
@given(
    path=st.sampled_from(ENDPOINTS),
    model=st.sampled_from(MODELS),
    stream=st.booleans(),
    mutations=st.lists(MUTATION, min_size=1, max_size=4),
)
def test_byte_mutations_of_valid_requests_are_never_a_5xx(
    client: httpx.Client, path: str, model: str, stream: bool, mutations: list[tuple[str, int, Any]]
) -> None:
    body = _mutate(json.dumps(_valid(path, model, stream)).encode(), mutations)
    _assert_answer(_post(client, path, body), path, client_error=False)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FIELDS = (
    "model",
    "max_tokens",
    "max_completion_tokens",
    "stream",
    "stream_options",
    "messages",
    "system",
    "tools",
)
PLACES = st.sampled_from(["top", "message", "content", "block", "tool"])


def _place(body: dict[str, Any], where: str, name: str, value: Any) -> None:
    """Put `value` at `name` somewhere in the request: at the top, in the last message, as
    its content, inside its first content block, or in the first tool (at the top when an
    earlier change already replaced what holds that place)."""
    messages = body.get("messages", body.get("input"))
    message = (
        messages[-1] if isinstance(messages, list) and messages and isinstance(messages[-1], dict) else None
    )
    content = message.get("content") if message is not None else None
    tools = body.get("tools")
    if where == "content" and message is not None:
        message["content"] = value
        return
    target = {
        "message": message,
        "block": content[0] if isinstance(content, list) and content else None,
        "tool": tools[0] if isinstance(tools, list) and tools else None,
    }.get(where)
    (target if isinstance(target, dict) else body)[name] = value


@SETTINGS
@given(
    path=st.sampled_from(ENDPOINTS),
    model=st.sampled_from(MODELS),
    stream=st.booleans(),
    changes=st.lists(
        st.tuples(PLACES, st.sampled_from(FIELDS) | st.text(max_size=6), JSON), min_size=1, max_size=3
    ),
    bad_utf8=st.none() | BAD_UTF8,
)
def test_wrong_shapes_and_bad_strings_in_valid_requests_are_never_a_5xx(
    client: httpx.Client,
    path: str,
    model: str,
    stream: bool,
    changes: list[tuple[str, str, Any]],
    bad_utf8: bytes | None,
) -> None:
    """Wrong types and shapes anywhere the translator reads, and invalid UTF-8 inside a string."""
    body = _valid(path, model, stream)
    for where, name, value in changes:
        _place(body, where, name, value)
    raw = json.dumps(body).encode()
    if bad_utf8 is not None:  # inside the last string value of the body
        end = raw.rfind(b'"', 0, raw.rfind(b'"'))
        raw = raw[: end + 1] + bad_utf8 + raw[end + 1 :]
    _assert_answer(_post(client, path, raw), path, client_error=False)
