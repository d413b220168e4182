"""Diagnostics for people and tools: text (optionally coloured), JSON, GitHub annotations.

Formatting only: every function takes records and returns a string, so the CLI decides
where it goes and tests compare exact text.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence

from compiler.diagnostics import Diagnostic

_COLOURS = {"error": "\x1b[31m", "warning": "\x1b[33m", "info": "\x1b[36m"}
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def text_line(d: Diagnostic, colour: bool = False) -> str:
    place = f"{d.file}:{d.line}:{d.col}:"
    severity: str = d.severity
    if colour:
        place, severity = f"{_BOLD}{place}{_RESET}", f"{_COLOURS[d.severity]}{severity}{_RESET}"
    line = f"{place} {severity} {d.code} {d.message}"
    if d.pointer:
        line += f" [{d.pointer}]"
    return line + (f" hint: {d.hint}" if d.hint else "")


def summary(diags: Sequence[Diagnostic]) -> str:
    counts = Counter(d.severity for d in diags)

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 or word == 'info' else 's'}"

    return ", ".join(plural(counts[s], s) for s in ("error", "warning", "info"))


def as_text(diags: Sequence[Diagnostic], colour: bool = False) -> str:
    lines = [text_line(d, colour) for d in diags]
    return "\n".join([*lines, summary(diags)]) + "\n"


def as_records(diags: Sequence[Diagnostic], rename: Callable[[str], str] = str) -> list[dict[str, object]]:
    return [
        {
            "code": d.code,
            "severity": d.severity,
            "file": rename(d.file),
            "line": d.line,
            "col": d.col,
            "pointer": d.pointer,
            "message": d.message,
            "hint": d.hint,
        }
        for d in diags
    ]


def as_json(diags: Sequence[Diagnostic]) -> str:
    counts = Counter(d.severity for d in diags)
    body = {"diagnostics": as_records(diags), "summary": {s: counts[s] for s in ("error", "warning", "info")}}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def _escape(value: str, in_property: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if in_property else value


def as_github(diags: Sequence[Diagnostic]) -> str:
    """Workflow commands: GitHub shows each as an annotation on the file and line."""
    lines = []
    for d in diags:
        props = f"file={_escape(d.file, True)},line={d.line},col={d.col},title={d.code}"
        body = d.message + (f" [{d.pointer}]" if d.pointer else "") + (f" hint: {d.hint}" if d.hint else "")
        lines.append(f"::{_GITHUB_LEVEL[d.severity]} {props}::{_escape(body)}")
    return "\n".join([*lines, summary(diags)]) + "\n"
