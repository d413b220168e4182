"""Passthrough streams: bytes unchanged except `model`, whatever the chunking; ends tracked."""

from __future__ import annotations

import itertools
import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.errors import BadGateway, ClientFormat
from runtime.upstream.passthrough import _MODEL, PassthroughStream
from runtime.upstream.stream_watch import FRAME_END, Malformed, clean_frame, last_frame_end


def _frame(name: str | None, payload: object) -> bytes:
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(payload)}\n\n".encode()


ANTHROPIC = b"".join(
    [
        _frame(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "m",
                    "model": "claude-up",
                    "content": [],
                    "usage": {"input_tokens": 7, "output_tokens": 1},
                },
            },
        ),
        _frame(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        _frame(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": 'say "model": "x"\n\nevent: message_stop'},
            },
        ),
        _frame("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _frame(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}},
        ),
        _frame("message_stop", {"type": "message_stop"}),
    ]
)
OPENAI = b"".join(
    [
        _frame(
            None, {"id": "c", "model": "llama-up", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}
        ),
        _frame(None, {"id": "c", "model": "llama-up", "choices": [{"index": 0, "delta": {"content": "hi"}}]}),
        _frame(
            None,
            {
                "id": "c",
                "model": "llama-up",
                "choices": [],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            },
        ),
        b"data: [DONE]\n\n",
    ]
)


def _run(stream: PassthroughStream, data: bytes, cuts: list[int]) -> bytes:
    out = stream.start()
    last = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        out += stream.feed(data[last:cut])
        last = cut
    return out + stream.finish()


def test_same_model_is_byte_identical() -> None:
    stream = PassthroughStream("anthropic", "claude-up", "claude-up")
    assert _run(stream, ANTHROPIC, []) == ANTHROPIC
    assert stream.done and not stream.errored
    assert stream.usage == {
        "input": 7,
        "output": 5,
        "cached": 0,
        "total": 12,
        "cache_read": 0,
        "cache_write": 0,
    }


def test_anthropic_rewrites_model_only_in_message_start() -> None:
    out = _run(PassthroughStream("anthropic", "claude-*chain", "claude-up"), ANTHROPIC, [])
    assert out == ANTHROPIC.replace(b'"model": "claude-up"', b'"model": "claude-*chain"', 1)


def test_openai_rewrites_model_in_every_chunk() -> None:
    stream = PassthroughStream("openai", "free", "llama-up")
    out = _run(stream, OPENAI, [])
    assert out == OPENAI.replace(b'"model": "llama-up"', b'"model": "free"')
    assert stream.usage is not None and stream.usage["total"] == 5


@given(st.text(min_size=1, max_size=40).filter(lambda name: name != "llama-up"))
def test_any_client_model_name_reads_back_from_every_chunk(name: str) -> None:
    """Quotes, backslashes, control characters, any script: the rewritten field is that name,
    JSON-escaped, and nothing else in the chunk changed."""
    out = _run(PassthroughStream("openai", name, "llama-up"), OPENAI, [])
    assert out == OPENAI.replace(b'"model": "llama-up"', b'"model": ' + msgspec.json.encode(name))
    for frame in out.split(b"\n\n"):
        if frame.startswith(b"data: {"):
            assert json.loads(frame[6:])["model"] == name


@given(st.lists(st.integers(min_value=0, max_value=len(ANTHROPIC)), max_size=40))
def test_any_chunking_gives_the_same_bytes_anthropic(cuts: list[int]) -> None:
    whole = _run(PassthroughStream("anthropic", "chain", "claude-up"), ANTHROPIC, [])
    assert _run(PassthroughStream("anthropic", "chain", "claude-up"), ANTHROPIC, cuts) == whole


@given(st.lists(st.integers(min_value=0, max_value=len(OPENAI)), max_size=40))
def test_any_chunking_gives_the_same_bytes_openai(cuts: list[int]) -> None:
    whole = _run(PassthroughStream("openai", "free", "llama-up"), OPENAI, [])
    assert _run(PassthroughStream("openai", "free", "llama-up"), OPENAI, cuts) == whole


@given(st.integers(min_value=0, max_value=len(ANTHROPIC) - 1))
def test_truncated_stream_ends_with_an_error_event(cut: int) -> None:
    stream = PassthroughStream("anthropic", "chain", "claude-up")
    out = _run(stream, ANTHROPIC[:cut], [])
    assert out.endswith(b"\n\n") and b"event: error\n" in out
    assert b"\nevent: message_stop" not in b"\n" + out


