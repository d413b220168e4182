"""Merge the files of a definition folder into one set, remembering where each name came from.

Top-level sections merge by name across files; a name defined twice is an error that names
both places. Entries that failed the schema are left out (their errors are already
reported), and `where` maps any path in the merged set back to its file, line and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from compiler import codes
from compiler.diagnostics import Diagnostic, Part, Where, make, pointer
from compiler.source.files import Source
from compiler.source.nodes import locate
from compiler.source.validate import Broken

MERGED = ("server", "providers", "models", "chains", "references", "rules")
_SINGULAR = {
    "server": "server setting",
    "providers": "provider",
    "models": "model",
    "chains": "chain",
    "references": "reference price",
    "rules": "routing rule",
}


@dataclass
class DefinitionSet:
    sources: list[Source]
    data: dict[str, Any] = field(default_factory=dict)
    origin: dict[tuple[str, str], Source] = field(default_factory=dict)
    """(section, name) to the file that defines it; for server, name is the setting."""

    def where(self, parts: Sequence[Part], at_key: bool = False) -> Where:
        source = self.origin.get((str(parts[0]), str(parts[1]))) if len(parts) > 1 else None
        if source is None or source.data is None:
            fallback = self.sources[0].display if self.sources else "."
            return Where(fallback, 1, 1, pointer(parts))
        line, col = locate(source.data, parts, at_key)
        return Where(source.display, line, col, pointer(parts))


def merge(sources: list[Source], broken: dict[str, Broken]) -> tuple[DefinitionSet, list[Diagnostic]]:
    merged = DefinitionSet(sources, {"version": 1} | {section: {} for section in MERGED})
    diags: list[Diagnostic] = []
    for source in sources:
        if source.data is None:
            continue
        bad = broken.get(source.rel, set())
        for section in MERGED:
            entries = source.data.get(section)
            if not isinstance(entries, dict) or (section, "*") in bad:
                continue
            for name, value in entries.items():
                if (section, name) not in bad:
                    diags.extend(add(merged, source, section, name, value))
    return merged, diags


def add(merged: DefinitionSet, source: Source, section: str, name: str, value: Any) -> list[Diagnostic]:
    first = merged.origin.get((section, name))
    if first is not None and first.data is not None:
        line, _ = locate(first.data, [section, name], at_key=True)
        where = merged.where([section, name], at_key=True)
        here = Where(source.display, *locate(source.data, [section, name], True), where.pointer)
        message = f"{_SINGULAR[section]} {name!r} is defined twice: here and at {first.display}:{line}"
        return [
            make(
                codes.DUPLICATE_NAME,
                here,
                message,
                "names must be unique across all files; rename or remove one",
            )
        ]
    merged.data[section][name] = value
    merged.origin[(section, name)] = source
    return []
