"""Giving request memory back to the system after large bodies (glibc only; a no-op elsewhere).

Two glibc behaviours kept a worker hundreds of MB above its baseline after a burst of
large bodies: the mmap threshold rises to the size of the largest freed block, so later
30 MB buffers come from the heap instead of their own mapping and are not unmapped when
freed; and freed heap pages stay with the process until `malloc_trim`. `pin_mmap_threshold`
fixes the threshold at 1 MB (every big buffer gets its own mapping, returned on free) and
`trim` releases free heap pages; `runtime.server.body_budget` calls it when the worker holds no
request body any more after having held a lot.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1024 * 1024
TRIM_AFTER = 16 * 1024 * 1024
"""Trim only after holding at least this much body memory: small requests cost nothing."""


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def pin_mmap_threshold() -> None:
    if _LIBC is not None:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def trim() -> None:
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def trim_after(peak: int) -> None:
    """The budget went idle after holding `peak` bytes: trim if that was a lot."""
    if peak >= TRIM_AFTER:
        trim()
