"""`python -m runtime.server.serve GENERATED_DIR [--listen HOST:PORT] [--workers N]`

What `relay run` execs into: a fresh interpreter that imports only `runtime`, so Granian's
forked workers never carry the compiler, jsonschema, ruamel, jinja2 or typer. Granian forks
each worker from this process, so whatever it has touched counts again in every worker's
resident memory: it stays Python, argparse and Granian. The checks before binding (the
build, the listen policy, extras, state URL, usage store: `runtime.server.start_checks`)
run in a short-lived fork that hands back the few figures serving needs; the app itself
(aiohttp, translation) is imported by the worker alone. It claims the address
(`runtime.server.listen`), then hands over to Granian (RSGI, uvloop, HTTP/1.1). SIGHUP is forwarded to the workers, which reload the
artifact in place instead of being respawned, so cooldowns and rate windows survive a
reload.

Client connections are bounded here (`server.connections`): HTTP/1.1 only, because in
Granian's auto mode the protocol sniffing has no timer and a socket that never sends a
byte stays open forever; Granian's header read timeout, which in HTTP/1.1 mode runs from
the connect and again after every response, so it also closes idle kept-alive connections;
a per-worker connection ceiling (Granian's backpressure) far above what idle sockets can
pile up within that timeout, backed by a raised open-file limit.
"""

from __future__ import annotations

import argparse
import contextlib
import marshal
import os
import resource
import shutil
import signal
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, NamedTuple

from runtime.ops import METRICS_DIR_ENV
from runtime.server import lineage, memory
from runtime.server.lineage import ROOT_ENV, WORKERS_ENV
from runtime.server.listen import ListenError, claim

FD_RESERVE = 1024
"""Open files a worker keeps for everything but client connections (upstreams, Redis, files)."""


class Plan(NamedTuple):
    """What the main process serves with, from the checks (`runtime.server.start_checks`)."""

    host: str
    port: int
    header_timeout: float
    max_connections: int
    kill_timeout: int


def checked(root: Path, listen: str | None, workers: int) -> Plan | int:
    """Run `start_checks.check` in a fork and return its plan, or the exit code after the
    fork has said on stderr why relay refuses to serve (2) or crashed (1). In a fork, so
    that nothing it imports is in this process when Granian forks the workers from it."""
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(readable)
        os._exit(_check_and_report(root, listen, workers, writable))
    os.close(writable)
    with os.fdopen(readable, "rb") as answer:
        data = answer.read()
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code != 0:
        return code if code > 0 else 1
    return Plan(*marshal.loads(data))


def _check_and_report(root: Path, listen: str | None, workers: int, answer: int) -> int:
    """In the fork: the exit code, after writing the plan to `answer` or the refusal to stderr."""
    try:
        from runtime.server import start_checks

        try:
            host, port, server = start_checks.check(root, listen, workers)
        except start_checks.REFUSED as exc:
            print(f"relay run: {exc}", file=sys.stderr)
            return 2
        plan = Plan(
            host,
            port,
            server.connections.header_timeout,
            server.connections.max,
            start_checks.kill_timeout(server),
        )
        with os.fdopen(answer, "wb") as out:
            out.write(marshal.dumps(tuple(plan)))
        return 0
    except BaseException:  # the fork exits with os._exit: no traceback unless printed here
        traceback.print_exc()
        return 1
    finally:
        sys.stderr.flush()


