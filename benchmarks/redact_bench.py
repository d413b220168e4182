"""Cost of redacting relay's secrets from what it passes on, in µs per call.

Usage: python -m benchmarks.redact_bench [--keys K]

Redaction runs on upstream error bodies (up to 64 KiB), attempt details (300 bytes) and
stream error events, never on ordinary stream chunks; K secrets each appear in their four
forms (as is, JSON-escaped twice, percent-encoded) in one compiled pattern.
"""

from __future__ import annotations

import argparse
import time

from runtime.server.redact import Redactor


def per_call(action: object, repeat: int) -> float:
    assert callable(action)
    start = time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.perf_counter() - start) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=20)
    args = parser.parse_args()
    secrets = [f"sk-live-{i:04d}-0123456789abcdefghij/+=" for i in range(args.keys)]
    redactor = Redactor(secrets)
    body = b'{"error": {"type": "invalid_request_error", "message": "' + b"x" * 64_000 + b'"}}'
    detail = body[:300].decode()
    echoed = body.replace(b"x" * 40, secrets[-1].encode(), 1)
    print(f"{args.keys} secrets")
    print(f"  300-byte detail, no secret      {per_call(lambda: redactor.text(detail), 20000):8.1f} µs")
    print(f"  64 KiB error body, no secret    {per_call(lambda: redactor.data(body), 500):8.1f} µs")
    print(f"  64 KiB error body, one secret   {per_call(lambda: redactor.data(echoed), 500):8.1f} µs")
    empty = Redactor(())
    print(f"  a build without secrets         {per_call(lambda: empty.data(body), 20000):8.1f} µs")


if __name__ == "__main__":
    main()
