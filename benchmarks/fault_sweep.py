"""Never less available than direct, as a property over seeded fault schedules.

For each schedule (benchmarks/fault_schedules.py) the runner sends the same requests, in
lockstep, directly to every step's upstream and through relay (one chain per schedule, each on
providers of its own, so schedules cannot disturb each other's routing state), and checks:

1. relay's client-visible failures <= the best single step's failures going direct. A stream
   that broke after its content began is passed on as a direct client would have seen it and
   is not held against relay's choice of step (relay cannot know a stream will break).
2. no request fails through relay without an upstream call, unless every step was out by a
   quota its upstream had stated and was keeping (or refused connections) at that moment.

Many schedules share one `relay run` (memory state, one worker; or Redis state, two workers),
and several run at once. Short virtual times: faults last tenths of a second.

    python -m benchmarks.fault_sweep [--schedules 600] [--requests 24] [--seed 7]

prints a table per schedule class (direct vs relay failures) and the worst schedule found;
`--markdown` prints the table for docs/availability.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.common import REPO, free_port, wait_port
from benchmarks.fault_schedules import CLASSES, Lane, Schedule, generate

KEY_VAR = "FAULT_UPSTREAM_KEY"
TIMEOUTS = "{connect: 1s, first_byte: 250ms, stream_idle: 600ms, total: 3s}"
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=15)


def definitions(schedules: list[Schedule], port: int, dead_port: int, state: str) -> str:
    lines = ["version: 1", "server:", f"  state: {state}", "  log: {level: warning}", "providers:"]
    for index, sched in enumerate(schedules):
        for step in range(sched.steps):
            url = f"http://127.0.0.1:{port}/r/{sched.slug}/{step}/v1"
            if step == sched.dead_step:
                url = f"http://127.0.0.1:{dead_port}/v1"
            lines += [
                f"  s{index}p{step}:",
                "    api: openai",
                f"    base_url: {url}",
                f'    keys: ["${{{KEY_VAR}}}"]',
                f"    timeouts: {TIMEOUTS}",
            ]
    lines.append("chains:")
    for index, sched in enumerate(schedules):
        steps = ", ".join(f"s{index}p{step}/m{step}" for step in range(sched.steps))
        lines.append(f"  s{index}: {{steps: [{steps}]}}")
    return "\n".join(lines) + "\n"


@dataclass
class Outcome:
    ok: bool
    started: float
    provider: str | None = None
    broke_after_content: bool = False


@dataclass
class Result:
    sched: Schedule
    state: str
    direct: list[int]
    """Failures per step, going direct."""
    relay: int
    excused: int
    """Relay failures that were a stream its upstream broke after the content began (see the
    module docstring)."""
    silent: list[int] = field(default_factory=list)
    """Requests relay failed without any upstream call while some step might have answered."""

    @property
    def best_direct(self) -> int:
        return min(self.direct)

    @property
    def excess(self) -> int:
        return self.relay - self.excused - self.best_direct

    def violations(self) -> list[str]:
        out = []
        if self.excess > 0:
            out.append(
                f"relay failed {self.relay} ({self.excused} excused), best direct step {self.best_direct}"
            )
        if self.silent:
            out.append(f"requests {self.silent} failed without an upstream call")
        return out


async def _read(resp: aiohttp.ClientResponse, stream: bool) -> tuple[bool, bool]:
    """(answered in full, content had begun): the same test for both lanes, what an SDK accepts."""
    if resp.status != 200:
        await resp.read()
        return False, False
    if not stream:
        try:
            body = json.loads(await resp.read())
            return bool(body["choices"][0]["message"]["content"]), True
        except (ValueError, KeyError, IndexError, TypeError):
            return False, False
    content = finished = False
    try:
        async for line in resp.content:
            if not line.startswith(b"data: ") or line.strip() == b"data: [DONE]":
                continue
            event = json.loads(line[6:])
            if "error" in event:
                return False, content
            for choice in event.get("choices") or ():
                content = content or bool((choice.get("delta") or {}).get("content"))
                finished = finished or bool(choice.get("finish_reason"))
    except (aiohttp.ClientError, ValueError):
        return False, content
    return content and finished, content


async def call(http: aiohttp.ClientSession, url: str, model: str, req: int, stream: bool) -> Outcome:
    started = time.monotonic()
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": f"r{req}"}]}
    headers = {"authorization": "Bearer fault-upstream-key-not-secret"}
    try:
        async with http.post(url, json=body, headers=headers, timeout=CLIENT_TIMEOUT) as resp:
            ok, content = await _read(resp, stream)
            return Outcome(ok, started, resp.headers.get("x-relay-provider"), content and not ok)
    except (aiohttp.ClientError, TimeoutError):
        return Outcome(False, started)


async def _calls(http: aiohttp.ClientSession, upstream: str, lane: Lane, sched: Schedule) -> dict[str, Any]:
    async with http.get(f"{upstream}/_calls", params={"lane": lane, "slug": sched.slug}) as resp:
        return dict(await resp.json())


async def run_schedule(
    http: aiohttp.ClientSession, upstream: str, dead: str, relay: str, index: int, sched: Schedule, state: str
) -> Result:
    direct = [0] * sched.steps
    relayed: list[Outcome] = []
    for req in range(sched.requests):
        lanes = [
            call(
                http,
                f"{dead if step == sched.dead_step else f'{upstream}/d/{sched.slug}/{step}'}/v1/chat/completions",
                f"m{step}",
                req,
                sched.stream,
            )
            for step in range(sched.steps)
        ]
        *straight, through = await asyncio.gather(
            *lanes, call(http, f"{relay}/v1/chat/completions", f"s{index}", req, sched.stream)
        )
        for step, outcome in enumerate(straight):
            direct[step] += not outcome.ok
        relayed.append(through)
    log = await _calls(http, upstream, "r", sched)
    last = {c["req"]: c["fault"] for c in log["calls"]}  # in call order: the last call's fault wins
    failed = [o for o in relayed if not o.ok]
    broke = [r for r, o in enumerate(relayed) if o.broke_after_content and last.get(r) == "drop_after"]
    result = Result(sched, state, direct, len(failed), len(broke))
    for req, outcome in enumerate(relayed):
        if outcome.ok or req in last:
            continue
        if not all(_held_out(log, step, outcome.started, sched) for step in range(sched.steps)):
            result.silent.append(req)
    return result


def _held_out(log: dict[str, Any], step: int, at: float, sched: Schedule) -> bool:
    """Whether `step` could not have answered at `at`: its port refuses, or its upstream
    stated an exhausted quota that it was keeping then."""
    if step == sched.dead_step:
        return True
    return any(start <= at < end for start, end in log["exhausted"][str(step)])


@contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _env() -> dict[str, str]:
    env = {**os.environ, KEY_VAR: "fault-upstream-key-not-secret", "PYTHONPATH": str(REPO)}
    env.pop("RELAY_API_KEY", None)
    return env


@contextmanager
def upstream(tmp: Path) -> Iterator[str]:
    port = free_port()
    with _process(
        [sys.executable, "-m", "benchmarks.fault_upstream", str(port)], _env(), tmp / "upstream.log"
    ):
        wait_port(port)
        yield f"http://127.0.0.1:{port}"


@contextmanager
def relay(
    schedules: list[Schedule], up: str, dead_port: int, state: str, workers: int, tmp: Path
) -> Iterator[str]:
    """`relay build` + `relay run` for these schedules; yields its URL."""
    folder = Path(tempfile.mkdtemp(dir=tmp))
    (folder / "chains").mkdir()
    port = int(up.rsplit(":", 1)[1])
    (folder / "chains" / "relay.yaml").write_text(definitions(schedules, port, dead_port, state))
    env = {**_env(), "XDG_STATE_HOME": str(folder)}
    built = subprocess.run(
        [sys.executable, "-m", "compiler", "build", str(folder / "chains"), "-o", str(folder / "gen")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if built.returncode:
        raise RuntimeError(built.stdout + built.stderr)
    relay_port = free_port()
    argv = [
        sys.executable,
        "-m",
        "compiler",
        "run",
        str(folder / "gen"),
        "--listen",
        f"127.0.0.1:{relay_port}",
    ]
    with _process([*argv, "--workers", str(workers)], env, folder / "relay.log") as proc:
        url = f"http://127.0.0.1:{relay_port}"
        _wait_ready(url, proc, folder / "relay.log")
        yield url


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"relay exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/ready", timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise TimeoutError("relay not ready after 60 s")


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with _process([*argv, "--dir", str(tmp)], _env(), tmp / "redis.log"):
        wait_port(port)
        yield f"redis://127.0.0.1:{port}/0"


async def sweep_one(
    schedules: list[Schedule], up: str, dead_port: int, relay_url: str, state: str, parallel: int
) -> list[Result]:
    gate = asyncio.Semaphore(parallel)
    dead = f"http://127.0.0.1:{dead_port}"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(index: int, sched: Schedule) -> Result:
            async with gate:
                return await run_schedule(http, up, dead, relay_url, index, sched, state)

        return list(await asyncio.gather(*(one(i, s) for i, s in enumerate(schedules))))


def sweep(schedules: list[Schedule], tmp: Path, redis_share: float = 0.3, parallel: int = 12) -> list[Result]:
    """Run every schedule: most on a one-worker relay with memory state, `redis_share` of them
    on a two-worker relay sharing state through Redis."""
    cut = len(schedules) - int(len(schedules) * redis_share)
    dead_port = free_port()  # nothing listens there: connection refused
    results: list[Result] = []
    with upstream(tmp) as up:
        with relay(schedules[:cut], up, dead_port, "memory", 1, tmp) as url:
            results += asyncio.run(sweep_one(schedules[:cut], up, dead_port, url, "memory", parallel))
        if cut < len(schedules):
            with (
                redis_server(tmp) as redis_url,
                relay(schedules[cut:], up, dead_port, redis_url, 2, tmp) as url,
            ):
                results += asyncio.run(
                    sweep_one(schedules[cut:], up, dead_port, url, "redis, 2 workers", parallel)
                )
    return results


def table(results: list[Result], markdown: bool = False) -> str:
    rows: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        rows[r.sched.kind].append(r)
    head = (
        "schedule class",
        "schedules",
        "requests",
        "direct, best step",
        "relay",
        "of them broken after content",
    )
    lines = []
    for kind in CLASSES:
        group = rows.get(kind, [])
        if not group:
            continue
        reqs = sum(r.sched.requests for r in group)
        cells = (
            kind,
            str(len(group)),
            str(reqs),
            _pct(sum(r.best_direct for r in group), reqs),
            _pct(sum(r.relay for r in group), reqs),
            str(sum(r.excused for r in group)),
        )
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(out + ["| " + " | ".join(c) + " |" for c in lines])
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head), *(fmt.format(*c) for c in lines)])


def _pct(failed: int, total: int) -> str:
    return f"{failed} ({100 * failed / total:.1f} %)" if total else "0"


def worst(results: list[Result]) -> Result:
    return max(results, key=lambda r: (r.excess + len(r.silent), r.relay - r.best_direct))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schedules", type=int, default=600)
    parser.add_argument("--requests", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        results = sweep(generate(args.seed, args.schedules, args.requests), Path(tmp))
    print(table(results, args.markdown))
    bad = worst(results)
    print(f"\nworst schedule: {bad.sched.name} ({bad.state})")
    print(f"  direct failures per step {bad.direct}, relay {bad.relay} ({bad.excused} broken after content)")
    for line in bad.violations() or ["no violation"]:
        print(f"  {line}")
    violating = sum(1 for r in results if r.violations())
    print(f"\n{len(results)} schedules, {violating} violating, {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