def connection_budget(wanted: int) -> int:
    """Raise the soft open-file limit to the hard one (workers inherit it) and return how
    many client connections a worker can hold: `wanted`, unless the limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    budget = min(wanted, max(hard - FD_RESERVE, 64))
    if budget < wanted:
        print(
            f"relay: the open-file limit ({hard}) allows {budget} client connections per worker, not "
            f"server.connections.max {wanted}; raise it (ulimit -Hn, LimitNOFILE=) to hold more",
            file=sys.stderr,
        )
    return budget


def _server_class() -> Any:
    from granian.server import MPServer

    class RelayGranian(MPServer):
        """Granian respawns workers on SIGHUP; relay reloads in place instead. At shutdown
        the kill deadline follows the drain of the artifact being served now, and a worker
        that had to be killed makes the exit code 1."""

        root: Path
        killed = 0

        def _reload(self, spawn_target: Any, target_loader: Any) -> Any:
            self.reload_signal = False
            self.main_loop_interrupt.clear()
            for worker in self.wrks:
                pid = worker.inner.pid
                if pid:
                    os.kill(pid, signal.SIGHUP)

        def _respawn_workers(
            self, workers: Any, spawn_target: Any, target_loader: Any, delay: float = 0
        ) -> Any:
            """Granian calls this for workers that died (`respawn_failed_workers`); relay
            reloads in place on SIGHUP (`_reload`), so this is only ever a crash."""
            for idx in workers:
                code = self.wrks[idx].inner.exitcode
                print(
                    f"relay: worker {idx + 1} died (exit code {code}); starting a new one",
                    file=sys.stderr,
                    flush=True,
                )
            return super()._respawn_workers(workers, spawn_target, target_loader, delay)

        def _stop_workers(self) -> None:
            from runtime.server.loader import LoadError, load  # only now: no worker will fork after this
            from runtime.server.start_checks import kill_timeout

            with contextlib.suppress(LoadError):  # else keep the deadline computed at start
                self.workers_kill_timeout = kill_timeout(load(self.root).artifact.server)
            workers = list(self.wrks)
            super()._stop_workers()  # type: ignore[no-untyped-call]
            self.killed = sum(1 for w in workers if w.inner.exitcode == -signal.SIGKILL)

    return RelayGranian


METRICS_PREFIX = "relay-metrics-"
OWNER = "owner.pid"
"""In each run's metrics directory: the main process that made it."""


def remove_stale_metrics(tmp: Path) -> None:
    """Metrics directories whose relay is gone (a `kill -9` skips the cleanup): removed at
    start, so they do not pile up; one without an owner file is left alone."""
    for folder in tmp.glob(METRICS_PREFIX + "*"):
        try:
            owner = int((folder / OWNER).read_text())
        except (OSError, ValueError):
            continue
        if not _alive(owner):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relay run", description="Serve a relay build with Granian.")
    parser.add_argument("root", nargs="?", default="generated", help="output folder of `relay build`")
    parser.add_argument("--listen", help="HOST:PORT, default server.listen from the build")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (more than 1 needs redis state)"
    )
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    plan = checked(root, args.listen, args.workers)
    if isinstance(plan, int):
        return plan
    host, port = plan.host, plan.port
    try:
        held = claim(host, port)
    except ListenError as exc:
        print(f"relay run: {exc}", file=sys.stderr)
        return 2
    os.environ[ROOT_ENV] = str(root)
    # Each worker writes its Prometheus counts to files here, so a scrape answered by any
    # worker adds up all of them; a fresh directory per run, so no count outlives the run.
    remove_stale_metrics(Path(tempfile.gettempdir()))
    metrics_dir = tempfile.mkdtemp(prefix=METRICS_PREFIX)
    (Path(metrics_dir) / OWNER).write_text(str(os.getpid()))
    os.environ[METRICS_DIR_ENV] = metrics_dir
    lineage.mark_main()
    os.environ[WORKERS_ENV] = str(args.workers)
    from granian.constants import HTTPModes, Interfaces, Loops, TaskImpl
    from granian.http import HTTP1Settings

    granian = _server_class()(
        "runtime.server.app:app",
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        workers=args.workers,
        loop=Loops.uvloop,
        task_impl=TaskImpl.asyncio,  # a real Task per request: a client leaving cancels it (app._Watch)
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(header_read_timeout=round(plan.header_timeout * 1000)),
        backlog=4096,
        backpressure=connection_budget(plan.max_connections),
        log_access=False,
        workers_kill_timeout=plan.kill_timeout,
        respawn_failed_workers=True,
    )
    granian.root = root
    print(
        f"relay: serving {root} on http://{host}:{port} with {args.workers} worker(s)",
        file=sys.stderr,
        flush=True,
    )
    memory.trim()  # what the imports freed (compiling, where no .pyc is cached), before the workers inherit it
    try:
        granian.serve()
    except OSError as exc:
        print(f"relay run: cannot serve on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    finally:
        held.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
        for sig in (signal.SIGTERM, signal.SIGINT):  # a repeated signal must not change the exit code
            signal.signal(sig, signal.SIG_IGN)
    if granian.killed:
        print(
            f"relay: {granian.killed} worker(s) did not stop within the drain deadline and were killed",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
