"""Reading files and composing YAML: guards, positions, aliases, duplicates, caps."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.source.compose import MAX_NODES, compose
from compiler.source.files import decode, find_files, load_dir, tab_diagnostics
from compiler.source.nodes import YMap, YSeq, locate
from compiler.source.scalars import plain_scalar


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("42", 42),
        ("-7", -7),
        ("0x1f", 31),
        ("0o17", 15),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("2024-01-01", "2024-01-01"),
        ("5m", "5m"),
    ],
)
def test_plain_scalars_follow_yaml_1_2_core(text: str, value: object) -> None:
    assert plain_scalar(text) == value


def test_quoted_scalars_stay_strings() -> None:
    data, diags = compose("a: \"42\"\nb: 'true'\n", "f")
    assert data == {"a": "42", "b": "true"} and diags == []


def test_positions_are_recorded_for_keys_values_and_items() -> None:
    data, _ = compose("top:\n  list:\n    - first\n    - {k: v}\n", "f")
    assert locate(data, ["top", "list", 0]) == (3, 7)
    assert locate(data, ["top", "list", 1, "k"]) == (4, 11)
    assert locate(data, ["top", "list", 1, "k"], at_key=True) == (4, 8)
    assert locate(data, ["top", "list"]) == (2, 3)
    assert locate(data, ["top", "missing", "deeper"]) == (1, 1)


def test_duplicate_keys_are_all_reported_and_the_first_kept() -> None:
    data, diags = compose("a: 1\nb: 2\na: 3\nb: 4\n", "f")
    assert data == {"a": 1, "b": 2}
    assert [(d.code, d.line, d.pointer) for d in diags] == [("R009", 3, "/a"), ("R009", 4, "/b")]


def test_merge_keys_copy_missing_entries_only() -> None:
    data, diags = compose("base: &b {x: 1, y: 1}\nuse:\n  <<: *b\n  y: 2\n", "f")
    assert diags == [] and data["use"] == {"y": 2, "x": 1}


def test_aliases_share_the_anchored_value() -> None:
    data, _ = compose("a: &l {rpm: 3}\nb: *l\n", "f")
    assert data["b"] is data["a"]


def test_alias_bomb_is_refused_quickly() -> None:
    levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    levels += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(12)]
    start = time.perf_counter()
    data, diags = compose("\n".join(levels) + "\n", "f")
    assert time.perf_counter() - start < 1.0
    assert data is None and [d.code for d in diags] == ["R010"]
    assert str(MAX_NODES) in diags[0].message


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deep_nesting_is_refused_without_crashing(depth: int) -> None:
    data, diags = compose("a: " + "[" * depth + "]" * depth + "\n", "f")
    assert data is None and [d.code for d in diags] == ["R010"]


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("a: [1,\n", "R008", 2),
        ("a: *nowhere\n", "R008", 1),
        ("a: !custom x\n", "R008", 1),
        ("a: 1\n---\nb: 2\n", "R008", 2),
        ("? [a]\n: 1\n", "R011", 1),
        ("1: x\n", "R011", 1),
        ("a: &s [*s]\n", "R010", 1),
        ("a: {<<: 3}\n", "R008", 1),
    ],
)
def test_compose_problems_are_located(text: str, code: str, line: int) -> None:
    _, diags = compose(text, "f")
    assert (diags[0].code, diags[0].line) == (code, line)


def test_tabs_only_in_indentation_are_reported() -> None:
    diags = tab_diagnostics("a:\n\tb: 1\nc: 'x\ty'\n  \t\n", "f")
    assert [(d.line, d.col) for d in diags] == [(2, 1)]


@pytest.mark.parametrize(
    ("raw", "line", "col"),
    [(b"ok: 1\nbad: \x00\n", 2, 6), (b"a: caf\xc3\xa9 \xff\n", 1, 9), (b"\x7fELF", 1, 1)],
)
def test_binary_bytes_are_located(raw: bytes, line: int, col: int) -> None:
    text, diags = decode(raw, "f")
    assert text is None and [(d.code, d.line, d.col) for d in diags] == [("R005", line, col)]


def test_utf8_bom_is_accepted() -> None:
    assert decode("\ufeffversion: 1\n".encode(), "f") == ("version: 1\n", [])


def test_files_are_found_recursively_sorted_skipping_hidden(tmp_path: Path) -> None:
    for rel in ("b.yaml", "a/z.yml", "a/b.yaml", ".git/x.yaml", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("version: 1\n")
    assert [p.relative_to(tmp_path).as_posix() for p in find_files(tmp_path)] == [
        "a/b.yaml",
        "a/z.yml",
        "b.yaml",
    ]


@pytest.mark.parametrize(("make", "code"), [(lambda p: p / "nope", "R001"), (lambda p: p / "f.txt", "R001")])
def test_missing_or_non_folder_root(tmp_path: Path, make: object, code: str) -> None:
    (tmp_path / "f.txt").write_text("x")
    sources, diags = load_dir(make(tmp_path))  # type: ignore[operator]
    assert sources == [] and [d.code for d in diags] == [code]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    text, diags = decode(raw, "f")
    if text is None:
        assert [d.code for d in diags] == ["R005"]
        return
    data, _ = compose(text, "f")
    assert data is None or isinstance(data, YMap | YSeq | str | int | float | bool)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab:-[]{}&*!|>'\"#\n ,?<", max_size=80))
def test_yaml_punctuation_soup_never_raises(text: str) -> None:
    compose(text, "f")
