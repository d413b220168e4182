"""The runtime's rooms keep their import rules (runtime/__init__.py and each package's
docstring): checked on the source, every import statement, at any depth in a module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
COMPILER = RUNTIME.parent / "compiler"
COMPILER_SIDE = ("compiler", "jsonschema", "ruamel", "jinja2", "typer")
HTTP = ("aiohttp", "granian", "httpx")
IO = ("asyncio", "logging", "socket", "aiohttp", "granian", "httpx", "redis", "subprocess", "threading")


def imports(path: Path) -> set[str]:
    """Every module name one file imports, absolute, with relative imports resolved."""
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(RUNTIME.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def offending(root: Path, banned: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(RUNTIME.parent)}: {name}"
        for path in files(root)
        for name in sorted(imports(path))
        if any(name == b or name.startswith(b + ".") for b in banned)
    ]


@pytest.mark.parametrize(
    ("room", "banned"),
    [
        ("", COMPILER_SIDE),
        ("routing", ("runtime.server", "runtime.upstream", "runtime.translate", "runtime.errors", *HTTP)),
        ("upstream", ("runtime.server", "runtime.ops")),
        ("ops", ("runtime.server", "runtime.translate", "runtime.upstream")),
        ("translate", ("runtime.server", "runtime.routing", "runtime.upstream", "runtime.errors", *IO)),
    ],
)
def test_each_room_imports_only_what_its_rules_allow(room: str, banned: tuple[str, ...]) -> None:
    assert offending(RUNTIME / room, banned) == []


def test_the_compiler_reads_only_the_artifact_types_and_the_router() -> None:
    used = {
        name
        for path in files(COMPILER)
        for name in imports(path)
        if name == "runtime" or name.startswith("runtime.")
    }
    allowed = ("runtime.artifact", "runtime.routes", "runtime.explain", "runtime.extras")
    assert sorted(n for n in used if not any(n == a or n.startswith(a + ".") for a in allowed)) == []


def test_the_checker_sees_imports_inside_functions() -> None:
    """The rules would pass vacuously if lazy imports (the cloud transports, Redis) were missed."""
    names = imports(RUNTIME / "upstream" / "client.py")
    assert any(n.startswith("runtime.upstream.cloud") for n in names)


@pytest.mark.parametrize(
    ("phase", "banned"),
    [
        ("source", ("compiler.resolve", "compiler.emit", "compiler.pipeline")),
        ("language", ("compiler.resolve", "compiler.emit", "compiler.pipeline")),
        ("resolve", ("compiler.emit",)),
    ],
)
def test_each_compiler_phase_imports_only_earlier_phases(phase: str, banned: tuple[str, ...]) -> None:
    """Phases run in order (compiler/README.md): a phase never reaches forward."""
    assert offending(COMPILER / phase, banned) == []