def test_truncated_openai_stream_ends_with_error_chunk_and_no_done() -> None:
    stream = PassthroughStream("openai", "free", "llama-up")
    out = _run(stream, OPENAI[: OPENAI.index(b"data: [DONE]")], [])
    assert out.rstrip().endswith(b"}}") and b'data: {"error"' in out and b"[DONE]" not in out


def test_openai_stream_with_a_finish_reason_and_a_clean_end_is_complete_without_done() -> None:
    """Issue 18: every chunk, `finish_reason: stop`, the usage chunk, a clean end of the body,
    but no `data: [DONE]`: the SDKs accept it going direct, so relay does too (it was given
    an error chunk and counted against the provider)."""
    finish = _frame(
        None,
        {"id": "c", "model": "llama-up", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    )
    body = OPENAI[: OPENAI.index(b"data: [DONE]")]
    usage_at = body.index(b'data: {"id": "c", "model": "llama-up", "choices": []')
    stream = PassthroughStream("openai", "free", "llama-up")
    out = _run(stream, body[:usage_at] + finish + body[usage_at:], [])
    assert out.endswith(b"data: [DONE]\n\n") and b'"error"' not in out
    assert stream.done and not stream.errored and stream.usage is not None


def test_upstream_error_event_marks_the_stream_errored() -> None:
    stream = PassthroughStream("anthropic", "c", "c")
    out = stream.feed(
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"x"}}\n\n'
    )
    assert stream.done and stream.errored and out.startswith(b"event: error")


def test_crlf_framing_is_kept() -> None:
    data = b'data: {"model": "up", "choices": []}\r\n\r\ndata: [DONE]\r\n\r\n'
    stream = PassthroughStream("openai", "free", "up")
    assert _run(stream, data, [5, 40]) == data.replace(b'"up"', b'"free"')
    assert stream.done


def test_garbage_frame_becomes_an_error_event_after_the_good_frames() -> None:
    good = _frame("message_start", {"type": "message_start", "message": {"model": "m", "usage": {}}})
    stream = PassthroughStream("anthropic", "m", "m")
    out = stream.feed(good + b"event: content_block_delta\ndata: {not json\n\n" + good)
    assert out.startswith(good) and out.count(b"event: message_start") == 1
    assert out.endswith(b"\n\n") and b"event: error\n" in out and stream.errored
    assert stream.feed(good) == b""


GARBAGE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n:"),
    min_size=1,
    max_size=20,
).filter(lambda s: not s.startswith(("data", "event", "id", "retry")))


@given(st.integers(min_value=0, max_value=ANTHROPIC.count(b"\n\n")), GARBAGE, st.lists(st.integers(0, 4000)))
def test_garbage_lines_are_dropped_whatever_the_chunking(at: int, junk: str, cuts: list[int]) -> None:
    """A line of no SSE field never reaches the client; the stream is otherwise unchanged."""
    frames = ANTHROPIC.split(b"\n\n")[:-1]
    frames.insert(at, junk.encode())
    data = b"".join(f + b"\n\n" for f in frames)
    stream = PassthroughStream("anthropic", "claude-up", "claude-up")
    assert _run(stream, data, [c % (len(data) + 1) for c in cuts]) == ANTHROPIC
    assert stream.done and not stream.errored


@pytest.mark.parametrize(
    ("fmt", "data", "content"),
    [
        ("anthropic", ANTHROPIC.split(b"\n\n")[0] + b"\n\n", False),
        ("anthropic", b'event: ping\ndata: {"type": "ping"}\n\n', False),
        ("anthropic", b"".join(f + b"\n\n" for f in ANTHROPIC.split(b"\n\n")[:2]), True),
        ("openai", OPENAI.split(b"\n\n")[0] + b"\n\n", False),
        ("openai", b"".join(f + b"\n\n" for f in OPENAI.split(b"\n\n")[:2]), True),
        ("openai", b"data: [DONE]\n\n", True),
    ],
)
def test_content_begins_with_the_first_real_content(fmt: ClientFormat, data: bytes, content: bool) -> None:
    stream = PassthroughStream(fmt, "m", "m")
    stream.feed(data)
    assert stream.watch.content is content


def test_an_error_before_content_is_reported_with_its_type() -> None:
    stream = PassthroughStream("openai", "m", "m")
    stream.feed(OPENAI.split(b"\n\n")[0] + b'\n\ndata: {"error": {"message": "busy", "code": 503}}\n\n')
    assert not stream.watch.content and stream.done
    assert stream.watch.error == {"message": "busy", "code": 503} and stream.watch.error_status == 503


