"""Diagnostic records and the collector every phase appends to.

Diagnostics are plain data, never exceptions: a phase keeps going after a problem so a
single run reports all of them. `pointer` is an RFC 6901 JSON pointer into the file's
document (`/chains/free/steps/1`); line and column are 1-based.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from compiler.codes import IO_CODES, Code, Severity

Part = str | int
"""One step of a path into a document: a mapping key or a sequence index."""


def pointer(parts: Iterable[Part]) -> str:
    """RFC 6901: `~` and `/` inside a key are escaped so any key round-trips."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True, slots=True)
class Where:
    file: str
    line: int = 1
    col: int = 1
    pointer: str = ""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    file: str
    line: int
    col: int
    pointer: str
    hint: str = ""

    def sort_key(self) -> tuple[bool, str, int, int, str, str]:
        """Problems reading a file (R0xx: syntax, encoding) first: the rest may follow from them."""
        return (not self.code.startswith("R0"), self.file, self.line, self.col, self.code, self.message)


def make(code: Code, where: Where, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(
        code=code.code,
        severity=code.severity,
        message=message,
        file=where.file,
        line=where.line,
        col=where.col,
        pointer=where.pointer,
        hint=hint,
    )


def promote(diags: Sequence[Diagnostic], codes: frozenset[str] | None = None) -> list[Diagnostic]:
    """Turn warnings into errors: all of them (`--strict`) or only the given codes (build)."""
    return [
        replace(d, severity="error") if d.severity == "warning" and (codes is None or d.code in codes) else d
        for d in diags
    ]


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diags)


def exit_code(diags: Sequence[Diagnostic]) -> int:
    """0 clean or warnings only, 2 when a file or folder could not be read, else 1 on errors."""
    errors = [d for d in diags if d.severity == "error"]
    if any(d.code in IO_CODES for d in errors):
        return 2
    return 1 if errors else 0


def ordered(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Stable report order (file problems first, then by place) with exact repeats dropped."""
    return sorted(set(diags), key=Diagnostic.sort_key)
