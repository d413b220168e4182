"""Match globs: regex translation agrees with fnmatch, overlap agrees with brute force."""

from __future__ import annotations

import fnmatch
import itertools
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from compiler.resolve.globs import literal_prefix, overlap, to_regex

GLOB_CHARS = st.text(alphabet="ab-*?[]!", min_size=0, max_size=7)
NAMES = st.text(alphabet="ab-[]!c", max_size=8)


def reversed_range(pattern: str) -> bool:
    """fnmatch handles `[b-a]` by regex surgery with odd corners; relay's globs do not rely on it."""
    return any(m.group(1) > m.group(2) for m in re.finditer(r"(?=(.)-([^\]]))", pattern))


@settings(max_examples=500, deadline=None)
@given(GLOB_CHARS, NAMES)
def test_regex_matches_exactly_what_fnmatch_matches(pattern: str, name: str) -> None:
    assume(not reversed_range(pattern))
    assert bool(re.match(to_regex(pattern), name)) == fnmatch.fnmatchcase(name, pattern)


@settings(max_examples=300, deadline=None)
@given(GLOB_CHARS)
def test_every_match_starts_with_the_literal_prefix(pattern: str) -> None:
    assume(not reversed_range(pattern))
    prefix = literal_prefix(pattern)
    for length in range(5):
        for name in map("".join, itertools.product("ab-", repeat=length)):
            if fnmatch.fnmatchcase(name, pattern):
                assert name.startswith(prefix)


def brute_overlap(a: str, b: str) -> bool:
    names = ("".join(p) for n in range(7) for p in itertools.product("abc", repeat=n))
    return any(fnmatch.fnmatchcase(n, a) and fnmatch.fnmatchcase(n, b) for n in names)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab*?", max_size=4), st.text(alphabet="ab*?", max_size=4))
def test_overlap_agrees_with_brute_force(a: str, b: str) -> None:
    assert overlap(a, b) == brute_overlap(a, b)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("claude-*", "claude-?-opus", True),
        ("gpt-[0-9]", "gpt-[!0-9]", False),
        ("x[ab]", "x[!a]", True),
        ("x[a-c]", "x[d-f]", False),
        ("a*", "*b", True),
        ("", "*", True),
    ],
)
def test_overlap_cases(a: str, b: str, expected: bool) -> None:
    assert overlap(a, b) is expected


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [("claude-*", "claude-"), ("gpt-4o", "gpt-4o"), ("*x", ""), ("a[b]c*", "abc"), ("a[b", "a[b")],
)
def test_literal_prefix(pattern: str, prefix: str) -> None:
    assert literal_prefix(pattern) == prefix


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab*?[]!-", max_size=4), st.text(alphabet="ab*?[]!-", max_size=4))
def test_overlap_with_classes_agrees_with_brute_force(a: str, b: str) -> None:
    assume(not reversed_range(a) and not reversed_range(b))
    alphabet = sorted(set(a + b + "z"))
    names = ("".join(p) for n in range(6) for p in itertools.product(alphabet, repeat=n))
    witness = any(fnmatch.fnmatchcase(n, a) and fnmatch.fnmatchcase(n, b) for n in names)
    if witness:
        assert overlap(a, b)
    elif len(a) + len(b) <= 4:
        assert not overlap(a, b)
