"""Request parsing: only routing fields are read; the rest passes through byte for byte."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.errors import BadRequest, ClientFormat
from runtime.routing.affinity import conversation_key
from runtime.server.incoming import forwarded, parse, prompt
from runtime.server.redact import Redactor


def test_body_with_model_changes_only_model() -> None:
    body = b'{"model":"claude-x","max_tokens":5, "future_field": {"a": [1, 2.50]},"messages":[]}'
    inc = parse(body, [], "anthropic", "req_1")
    out = inc.body_with_model("up-model")
    assert json.loads(out) == {**json.loads(body), "model": "up-model"}
    assert b'"future_field":{"a": [1, 2.50]}' in out  # raw bytes of other fields untouched
    assert inc.body_with_model("claude-x") is body


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1,2]", "must be a JSON object"),
        (b'{"messages":[]}', "model: required"),
        (b'{"model": 5}', "model: expected a string"),
        (b'{"model": "m", "stream": "yes"}', "stream: expected a boolean"),
        (b'{"model": "m", "max_tokens": "many"}', "max_tokens: expected an integer"),
        (b'\xff\xfe{"model": "m"}', "not valid JSON"),
    ],
)
def test_bad_bodies_name_the_problem(body: bytes, fragment: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse(body, [], "anthropic", "req_1")
    assert fragment in err.value.message


def test_forwarded_headers_keep_every_anthropic_header_and_drop_credentials() -> None:
    headers = [
        ("Anthropic-Version", "2023-06-01"),
        ("anthropic-beta", "claude-code-20250219,some-future-beta-2027-01-01"),
        ("X-Claude-Code-Session-Id", "s1"),
        ("x-api-key", "client-secret"),
        ("Authorization", "Bearer client-secret"),
        ("connection", "keep-alive"),
        ("x-stainless-lang", "python"),
        ("content-length", "99"),
    ]
    out = forwarded(headers)
    assert out == [
        ("content-type", "application/json"),
        ("anthropic-version", "2023-06-01"),
        ("anthropic-beta", "claude-code-20250219,some-future-beta-2027-01-01"),
        ("x-claude-code-session-id", "s1"),
    ]


def test_openai_include_usage_and_max_completion_tokens() -> None:
    body = (
        b'{"model":"free","max_completion_tokens":77,"stream":true,"stream_options":{"include_usage":true}}'
    )
    inc = parse(body, [], "openai", "r")
    assert inc.stream and inc.include_usage and inc.max_tokens == 77


DEEP = b"[" * 5000 + b"]" * 5000


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"model": "\xff\xfe", "messages": []}', "UTF-8"),
        (b'{"model": "m", "messages": ' + DEEP + b"}", "nested too deeply"),
        (b'{"model": "m", "messages": [' + DEEP + b"]}", "nested too deeply"),
        (b'{"model": "m", "messages": [], "tools": ' + DEEP + b"}", "nested too deeply"),
    ],
    ids=["utf8-model", "deep-messages", "deep-first-message", "deep-tools"],
)
@pytest.mark.parametrize("fmt", ["anthropic", "openai"])
def test_bad_bytes_and_deep_nesting_are_400s(body: bytes, fragment: str, fmt: ClientFormat) -> None:
    with pytest.raises(BadRequest) as err:
        parse(body, [], fmt, "req_1")
    assert fragment in err.value.message


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "m", "messages": [{"role": "user", "content": "\xff"}]}',
        b'{"model": "m", "system": [{"type": "text", "text": "\xc3"}], "messages": [{"role": "user"}]}',
    ],
    ids=["utf8-content", "utf8-system"],
)
def test_the_full_decode_for_translation_raises_a_400_too(body: bytes) -> None:
    """Passthrough forwards bytes it does not read; translation reads them all."""
    inc = parse(body, [("x-claude-code-session-id", "s")], "anthropic", "req_1")
    with pytest.raises(BadRequest):
        inc.full()


def test_prompt_for_the_log_is_compact_and_never_holds_a_key_value() -> None:
    body = (
        b'{"model": "m", "system": "use sk-up-12345",\n "messages": [\n  {"role": "user", "content": "key relay-client-key-1"}\n ],'
        b' "tools": []}'
    )
    secrets = Redactor(["sk-up-12345", "relay-client-key-1"])
    anthropic = prompt(parse(body, [], "anthropic", "r"), secrets)
    assert msgspec.json.encode(anthropic) == (
        b'{"system":"use [redacted]","messages":[{"role":"user","content":"key [redacted]"}]}'
    )
    assert list(prompt(parse(body, [], "openai", "r"), secrets)) == ["messages"]


def test_prompt_for_the_log_of_a_forwarded_body_with_bad_utf8_stays_one_line() -> None:
    body = b'{"model": "m", "messages": [\n {"role": "user", "content": "\xff"}\n]}'
    logged = prompt(parse(body, [], "anthropic", "r"), Redactor([]))
    assert bytes(logged["messages"]) == b'[  {"role": "user", "content": "\xff"} ]'


_NAMES = st.sampled_from(
    [
        "anthropic-version",
        "Anthropic-Version",
        "ANTHROPIC-BETA",
        "x-claude-code-session-id",
        "X-Claude-Code-Session-Id",
        "x-api-key",
        "content-type",
        "x-stainless-lang",
    ]
)


@given(st.lists(st.tuples(_NAMES, st.text("abc-2019", min_size=1, max_size=8)), max_size=8))
def test_parsing_takes_the_last_version_and_session_sent_whatever_the_case(
    headers: list[tuple[str, str]],
) -> None:
    """What parsing takes from the headers is what a map of all of them, lower-cased, says:
    the last value of each name, whatever its case."""
    every = {name.lower(): value for name, value in headers}
    body = b'{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}'
    inc = parse(body, headers, "anthropic", "r")
    assert inc.anthropic_version == every.get("anthropic-version", "2023-06-01")
    assert inc.session == every.get("x-claude-code-session-id")
    assert inc.conversation() == conversation_key(inc.top, False, every.get("x-claude-code-session-id"))
    assert all(name == name.lower() for name, _ in inc.forward_headers)
    assert {name for name, _ in inc.forward_headers} <= {
        "content-type",
        "anthropic-version",
        "anthropic-beta",
        "x-claude-code-session-id",
    }


def test_request_ids_are_distinct_across_pool_refills() -> None:
    from runtime.server.incoming import _RandomIds

    ids = _RandomIds()
    made = [ids() for _ in range(3 * 256 + 5)]
    assert len(set(made)) == len(made)
    assert all(len(rid) == 4 + 24 and rid.startswith("req_") for rid in made)
    int(made[0][4:], 16)  # hex


def test_a_forked_process_never_repeats_its_parents_next_ids() -> None:
    import os

    from runtime.server.incoming import new_request_id

    new_request_id()  # the pool is filled, its next ids known to this process
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first ids, to the parent
        os.write(write, " ".join(new_request_id() for _ in range(4)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode().split()
    os.close(read)
    parent = [new_request_id() for _ in range(4)]
    assert len(child) == 4 and not set(child) & set(parent)
