"""RSGI or ASGI for the runtime? The same minimal app under Granian (1 worker, uvloop) in
each interface, driven by wrk with 64 connections: a POST answered with a JSON body, and a
POST answered with a 20-chunk SSE stream (the relay's two shapes); requests/s per interface.

    python -m benchmarks.interface_bench [SECONDS]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import free_port, wait_port

REPO = Path(__file__).resolve().parents[1]


POST_LUA = 'wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\nwrk.body = \'{"model":"m","messages":[]}\'\n'


def run(interface: str, path: str, seconds: int, lua: Path) -> str:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            interface,
            "--loop",
            "uvloop",
            "--no-log",
            "--port",
            str(port),
            f"benchmarks.interface_apps:{interface}",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        out = subprocess.run(
            ["wrk", "-t2", "-c64", f"-d{seconds}s", "-s", str(lua), f"http://127.0.0.1:{port}{path}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        server.terminate()
        server.wait()
    rps = next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec"))
    lat = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("Latency"))
    return f"{interface} {path:8s} {float(rps):8.0f} req/s, mean latency {lat}"


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "post.lua"
        lua.write_text(POST_LUA)
        for path in ("/json", "/stream"):
            for interface in ("rsgi", "asgi"):
                print(run(interface, path, seconds, lua))


if __name__ == "__main__":
    main()
