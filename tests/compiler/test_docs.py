"""The codes table in compiler/README.md lists every diagnostic code with its severity."""

from __future__ import annotations

from pathlib import Path

from compiler.codes import ALL

README = Path(__file__).resolve().parents[2] / "compiler" / "README.md"


def test_every_code_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    assert [c.code for c in ALL if f"| {c.code} | {c.severity} | {c.title} |" not in text] == []


def test_codes_are_unique() -> None:
    assert len({c.code for c in ALL}) == len(ALL)


def test_tests_do_not_shadow_the_compiler_package() -> None:
    """tests/compiler/ must not be importable as `compiler` (needs tests/__init__.py)."""
    import compiler

    assert Path(compiler.__file__).resolve() == README.parent / "__init__.py"
