"""Glob patterns for `match`: parsing, translation to an anchored regex, and overlap tests.

Globs use `*` (any run of characters), `?` (one character) and `[...]` / `[!...]` classes,
like fnmatch. `overlap` decides whether two globs can match one same name, which is how
`relay check` proves a routing tie (R205) instead of guessing from the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STAR = None
"""The `*` token; every other token is a `CharSet`."""


@dataclass(frozen=True)
class CharSet:
    negated: bool
    ranges: tuple[tuple[str, str], ...]

    def has(self, char: str) -> bool:
        inside = any(lo <= char <= hi for lo, hi in self.ranges)
        return inside != self.negated


Token = CharSet | None
ANY = CharSet(True, ())


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _char_class(pattern: str, start: int) -> tuple[CharSet, int] | None:
    """Parse `[...]` at `start`; None when unterminated (then `[` is a literal, as in fnmatch)."""
    i = start + 1
    negated = i < len(pattern) and pattern[i] == "!"
    i += negated
    first = i
    ranges: list[tuple[str, str]] = []
    while i < len(pattern) and (pattern[i] != "]" or i == first):
        if i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            ranges.append((pattern[i], pattern[i + 2]))
            i += 3
        else:
            ranges.append((pattern[i], pattern[i]))
            i += 1
    if i >= len(pattern):
        return None
    return CharSet(negated, tuple((lo, hi) for lo, hi in ranges if lo <= hi)), i + 1


def tokens(pattern: str) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        parsed = _char_class(pattern, i) if char == "[" else None
        if parsed is not None:
            out.append(parsed[0])
            i = parsed[1]
            continue
        if char == "*":
            if not out or out[-1] is not STAR:
                out.append(STAR)
        else:
            out.append(ANY if char == "?" else CharSet(False, ((char, char),)))
        i += 1
    return out


def literal_prefix(pattern: str) -> str:
    prefix = []
    for token in tokens(pattern):
        if (
            token is STAR
            or token.negated
            or len(token.ranges) != 1
            or token.ranges[0][0] != token.ranges[0][1]
        ):
            break
        prefix.append(token.ranges[0][0])
    return "".join(prefix)


def _token_regex(token: Token) -> str:
    if token is STAR:
        return ".*"
    if token == ANY:
        return "."
    if not token.ranges:
        return "(?!)"  # a class left empty by reversed ranges matches nothing, as in fnmatch
    if not token.negated and len(token.ranges) == 1 and token.ranges[0][0] == token.ranges[0][1]:
        return re.escape(token.ranges[0][0])
    body = "".join(
        re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}" for lo, hi in token.ranges
    )
    return f"[{'^' if token.negated else ''}{body}]"


def to_regex(pattern: str) -> str:
    """Anchored at both ends, so `re.match` and `re.fullmatch` agree."""
    return "^(?s:" + "".join(_token_regex(t) for t in tokens(pattern)) + r")\Z"


def _sets_meet(a: CharSet, b: CharSet) -> bool:
    if a.negated and b.negated:
        return True
    if a.negated or b.negated:
        positive, negative = (b, a) if a.negated else (a, b)
        return any(_range_escapes(lo, hi, negative) for lo, hi in positive.ranges)
    return any(lo1 <= hi2 and lo2 <= hi1 for lo1, hi1 in a.ranges for lo2, hi2 in b.ranges)


def _range_escapes(lo: str, hi: str, negative: CharSet) -> bool:
    """Some character in lo..hi is not excluded by `negative` (a negated set)."""
    point = ord(lo)
    for start, end in sorted((ord(s), ord(e)) for s, e in negative.ranges):
        if start <= point <= end:
            point = end + 1
    return point <= ord(hi)


def _step(i: int, token: Token) -> int:
    """Position after `token` consumed one character: `*` stays to consume more."""
    return i if token is STAR else i + 1


def overlap(a: str, b: str) -> bool:
    """True when some name matches both globs (search over pairs of positions)."""
    ta, tb = tokens(a), tokens(b)
    todo, seen = [(0, 0)], set()
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(ta) and j == len(tb):
            return True
        if i < len(ta) and ta[i] is STAR:
            todo.append((i + 1, j))
        if j < len(tb) and tb[j] is STAR:
            todo.append((i, j + 1))
        if i < len(ta) and j < len(tb) and _sets_meet(ta[i] or ANY, tb[j] or ANY):
            todo.append((_step(i, ta[i]), _step(j, tb[j])))
    return False
