"""Structured log lines: one JSON object per line on stdout, built only when the level is on.

Fields are passed as keywords and never formatted eagerly, so a disabled level costs a
comparison. Callers pass fingerprints, never key values; prompts are not a field here.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

import msgspec

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_encode = msgspec.json.Encoder().encode


class Log:
    def __init__(self, level: str = "info", out: IO[bytes] | None = None) -> None:
        self._threshold = _LEVELS.get(level, 20)
        self._out = out or sys.stdout.buffer

    def set_level(self, level: str) -> None:
        self._threshold = _LEVELS.get(level, 20)

    def enabled(self, level: str) -> bool:
        return _LEVELS[level] >= self._threshold

    def emit(self, level: str, msg: str, **fields: Any) -> None:
        if _LEVELS[level] < self._threshold:
            return
        record = {"ts": round(time.time(), 3), "level": level, "msg": msg, **fields}
        try:
            self._out.write(_encode(record) + b"\n")
            self._out.flush()
        except (OSError, ValueError):
            pass  # a closed stdout must never fail a request

    def info(self, msg: str, **fields: Any) -> None:
        self.emit("info", msg, **fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self.emit("warning", msg, **fields)

    def error(self, msg: str, **fields: Any) -> None:
        self.emit("error", msg, **fields)
