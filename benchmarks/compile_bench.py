"""Time `relay check` and `relay build` on a large generated definition set.

100 providers (2 keys each), 500 models and 1,000 chains of 3 steps, split over three
files, written to a temp folder. Each command is timed in-process (the compiler alone)
and as a subprocess (what a user waits for: interpreter start and imports included).
Target: under 2 s each. Run: `python benchmarks/compile_bench.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compiler.emit.write import write_build
from compiler.pipeline import compile_dir

PROVIDERS, MODELS, CHAINS = 100, 500, 1000
APIS = ("openai", "anthropic", "ollama")


def providers_yaml() -> str:
    lines = ["version: 1", "providers:"]
    for p in range(PROVIDERS):
        api = APIS[p % len(APIS)]
        lines += [
            f"  p{p}:",
            f"    api: {api}",
            f"    base_url: https://llm{p}.example.com/v1",
            f'    keys: ["${{P{p}_KEY_A:-}}", {{key: "${{P{p}_KEY_B:-}}", name: backup, limits: {{rpm: 10}}}}]',
            "    limits: {rpm: 30, rpd: 14400, tpm: 6000, tpd: 500000}",
            "    timeouts: {first_byte: 30s}",
        ]
    return "\n".join(lines) + "\n"


def models_yaml() -> str:
    lines = ["version: 1", "models:"]
    for m in range(MODELS):
        lines += [
            f"  m{m}:",
            "    context: 128000",
            "    capabilities: [tools, stream]",
            "    cost: {input: 0.5, output: 0.7}",
            "    providers:",
            f"      p{m % PROVIDERS}: vendor/model-{m}-a",
            f"      p{(m + 1) % PROVIDERS}: {{id: model-{m}-b, cost: {{input: 0, output: 0}}}}",
            f"      p{(m + 2) % PROVIDERS}: model-{m}-c",
        ]
    return "\n".join(lines) + "\n"


def chains_yaml() -> str:
    lines = ["version: 1", "server: {default_chain: c0}", "chains:"]
    for c in range(CHAINS):
        m = c % MODELS
        lines += [
            f"  c{c}:",
            "    strategy: failover",
            f'    match: ["team{c}-*"]',
            "    steps:",
            f"      - p{m % PROVIDERS}/m{m}",
            f"      - p{(m + 1) % PROVIDERS}/m{m}",
            f"      - {{use: p{(m + 2) % PROVIDERS}/m{m}, weight: 2}}",
        ]
    return "\n".join(lines) + "\n"


def timed(label: str, action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    print(f"  {label:<40} {elapsed:6.2f} s")
    return elapsed


def run_cli(*args: str, env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "compiler", *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(
            f"relay {args[0]} failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        root, out = Path(temp) / "defs", Path(temp) / "out"
        root.mkdir()
        for name, text in (
            ("providers.yaml", providers_yaml()),
            ("models.yaml", models_yaml()),
            ("chains.yaml", chains_yaml()),
        ):
            (root / name).write_text(text)
        env = dict(os.environ) | {f"P{p}_KEY_A": f"bench-key-{p:03d}-a" for p in range(0, PROVIDERS, 2)}
        lines = sum(len(p.read_text().splitlines()) for p in root.iterdir())
        print(f"{PROVIDERS} providers, {MODELS} models, {CHAINS} chains: {lines} YAML lines")
        timed("check, in-process", lambda: compile_dir(root, env, "check"))
        timed(
            "build, in-process (new folder)", lambda: write_build(compile_dir(root, env, "build"), root, out)
        )
        timed("relay check (subprocess)", lambda: run_cli("check", str(root), env=env))
        fresh = Path(temp) / "fresh"
        timed(
            "relay build (subprocess, new folder)",
            lambda: run_cli("build", str(root), "-o", str(fresh), env=env),
        )
        timed(
            "relay build (subprocess, unchanged)",
            lambda: run_cli("build", str(root), "-o", str(fresh), env=env),
        )


if __name__ == "__main__":
    main()
