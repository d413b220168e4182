"""Micro-benchmark of the cloud transports' own work against the budget of issue 13.

Budget: signing (and reshaping) ≤ 100 µs per request, event-stream decoding ≤ 5 µs per
streamed event. Credentials are never fetched on the request path (they are held by a
background refresher), so they are not part of any figure.

    python benchmarks/cloud_bench.py [--quick]

Requests: the Claude Code-sized golden request (15 tools, system prompt, thinking, tool
results; ~29 KB) with Claude Code's headers and betas, and a small one. "bedrock" is the whole
per-request work of the Bedrock transport: body reshaped (model and stream out,
anthropic_version and filtered betas in) and SigV4-signed; botocore's own signer on the same
request is shown for comparison. Streams: a realistic Bedrock answer (message_start, 200
text deltas, tool-argument fragments, message_delta, message_stop with invocation metrics) as
real event-stream messages, fed one message per read and, separately, in 16 KiB reads.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

from benchmarks.translate_bench import best_us  # noqa: E402
from runtime.upstream.cloud import azure_wire, bedrock_wire, vertex_wire  # noqa: E402
from runtime.upstream.cloud.bedrock import amz_date  # noqa: E402
from runtime.upstream.cloud.eventstream import encode  # noqa: E402
from runtime.upstream.cloud.sigv4 import AwsCredentials, sign  # noqa: E402

GOLDEN = ROOT / "tests" / "translate" / "golden" / "request_a2o" / "claude_code.in.json"
BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com/model/{model}/invoke"
VERTEX = "https://us-east5-aiplatform.googleapis.com/v1/projects/p-1/locations/us-east5/publishers/anthropic/models/{model}:rawPredict"
HEADERS = [
    ("content-type", "application/json"),
    ("anthropic-version", "2023-06-01"),
    (
        "anthropic-beta",
        "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
    ),
    ("x-claude-code-session-id", "6c1f4f7e-3b1e-4f5e-9f8a-2d9c0b8e7a11"),
]
CREDS = AwsCredentials(
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-" + "x" * 300
)


def bodies() -> dict[str, bytes]:
    case = json.loads(GOLDEN.read_text())["body"]
    case = {**case, "model": "us.anthropic.claude-sonnet-4-6-20250929-v1:0", "stream": True}
    small = {
        "model": case["model"],
        "max_tokens": 1024,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    return {"claude-code": json.dumps(case).encode(), "small": json.dumps(small).encode()}


def bedrock_request(body: bytes) -> list[tuple[str, str]]:
    call = bedrock_wire.call(BEDROCK, HEADERS, body)
    return sign(CREDS, "us-east-1", "bedrock", call.url, call.headers, call.body, amz_date(time.time()))


def botocore_request(body: bytes) -> None:
    call = bedrock_wire.call(BEDROCK, HEADERS, body)
    request = AWSRequest("POST", call.url, data=call.body, headers=dict(call.headers))
    SigV4Auth(Credentials(*CREDS), "bedrock", "us-east-1").add_auth(request)


def stream_messages() -> list[bytes]:
    def chunk(event: dict[str, Any]) -> bytes:
        payload = json.dumps(
            {"bytes": base64.b64encode(json.dumps(event).encode()).decode(), "p": "abcdefghij"}
        )
        headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
        return encode(headers, payload.encode())

    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_bdrk_01",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-6-20250929",
                "content": [],
                "stop_reason": None,
                "usage": {"input_tokens": 12000, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": f"word{i} and more "},
        }
        for i in range(200)
    ]
    events += [{"type": "content_block_stop", "index": 0}]
    events += [
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"pa'},
        }
        for _ in range(40)
    ]
    events += [
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 420}},
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": 12000,
                "outputTokenCount": 420,
                "invocationLatency": 5120,
                "firstByteLatency": 310,
            },
        },
    ]
    return [chunk(e) for e in events]


def per_event(reads: list[bytes], events: int, rounds: int) -> float:
    def one_stream() -> None:
        reframer = bedrock_wire.StreamReframer()
        for read in reads:
            reframer.feed(read)

    return best_us(one_stream, rounds, 1) / events


def main() -> None:
    quick = "--quick" in sys.argv
    rounds, per = (3, 100) if quick else (7, 500)
    print("cloud transports, per request (µs, best of rounds)")
    for name, body in bodies().items():
        bedrock = best_us(lambda b=body: bedrock_request(b), rounds, per)
        boto = best_us(lambda b=body: botocore_request(b), rounds, per // 5)
        vertex = best_us(lambda b=body: vertex_wire.call(VERTEX, HEADERS, b), rounds, per)
        azure = best_us(
            lambda b=body: azure_wire.foundry_call("https://r/anthropic/v1/messages", HEADERS, b, {}),
            rounds,
            per,
        )
        print(
            f"  {name:12s} {len(body):6d} B  bedrock reshape+SigV4 {bedrock:6.1f}   "
            f"(with botocore's signer {boto:6.1f})   vertex {vertex:5.1f}   azure foundry {azure:5.1f}"
        )
    messages = stream_messages()
    whole = b"".join(messages)
    one = per_event(messages, len(messages), rounds * 3)
    big = per_event([whole[i : i + 16384] for i in range(0, len(whole), 16384)], len(messages), rounds * 3)
    print(f"bedrock event stream -> Anthropic SSE, per event ({len(messages)} events, {len(whole)} B)")
    print(f"  one message per read {one:5.2f} µs   16 KiB reads {big:5.2f} µs   (budget 5 µs)")


if __name__ == "__main__":
    main()
