"""The pure cloud codecs against botocore: event-stream framing both ways, SigV4 signatures."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.upstream.cloud.bedrock_wire import StreamReframer
from runtime.upstream.cloud.eventstream import Decoder, FrameError, encode
from runtime.upstream.cloud.sigv4 import AwsCredentials, sign

names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=20).filter(
    lambda n: len(n.encode()) < 256
)
values = st.one_of(
    st.booleans(),
    st.integers(-(2**31), 2**31 - 1),
    st.binary(max_size=50),
    st.text(max_size=50),
)
headers_st = st.dictionaries(names, values, max_size=5)


@settings(max_examples=200, deadline=None)
@given(headers=headers_st, payload=st.binary(max_size=300))
def test_encoder_output_is_what_botocore_decodes(headers: dict[str, object], payload: bytes) -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(encode(headers, payload))  # type: ignore[arg-type]
    (message,) = list(buffer)
    assert message.headers == headers and message.payload == payload


@settings(max_examples=200, deadline=None)
@given(
    messages=st.lists(st.tuples(headers_st, st.binary(max_size=200)), min_size=1, max_size=5),
    cuts=st.lists(st.integers(0, 2000), max_size=6),
)
def test_decoder_reads_messages_split_anywhere(
    messages: list[tuple[dict[str, object], bytes]], cuts: list[int]
) -> None:
    data = b"".join(encode(h, p) for h, p in messages)  # type: ignore[arg-type]
    decoder = Decoder()
    got = []
    start = 0
    for cut in [*sorted({min(c, len(data)) for c in cuts}), len(data)]:
        got += decoder.feed(data[start:cut])
        start = cut
    assert [(dict(m.headers), m.payload) for m in got] == messages
    assert decoder.pending == 0


@pytest.mark.parametrize("where", [2, 9, 20, -2])
def test_a_flipped_byte_is_a_frame_error(where: int) -> None:
    data = bytearray(encode({":message-type": "event"}, b'{"bytes":"e30="}'))
    data[where] ^= 0x01
    with pytest.raises(FrameError):
        Decoder().feed(bytes(data))


def test_an_impossible_length_is_a_frame_error_not_a_wait() -> None:
    prelude = (10**9).to_bytes(4, "big") + (0).to_bytes(4, "big")
    with pytest.raises(FrameError, match="impossible"):
        Decoder().feed(prelude + zlib.crc32(prelude).to_bytes(4, "big") + b"\0" * 8)


def _chunk(event: dict[str, object]) -> bytes:
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode(), "p": "ab"})
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    return encode(headers, payload.encode())


def test_reframer_gives_anthropic_sse_and_maps_exceptions() -> None:
    reframer = StreamReframer()
    start = {"type": "message_start", "message": {"id": "m"}}
    data = _chunk(start) + encode(
        {":message-type": "exception", ":exception-type": "throttlingException"}, b'{"message":"slow down"}'
    )
    out = reframer.feed(data[:7]) + reframer.feed(data[7:])
    first, second, _ = out.split(b"\n\n")
    assert first == b"event: message_start\ndata: " + json.dumps(start).encode()
    assert second.startswith(b"event: error\ndata: ")
    error = json.loads(second.split(b"data: ", 1)[1])["error"]
    assert error == {"type": "rate_limit_error", "message": "ThrottlingException: slow down"}


def test_reframer_ends_a_broken_stream_with_one_error_event() -> None:
    reframer = StreamReframer()
    bad = bytearray(_chunk({"type": "ping"}))
    bad[-1] ^= 0xFF
    out = reframer.feed(bytes(bad)) + reframer.feed(_chunk({"type": "ping"}))
    assert out.count(b"event: error") == 1 and b"malformed event stream" in out and reframer.broken


path_segments = st.text(st.characters(codec="ascii", exclude_characters="?#"), min_size=1, max_size=12)
header_values = st.text(st.characters(codec="ascii", min_codepoint=32, max_codepoint=126), max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    model=path_segments,
    query=st.lists(
        st.tuples(
            st.from_regex(r"[a-z]{1,5}", fullmatch=True), st.from_regex(r"[a-z0-9]{0,5}", fullmatch=True)
        ),
        max_size=3,
    ),
    extra=st.dictionaries(st.from_regex(r"x-[a-z]{1,8}", fullmatch=True), header_values, max_size=3),
    body=st.binary(max_size=200),
    token=st.one_of(
        st.none(),
        st.text(st.characters(codec="ascii", min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
    ),
    https=st.booleans(),
)
def test_sigv4_matches_botocore(
    model: str,
    query: list[tuple[str, str]],
    extra: dict[str, str],
    body: bytes,
    token: str | None,
    https: bool,
) -> None:
    from urllib.parse import quote

    creds = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    scheme_host = "https://bedrock-runtime.eu-west-1.amazonaws.com" if https else "http://127.0.0.1:8080"
    url = f"{scheme_host}/model/{quote(model, safe=':')}/invoke"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query)
    headers = [("content-type", "application/json"), *extra.items()]
    added = sign(creds, "eu-west-1", "bedrock", url, headers, body, "20260102T030405Z")
    sent = dict(headers) | dict(added)
    request = AWSRequest(
        "POST", url, data=body, headers={k: v for k, v in sent.items() if k != "authorization"}
    )
    request.context["timestamp"] = "20260102T030405Z"
    botocore_signer = SigV4Auth(
        Credentials(creds.access_key, creds.secret_key, token), "bedrock", "eu-west-1"
    )
    string_to_sign = botocore_signer.string_to_sign(request, botocore_signer.canonical_request(request))
    assert sent["authorization"].endswith("Signature=" + botocore_signer.signature(string_to_sign, request))
