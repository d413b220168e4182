"""Shared fixtures: definition sets declared as {path: text} and compiled in-process."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from compiler.diagnostics import Diagnostic
from compiler.pipeline import Compiled, Mode, compile_dir

SIMULATED = (
    "version: 1\nproviders:\n  local:\n    api: simulated\nchains:\n  main:\n    steps: [local/demo]\n"
)
"""The smallest valid definition set."""

WriteSet = Callable[[Mapping[str, str | bytes]], Path]
CompileSet = Callable[..., Compiled]


def write_files(root: Path, files: Mapping[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def write_set(tmp_path: Path) -> WriteSet:
    return lambda files: write_files(tmp_path / "defs", files)


@pytest.fixture
def compile_set(write_set: WriteSet) -> CompileSet:
    def run(
        files: Mapping[str, str | bytes],
        env: Mapping[str, str] | None = None,
        mode: Mode = "check",
        strict: bool = False,
    ) -> Compiled:
        return compile_dir(write_set(files), env or {}, mode, strict)

    return run


def codes_at(diags: list[Diagnostic]) -> set[tuple[str, int]]:
    return {(d.code, d.line) for d in diags}
