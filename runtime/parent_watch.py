"""A child process's tie to its parent: the kernel signals it when the parent dies.

Both of relay's process pairs need it: a Granian worker and `relay run`'s main process
(`runtime.server.lineage`), and a usage writer and the worker that owns it
(`runtime.ops.usage.writer`). `PR_SET_PDEATHSIG` fires when the *thread* that started the
child ends, so a parent starts its children from a thread that lives as long as it does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None, sig: signal.Signals = signal.SIGTERM) -> None:
    """Ask for `sig` when the parent dies; send it at once if `parent` (expected parent pid,
    None: not checked) already died before the request took hold."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)
