"""Cost of the browser checks (`runtime.server.browser`) per request, in µs per call.

Usage: python -m benchmarks.browser_bench [--repeat N]

Every request passes `Guard.screen` (Host, Origin, Sec-Fetch-Site) and every POST
`require_json`. Headers are a dict here; Granian's `RSGIHeaders.get` (a Rust lookup that
returns a new str) costs a little more per read, and a request does two to four reads.
Compared with the bare header reads the checks make, so the figure is the checks' own cost.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from runtime.artifact import Cors, Server
from runtime.errors import Forbidden
from runtime.server.browser import Guard, require_json

SDK = {
    "host": "127.0.0.1:8787",
    "content-type": "application/json",
    "content-length": "1234",
    "x-api-key": "k",
    "anthropic-version": "2023-06-01",
    "x-stainless-lang": "python",
}
DASHBOARD = {**SDK, "origin": "http://127.0.0.1:8787", "sec-fetch-site": "same-origin"}
ALLOWED = {**SDK, "host": "relay.example.com", "origin": "https://chat.example.com"}
FOREIGN = {**SDK, "origin": "http://evil.example"}


def per_call(action: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.perf_counter() - start) / repeat * 1e6


def refused(guard: Guard, headers: dict[str, str]) -> None:
    try:
        guard.screen(headers, "/v1/messages")
    except Forbidden:
        return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200_000)
    args = parser.parse_args()
    n = args.repeat
    guard = Guard(
        Server(
            hosts=("relay.example.com", "*.relay.internal"), cors=Cors(origins=("https://chat.example.com",))
        )
    )

    def bare() -> None:
        SDK.get("host"), SDK.get("origin"), SDK.get("sec-fetch-site"), SDK.get("content-type")

    def sdk() -> None:
        guard.screen(SDK, "/v1/messages")
        require_json(SDK)

    rows = [
        ("the header reads alone (baseline)", bare),
        ("SDK POST: screen + require_json", sdk),
        ("dashboard, same origin", lambda: guard.screen(DASHBOARD, "/admin/state")),
        ("allowed CORS origin", lambda: guard.screen(ALLOWED, "/v1/messages")),
        ("refused origin (raises)", lambda: refused(guard, FOREIGN)),
    ]
    rounds = [[per_call(action, n) for _, action in rows] for _ in range(5)]  # alternated rounds
    for i, (name, _) in enumerate(rows):
        times = sorted(r[i] for r in rounds)
        print(f"  {name:36} median {times[2]:6.3f} µs  (min {times[0]:.3f}, max {times[-1]:.3f})")


if __name__ == "__main__":
    main()
