"""Routing-rule evaluation cost per request, in µs: `RuleTable.first` over ten rules.

Usage: python benchmarks/rules_bench.py [--requests N] [--rounds R]

The table is ten rules of every kind (model globs, tokens, stream, client key, headers, tool
types, thinking, images). Requests are Claude Code-shaped (80 kB: system prompt, 24 tools):

- `main turn`: no rule matches until the thinking rule, the ninth (the common case).
- `no match`: all ten tried, none fires, so every body fact (thinking, tools, images) is
  worked out: the worst case.
- `haiku`: the first rule fires on the model name.

Each timed call builds the request's facts and asks the table, as the request path does;
the one full body decode (`images` asks for it) is done before timing, since the request
path makes it anyway for its capability check. Rounds alternate the cases; the spread of
the per-round medians is printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import msgspec

from runtime.artifact import Rule
from runtime.rules import Facts, RuleTable

GLOB = r"^(?s:claude\-haiku\-.*)\Z"
RULES = (
    Rule(name="background", chain="cheap", models=(GLOB,)),
    Rule(name="team", chain="team", client_keys=("TEAM_KEY",)),
    Rule(name="agent", chain="agent", headers=(("x-agent", r"^(?s:reviewer\-.*)\Z"),)),
    Rule(name="long", chain="long", above=150_000),
    Rule(name="tiny", chain="tiny", below=50),
    Rule(name="batch", chain="batch", stream=False, tools=False),
    Rule(name="web", chain="search", tool_types=("web_search",)),
    Rule(name="vision", chain="vision", images=True, stream=True, models=(r"^(?s:claude\-.*)\Z",)),
    Rule(name="thinking", chain="reasoning", thinking=True, above=0),
    Rule(name="last", chain="other", models=(r"^(?s:gpt\-.*)\Z",)),
)
_top = msgspec.json.Decoder(dict[str, msgspec.Raw])
_any = msgspec.json.Decoder()


def body(model: str, thinking: bool) -> bytes:
    tool = {"name": "Tool", "description": "d" * 1500, "input_schema": {"type": "object"}}
    data: dict[str, Any] = {
        "model": model,
        "max_tokens": 64000,
        "stream": True,
        "system": [{"type": "text", "text": "You are Claude Code. " * 1500}],
        "tools": [tool] * 24,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "fix the test"}]}],
    }
    if thinking:
        data["thinking"] = {"type": "adaptive"}
    return msgspec.json.encode(data)


def run(raw: bytes, table: RuleTable, n: int) -> tuple[float, str | None]:
    top = _top.decode(raw)
    full = _any.decode(raw)
    model = _any.decode(top["model"])
    headers = {"x-claude-code-session-id": "s1", "anthropic-version": "2023-06-01"}
    picked = None
    start = time.perf_counter()
    for _ in range(n):
        facts = Facts(
            fmt="anthropic",
            model=model,
            tokens=len(raw) // 4,
            stream=True,
            top=top,
            full=lambda: full,
            headers=headers,
            client_key="OTHER_KEY",
        )
        rule = table.first(facts)
        picked = rule.name if rule else None
    return (time.perf_counter() - start) / n * 1e6, picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    table = RuleTable(RULES)
    cases = {
        "main turn": body("claude-opus-4-8", True),
        "no match": body("claude-opus-4-8", False),
        "haiku": body("claude-haiku-4-5", False),
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    picked: dict[str, str | None] = {}
    for _ in range(args.rounds):
        for name, raw in cases.items():
            micros, picked[name] = run(raw, table, args.requests)
            results[name].append(micros)
    print(f"{len(RULES)} rules, {args.requests} requests x {args.rounds} rounds, µs per request")
    for name, values in results.items():
        print(
            f"  {name:10s} median {statistics.median(values):6.2f}  min {min(values):6.2f}  "
            f"max {max(values):6.2f}  -> {picked[name]}"
        )


if __name__ == "__main__":
    main()
