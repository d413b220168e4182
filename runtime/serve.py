"""`python -m runtime.serve GENERATED_DIR [--listen HOST:PORT] [--workers N]`

What `relay run` execs into: a fresh interpreter that imports only `runtime`, so Granian's
forked workers never carry the compiler, jsonschema, ruamel, jinja2 or typer. This main
process only checks the build; the app itself (aiohttp, translation) is imported by the
worker alone, which keeps the supervisor's memory small. It checks
the artifact and the listen policy before binding, then hands over to Granian (RSGI,
uvloop). SIGHUP is forwarded to the workers, which reload the artifact in place instead
of being respawned, so cooldowns and rate windows survive a reload.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
from pathlib import Path
from typing import Any

from runtime.artifact import Server
from runtime.loader import ROOT_ENV, LoadError, load
from runtime.state_backend import StateUrlError, check_state_url


class ListenError(Exception):
    pass


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ListenError(f"--listen {value!r}: expected HOST:PORT, for example 127.0.0.1:8787")
    return host.strip("[]") or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_policy(server: Server, host: str, workers: int) -> None:
    """Refusals that protect users: public listening without keys, split memory state."""
    if not is_loopback(host) and not server.auth_required:
        raise ListenError(
            f"refusing to listen on {host}: it is not a loopback address and server.auth.keys is empty; "
            "add client keys (server.auth.keys) and rebuild, or listen on 127.0.0.1"
        )
    if workers > 1 and server.state == "memory":
        raise ListenError(
            f"refusing --workers {workers} with state: memory: each worker would keep its own cooldowns and "
            "rate windows, so together they would exceed provider limits; use --workers 1, or set "
            "server.state: redis://127.0.0.1:6379/0 so every worker shares one state"
        )


def _server_class() -> Any:
    from granian.server import MPServer

    class RelayGranian(MPServer):
        """Granian respawns workers on SIGHUP; relay reloads in place instead."""

        def _reload(self, spawn_target: Any, target_loader: Any) -> Any:
            self.reload_signal = False
            self.main_loop_interrupt.clear()
            for worker in self.wrks:
                pid = worker.inner.pid
                if pid:
                    os.kill(pid, signal.SIGHUP)

    return RelayGranian


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relay run", description="Serve a relay build with Granian.")
    parser.add_argument("root", nargs="?", default="generated", help="output folder of `relay build`")
    parser.add_argument("--listen", help="HOST:PORT, default server.listen from the build")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (more than 1 needs redis state)"
    )
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    try:
        snapshot = load(root)
        server = snapshot.artifact.server
        host, port = parse_listen(args.listen or server.listen)
        check_policy(server, host, args.workers)
        check_state_url(server.state)
    except (LoadError, ListenError, StateUrlError) as exc:
        print(f"relay run: {exc}", file=sys.stderr)
        return 2
    os.environ[ROOT_ENV] = str(root)
    from granian.constants import Interfaces, Loops

    granian = _server_class()(
        "runtime.app:app",
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        workers=args.workers,
        loop=Loops.uvloop,
        log_access=False,
        workers_kill_timeout=30,
    )
    print(
        f"relay: serving {root} on http://{host}:{port} with {args.workers} worker(s)",
        file=sys.stderr,
        flush=True,
    )
    granian.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
