"""Literal secrets stay out of the editor's answers.

The compiler refuses a key (or a URL credential) written into a definition file (R204),
so such a file never builds; but it can be on disk, or typed into a draft, and the editor
must not show it. Each scalar an R204 diagnostic points at is replaced, in what the editor
sends back, by a malformed environment reference: saved as it is, the build refuses it
(R217) rather than serving a placeholder as a key, until the user writes `${NAME}` there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from compiler.codes import LITERAL_SECRET
from compiler.diagnostics import Diagnostic

PLACEHOLDER = '"${hidden: a secret was written here; put it in an environment variable}"'
_PLAIN_END = re.compile(r"\s+#|[,\]}]|\s*$")


def _scalar_end(line: str, start: int) -> int:
    """Where the scalar starting at `start` ends: its closing quote, or a plain scalar's end."""
    quote = line[start : start + 1]
    if quote == "'":
        at = start + 1
        while (at := line.find("'", at)) != -1 and line[at + 1 : at + 2] == "'":
            at += 2
        return len(line) if at == -1 else at + 1
    if quote == '"':
        at = start + 1
        while at < len(line) and line[at] != '"':
            at += 2 if line[at] == "\\" else 1
        return min(at + 1, len(line))
    found = _PLAIN_END.search(line, start)
    return found.start() if found else len(line)


def hide(texts: Mapping[str, str], diags: Iterable[Diagnostic]) -> dict[str, str]:
    """`texts` with every scalar an R204 diagnostic points at replaced by `PLACEHOLDER`."""
    spots: dict[str, set[tuple[int, int]]] = {}
    for d in diags:
        if d.code == LITERAL_SECRET.code and d.file in texts and d.line and d.col:
            spots.setdefault(d.file, set()).add((d.line, d.col))
    out = dict(texts)
    for rel, found in spots.items():
        lines = out[rel].split("\n")
        for line_no, col in sorted(found, reverse=True):
            if line_no <= len(lines):
                line, start = lines[line_no - 1], col - 1
                lines[line_no - 1] = line[:start] + PLACEHOLDER + line[_scalar_end(line, start) :]
        out[rel] = "\n".join(lines)
    return out
