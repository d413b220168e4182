"""What keeping thinking in its account costs per request, in µs (`runtime.server.bridge`).

Usage: python -m benchmarks.thinking_bench [--blocks N] [--rounds R]

A Claude Code-shaped body (system prompt, 24 tools) whose history holds N tool-use turns,
each led by a thinking block with a 400-character signature and followed by a 3 kB tool
result (N=40: about 200 kB). Cases, each the body step of one Anthropic passthrough:

- `one producer`: every known signature is the target's own (one account and model): the
  search for relay-made signatures relay always made.
- `two producers, stays`: another producer is known but the request stays with the one
  that made its thinking: every signature is looked up.
- `moved`: the request goes to another account: decoded, N blocks dropped, re-encoded.

Rounds alternate the cases; each prints the min and median of its rounds' per-call minimum.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import timeit
from collections.abc import Callable

from runtime.artifact import Provider, Step
from runtime.routing.thinking_owners import ThinkingOwners
from runtime.server import bridge, incoming
from tests.e2e.claude_code import claude_code_body

A, B = ("team-a", "claude-opus-4-8"), ("team-b", "claude-opus-4-8")


def _body(blocks: int) -> tuple[bytes, list[str]]:
    signatures = [base64.b64encode(os.urandom(300)).decode() for _ in range(blocks)]
    messages: list[dict[str, object]] = [{"role": "user", "content": "start"}]
    for i, signature in enumerate(signatures):
        thought = {"type": "thinking", "thinking": "x" * 400, "signature": signature}
        call = {"type": "tool_use", "id": f"t{i}", "name": "Bash", "input": {"command": "ls"}}
        result = {"type": "tool_result", "tool_use_id": f"t{i}", "content": "y" * 3000}
        messages += [{"role": "assistant", "content": [thought, call]}, {"role": "user", "content": [result]}]
    return json.dumps(claude_code_body(messages=messages)).encode(), signatures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    body, signatures = _body(args.blocks)
    inc = incoming.parse(body, [], "anthropic", "bench", "")
    step = Step(provider="anthropic", model="claude-opus-4-8")
    provider = Provider(
        name="anthropic",
        api="anthropic",
        base_url="http://127.0.0.1:9",
        module="anthropic",
        rate_limit_family="anthropic",
    )

    def send(target: tuple[str, str], known: ThinkingOwners) -> Callable[[], object]:
        return lambda: bridge.request_body(
            inc, step, provider, "anthropic", lambda: bridge.Thinking(target, known, 1.0)
        )

    one, two = ThinkingOwners(), ThinkingOwners()
    one.learn(signatures, A, 0.0)
    two.learn(signatures, A, 0.0)
    two.learn(["another"], B, 0.0)
    cases = {"one producer": send(A, one), "two producers, stays": send(A, two), "moved": send(B, two)}
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, case in cases.items():
            results[name].append(min(timeit.repeat(case, number=20, repeat=5)) / 20 * 1e6)
    print(f"{len(body) // 1024} kB body, {args.blocks} thinking blocks, {args.rounds} rounds, µs per request")
    for name, times in results.items():
        print(f"  {name}: min {min(times):.0f}, median {statistics.median(times):.0f}")


if __name__ == "__main__":
    main()
