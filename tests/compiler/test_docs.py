"""The codes table in compiler/README.md lists every diagnostic code with its severity."""

from __future__ import annotations

import re
from pathlib import Path

from compiler.codes import ALL
from compiler.schema import schema

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


DOCS = README.parents[1] / "docs" / "configuration.md"


def test_every_schema_option_is_in_the_language_reference() -> None:
    from tests.compiler.test_options import schema_options

    text = DOCS.read_text(encoding="utf-8")
    names = {re.findall(r"[a-z_]+", option)[-1] for option in schema_options(schema())}
    assert sorted(n for n in names if f"`{n}`" not in text and f"{n}:" not in text) == []


def test_the_documentation_links_only_inside_the_repository() -> None:
    for doc in (README.parents[1] / "README.md", README, DOCS):
        assert "../shared" not in doc.read_text(encoding="utf-8"), doc
