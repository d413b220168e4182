"""A real `relay run` under abuse: idle and trickling connections, bodies over the memory
budget, bad bytes, compressed and malformed bodies. Figures live in
benchmarks/abuse_bench.py; these tests assert correctness and generous bounds."""

from __future__ import annotations

import contextlib
import gzip
import json
import resource
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import BASIC, RelayFactory
from tests.e2e.procs import FakeUpstream, Relay
from tests.e2e.sse import frame

pytestmark = pytest.mark.e2e

CHAT = {"model": "free", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def many_files() -> Iterator[None]:
    """2,200 sockets need more than the common 1,024 open files (relay raises its own)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _port(relay: Relay) -> int:
    return int(relay.url.rsplit(":", 1)[1])


def _closed_by_peer(sock: socket.socket) -> bool:
    """True once relay closed it; an answer that came first (a 408) is read and dropped."""
    try:
        while sock.recv(65536):
            pass
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def _wait_all_closed(socks: list[socket.socket], deadline: float) -> int:
    """How many are still open at `deadline` (every socket is read each round)."""
    open_ = list(socks)
    while open_ and time.monotonic() < deadline:
        open_ = [s for s in open_ if not _closed_by_peer(s)]
        time.sleep(0.2)
    return len(open_)


def test_idle_and_trickling_connections_cannot_stop_traffic(
    fake: FakeUpstream, start_relay: RelayFactory, many_files: None
) -> None:
    defs = BASIC.replace(
        "version: 1\n", "version: 1\nserver:\n  connections: {{header_timeout: 3s, body_timeout: 3s}}\n"
    )
    with start_relay({"r.yaml": defs.format(url=fake.url)}) as relay:
        port, head = (
            _port(relay),
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 999\r\n\r\n{",
        )
        opened = time.monotonic()
        silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(2000)]
        trickling = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
        for sock in [*silent, *trickling]:
            sock.setblocking(False)
        for sock in trickling:
            sock.send(head)
        stop_trickle = threading.Event()

        def trickle() -> None:
            while not stop_trickle.wait(1.0):
                for sock in trickling:
                    with contextlib.suppress(OSError):
                        sock.send(b" ")

        trickler = threading.Thread(target=trickle)
        trickler.start()
        try:
            latencies = []
            with httpx.Client(timeout=10) as client:
                for _ in range(20):
                    t0 = time.monotonic()
                    assert client.post(relay.url + "/v1/chat/completions", json=CHAT).status_code == 200
                    latencies.append(time.monotonic() - t0)
            assert max(latencies) < 2.0, latencies  # generous: ~ms normally, see abuse_bench
            assert _wait_all_closed(silent, opened + 3 + 10) == 0  # header_timeout + slack
            assert _wait_all_closed(trickling, opened + 3 + 10) == 0  # body_timeout + slack
        finally:
            stop_trickle.set()
            trickler.join()
            for sock in [*silent, *trickling]:
                sock.close()


def _slow_stream() -> dict[str, object]:
    head = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "llama-up-a"}
    chunk = {**head, "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]}
    return {"frames": [frame(None, chunk) for _ in range(6)] + ["data: [DONE]\n\n"], "frame_delay": 0.5}


def _padded(body: dict[str, object], size: int) -> bytes:
    raw = json.dumps(body).encode()
    return raw[:-1] + b', "pad": "' + b"x" * (size - len(raw) - 11) + b'"}'


def test_bodies_beyond_the_memory_budget_wait_then_get_a_retryable_answer(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    defs = BASIC.replace(
        "version: 1\n",
        "version: 1\nserver:\n  max_body_bytes: 10000\n  max_body_memory: 3000\n  connections: {{body_timeout: 1s}}\n",
    )
    with start_relay({"r.yaml": defs.format(url=fake.url)}) as relay:
        fake.script(_slow_stream())
        holder = _padded({**CHAT, "stream": True}, 2000)
        headers = {"content-type": "application/json"}
        with httpx.stream(
            "POST", relay.url + "/v1/chat/completions", content=holder, headers=headers
        ) as held:
            parts = held.iter_raw()
            next(parts)  # the 2,000-byte body is held until this stream ends
            t0 = time.monotonic()
            busy = httpx.post(
                relay.url + "/v1/chat/completions", content=_padded(CHAT, 2000), headers=headers
            )
            waited = time.monotonic() - t0
            busy_a = httpx.post(relay.url + "/v1/messages", content=_padded(MESSAGES, 2000), headers=headers)
            assert busy.status_code == 503 and busy_a.status_code == 529, (
                waited,
                busy.text,
                relay.output()[-3000:],
            )
            assert "max_body_memory" in busy.json()["error"]["message"] and busy.headers["retry-after"] == "1"
            assert busy_a.json()["error"]["type"] == "overloaded_error"
            assert 0.9 < waited < 5
            assert b"data: [DONE]" in b"".join(parts)  # the holder streamed to the end meanwhile
        too_big = httpx.post(relay.url + "/v1/chat/completions", content=_padded(CHAT, 3500), headers=headers)
        assert too_big.status_code == 413 and "max_body_memory" in too_big.json()["error"]["message"]
        after = httpx.post(relay.url + "/v1/chat/completions", content=_padded(CHAT, 2000), headers=headers)
        assert after.status_code == 200  # the held bytes were given back


DEEP = b"[" * 3000 + b"]" * 3000


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        (
            "/v1/messages",
            b'{"model": "claude-x", "max_tokens": 5, "messages": ' + DEEP + b"}",
            "nested too deeply",
        ),
        ("/v1/chat/completions", b'{"model": "free", "messages": ' + DEEP + b"}", "nested too deeply"),
        ("/v1/messages", b'{"model": "claude-\xff", "max_tokens": 5, "messages": []}', "UTF-8"),
        ("/v1/chat/completions", b'{"model": "fr\xc3ee", "messages": []}', "UTF-8"),
        # translated (Anthropic client to an OpenAI upstream and back): every string is decoded
        (
            "/v1/messages",
            b'{"model": "free", "max_tokens": 5, "messages": [{"role": "user", "content": "\xff"}]}',
            "UTF-8",
        ),
        (
            "/v1/chat/completions",
            b'{"model": "claude-x", "messages": [{"role": "user", "content": "\xff"}]}',
            "UTF-8",
        ),
    ],
    ids=[
        "deep-anthropic",
        "deep-openai",
        "utf8-model-anthropic",
        "utf8-model-openai",
        "utf8-translated-a2o",
        "utf8-translated-o2a",
    ],
)
def test_bad_bytes_are_400s_in_the_callers_format(
    basic_relay: Relay, path: str, body: bytes, fragment: str
) -> None:
    resp = httpx.post(basic_relay.url + path, content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400
    payload = resp.json()
    if path == "/v1/messages":
        assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"
    else:
        assert payload["error"]["type"] == "invalid_request_error"
    assert fragment in json.dumps(payload)


def test_a_gzip_body_is_decoded_before_it_goes_upstream(basic_relay: Relay, fake: FakeUpstream) -> None:
    fake.script({})
    resp = httpx.post(
        basic_relay.url + "/v1/chat/completions",
        content=gzip.compress(json.dumps(CHAT).encode()),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert resp.status_code == 200
    sent = fake.requests()[-1]
    assert sent["body"]["messages"] == CHAT["messages"] and "content-encoding" not in {
        k.lower() for k in sent["headers"]
    }


@pytest.mark.parametrize(
    ("encoding", "body", "status", "fragment"),
    [
        ("gzip", gzip.compress(b"\0" * (40 * 1024 * 1024)), 413, "decompresses to more than"),
        ("gzip", gzip.compress(json.dumps(CHAT).encode())[:-12], 400, "truncated gzip"),
        ("gzip", b"not gzip at all", 400, "not valid gzip"),
        ("br", b"\x0b\x02\x80{}\x03", 415, "Content-Encoding 'br' is not supported"),
    ],
    ids=["zip-bomb", "truncated", "garbage", "brotli"],
)
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions"])
def test_compressed_bodies_relay_cannot_use(
    basic_relay: Relay, path: str, encoding: str, body: bytes, status: int, fragment: str
) -> None:
    headers = {"content-type": "application/json", "content-encoding": encoding}
    resp = httpx.post(basic_relay.url + path, content=body, headers=headers)
    assert resp.status_code == status
    payload = resp.json()
    assert (payload.get("type") == "error") == (path == "/v1/messages")
    assert fragment in json.dumps(payload)


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions"])
def test_a_malformed_chunked_body_is_named_as_such(basic_relay: Relay, path: str) -> None:
    raw = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        'Connection: close\r\n\r\n5\r\n{"model": "free"}\r\n0\r\n\r\n'
    ).encode()
    with socket.create_connection(("127.0.0.1", _port(basic_relay)), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"malformed" in body and b"truncated" not in body


def test_a_body_shorter_than_its_content_length_is_named_as_such(basic_relay: Relay) -> None:
    raw = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 500\r\n\r\n" + json.dumps(CHAT).encode()
    )
    with socket.create_connection(("127.0.0.1", _port(basic_relay)), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"malformed" in body
