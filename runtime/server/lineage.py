"""A worker's tie to relay's own main process: it dies with it and signals only it.

Granian's workers are children of `relay run`'s main process. If that process is killed
(`kill -9`, the OOM killer), Linux re-parents the workers, which would go on serving the port
as orphans (and the next `relay run` is refused as "already serving"); and a reload asked of
such an orphan must not send SIGHUP to whatever adopted it (PID 1 in a plain deployment). So
the main process names itself in the environment, each worker asks the kernel for SIGTERM
when its parent dies (`PR_SET_PDEATHSIG`), and signals go to the main process only while it
is still this worker's parent.
"""

from __future__ import annotations

import os
import signal

from runtime.parent_watch import die_with_parent

MAIN_PID_ENV = "RELAY_MAIN_PID"
ROOT_ENV = "RELAY_GENERATED_DIR"
"""How `relay run` tells each worker which build folder to serve."""
WORKERS_ENV = "RELAY_WORKERS"
"""How `relay run` tells each worker how many workers serve (for `/admin/state`)."""


def mark_main() -> None:
    """In the main process, before the workers start."""
    os.environ[MAIN_PID_ENV] = str(os.getpid())


def main_pid() -> int | None:
    value = os.environ.get(MAIN_PID_ENV, "")
    return int(value) if value.isdigit() else None


def die_with_main() -> None:
    """In a worker: SIGTERM when the main process dies; at once if it already has."""
    die_with_parent(main_pid())


def signal_main(sig: signal.Signals) -> bool:
    """Send `sig` to relay's main process if it is still this process's parent; False when
    it is not (nothing is sent: never to a process that adopted an orphan)."""
    main = main_pid()
    if main is None or os.getppid() != main:
        return False
    os.kill(main, sig)
    return True
