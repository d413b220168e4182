"""What the resolve and check phases share: the merged set, the environment, the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from compiler.codes import Code
from compiler.diagnostics import Diagnostic, Part, make
from compiler.resolve.envrefs import Env
from compiler.source.merge import DefinitionSet


@dataclass
class Context:
    ds: DefinitionSet
    env: Env
    """None in the blind build that `relay build` commits: no environment is read."""
    broken: set[tuple[str, str]] = field(default_factory=set)
    """Entries left out after schema errors: references to them are not reported again."""
    diags: list[Diagnostic] = field(default_factory=list)
    unresolved: set[tuple[Part, ...]] = field(default_factory=set)
    """Values whose environment references did not resolve (already reported) or, in the
    blind build, that reference the environment at all: later checks skip them."""

    def report(
        self, code: Code, parts: Sequence[Part], message: str, hint: str = "", at_key: bool = False
    ) -> None:
        self.diags.append(make(code, self.ds.where(parts, at_key), message, hint))

    def is_broken(self, section: str, name: str) -> bool:
        return (section, name) in self.broken
