"""The working tree against another revision, measured alternately in the same run.

    python -m benchmarks.ab REV [--quick] [--rounds 6] [--seconds 5] [--docs]

REV is checked out into a temporary git worktree (or REV names a directory that already
holds the other checkout, e.g. from `git archive`, where there is no git); each side is built by its own compiler
and served by its own runtime (cwd and PYTHONPATH point at its checkout), both in front of
the same fake upstream, with every default on. The rounds of `benchmarks.overhead` run
over both, the load order turning each round, and each figure is printed as
new, old and new/old, each a median over the rounds with its spread (min-max). Use it
before and after a change to the hot path and put its output in the commit message.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import REPO, relay_stack
from benchmarks.overhead import (
    FULL,
    QUICK,
    Plan,
    Served,
    context,
    measure,
    report,
    rows,
    table,
    warm,
)
from benchmarks.relay_bench import DEFS, memory_mb

ROUNDS = 6


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab")
    parser.add_argument("rev", help="the revision to compare the working tree with (e.g. f491dea)")
    parser.add_argument("--quick", action="store_true", help="short rounds")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--seconds", type=int, help=f"wrk seconds per side and round, default {FULL.load_seconds}"
    )
    parser.add_argument("--docs", action="store_true", help="also write the figures into docs/performance.md")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    plan = Plan(args.rounds, args.seconds or base.load_seconds, base.latency_seconds, base.streams)
    given = Path(args.rev).is_dir()
    sha = (
        args.rev
        if given
        else subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", args.rev],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    head = f"new: working tree; old: {sha}; {context(plan.rounds)}"
    print(head, flush=True)
    with tempfile.TemporaryDirectory(prefix="relay-ab-") as tmp_name:
        old = Path(args.rev).resolve() if given else Path(tmp_name) / "old"
        if not given:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(old), sha], check=True
            )
        try:
            with relay_stack(lambda port: DEFS.format(port=port), repos=(REPO, old)) as stack:
                path = "/v1/chat/completions"
                servers = [
                    Served(name, proc.pid, f"http://127.0.0.1:{port}{path}")
                    for name, proc, port in zip(("new", "old"), stack.relays, stack.relay_ports, strict=True)
                ]
                direct = f"http://127.0.0.1:{stack.up_port}{path}"
                warm(direct, servers)
                idle = [memory_mb(s.pid)[0] for s in servers]  # after serving, as relay_bench does
                found = measure(direct, servers, plan, stack.tmp)
        finally:
            if not given:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False
                )
    body = rows(found, "new", "old")
    lines = [
        *table(("figure", "new", "old", "new/old"), body),
        f"idle RSS (main + worker), MB: new {idle[0]:.1f} | old {idle[1]:.1f}",
    ]
    summary = [f"against {sha}: CPU per request {body[0][3]}×, throughput at 64 connections {body[1][3]}×"]
    report("ab", head, lines, args.docs, summary)


if __name__ == "__main__":
    main()