def test_frames_after_the_end_are_not_passed_on() -> None:
    stream = PassthroughStream("anthropic", "claude-up", "claude-up")
    assert stream.feed(ANTHROPIC + b'event: ping\ndata: {"type": "ping"}\n\n') == ANTHROPIC


def test_keepalive_frames_in_each_format() -> None:
    assert PassthroughStream("anthropic", "m", "m").keepalive() == b'event: ping\ndata: {"type":"ping"}\n\n'
    assert PassthroughStream("openai", "m", "m").keepalive() == b": keep-alive\n\n"


THINKING = [
    _frame(
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
    ),
    _frame(
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
    ),
    _frame(
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "EqQBsig1"},
        },
    ),
    _frame(
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "redacted_thinking", "data": "EmwKred"},
        },
    ),
    _frame(
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "text", "text": "", "data": "no"},
        },
    ),
]


@given(cuts=st.lists(st.integers(min_value=0, max_value=len(b"".join(THINKING))), max_size=6))
def test_the_stream_s_thinking_signatures_are_collected_whatever_the_chunking(cuts: list[int]) -> None:
    """Who made them is remembered from these (`runtime.routing.thinking_owners`); the bytes pass unchanged."""
    data = b"".join(THINKING)
    stream = PassthroughStream("anthropic", "claude-up", "claude-up")
    edges = [0, *sorted(cuts), len(data)]
    out = b"".join(stream.feed(data[a:b]) for a, b in itertools.pairwise(edges))
    assert out == data
    assert stream.watch.signatures == ["EqQBsig1", "EmwKred"]


class _ReferenceStream(PassthroughStream):
    """The frame cutting as it was before line-feed streams were split with `bytes.split`:
    every frame end found by the general terminator scan, the frames always walked from the
    bytes. The model the new cutting must match, whatever the stream and its chunking."""

    def feed(self, chunk: bytes) -> bytes:
        if self.done:
            return b""
        self._buf += chunk
        end = last_frame_end(self._buf)
        if not end:
            return b""
        frames, self._buf = self._buf[:end], self._buf[end:]
        kept: list[bytes] = []
        start = 0
        changed = malformed = False
        for match in FRAME_END.finditer(frames):
            frame = frames[start : match.start()]
            try:
                garbage = self.watch.take(frame)
            except Malformed:
                changed = malformed = True
                break
            if garbage:
                changed = True
                frame = clean_frame(frame)
            if frame:
                kept.append(frame + b"\n\n")
            start = match.end()
            if self.watch.done:
                changed = changed or start < len(frames)
                break
        out = b"".join(kept) if changed else frames
        tail = self.fail(BadGateway("upstream sent a malformed stream event")) if malformed else b""
        if self._rewrite and out:
            out = _MODEL.sub(self._replacement, out, count=1 if self._rewrite_once else 0)
            self._rewrite = not self._rewrite_once
        return out + tail


_PIECES = st.sampled_from(
    [
        *(f + b"\n\n" for f in ANTHROPIC.split(b"\n\n")[:-1]),
        *(f + b"\n\n" for f in OPENAI.split(b"\n\n")[:-1]),
        b"\n\n",
        b"\n",
        b": keep-alive\n\n",
        b"junk line\n",
        b"data: not json\n\n",
        b"data: [1]\n\n",
        b'data: {"error": {"type": "overloaded_error", "message": "busy"}}\n\n',
        b'event: ping\r\ndata: {"type": "ping"}\r\n\r\n',
        b"\r\r",
    ]
)


@pytest.mark.parametrize("fmt", ["anthropic", "openai"])
@given(pieces=st.lists(_PIECES, max_size=12), cuts=st.lists(st.integers(0, 3000), max_size=8))
def test_frames_cut_as_the_general_scan_cuts_them(
    fmt: ClientFormat, pieces: list[bytes], cuts: list[int]
) -> None:
    """Any mix of events, blank lines, garbage, malformed data and CR framing, any chunking:
    the same bytes out, the same end, error and usage as the general scan gives."""
    data = b"".join(pieces)
    cuts = [c % (len(data) + 1) for c in cuts]
    model = "claude-up" if fmt == "anthropic" else "llama-up"
    new, old = PassthroughStream(fmt, "chain", model), _ReferenceStream(fmt, "chain", model)
    assert _run(new, data, cuts) == _run(old, data, cuts)
    assert (new.done, new.errored, new.usage, new.watch.error) == (
        old.done,
        old.errored,
        old.usage,
        old.watch.error,
    )
