"""Validate each file against the JSON Schema (`schemas/`) and explain every error in user terms.

jsonschema reports what failed in schema vocabulary; this module turns each error into a
diagnostic with the right code, the place it was written, and a hint (closest key or value
for typos). It also returns which named entries were invalid, so later phases skip them
instead of piling follow-on errors onto one typo.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from compiler import codes
from compiler.diagnostics import Diagnostic, Where, make, pointer
from compiler.language.fields import HOST_RE, LISTEN_RE, NAME_RE, ORIGIN_RE, STATE_RE, STEP_RE
from compiler.schema import schema
from compiler.source.files import Source
from compiler.source.nodes import locate

SECTIONS = ("providers", "models", "chains")
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}
_PATTERN_HINTS = {
    NAME_RE: "a name: a letter, then letters, digits, _ or -",
    STEP_RE: "provider/model, e.g. groq/llama-70b",
    LISTEN_RE: "host:port, e.g. 127.0.0.1:8787",
    STATE_RE: "memory or redis://host:port/db",
    HOST_RE: "a host name without scheme or port, e.g. relay.example.com or *.example.com",
    ORIGIN_RE: "scheme://host[:port] with no path, as a browser sends it, e.g. https://chat.example.com",
}
_BOUNDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "more than",
    "exclusiveMaximum": "less than",
}
Broken = set[tuple[str, str]]
"""(section, name) of entries with schema errors; ("server", "*") for the server block."""


@cache
def validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (an empty value)"
    return {int: "a whole number", float: "a number", str: "a string"}.get(type(value), type(value).__name__)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def validate(source: Source) -> tuple[list[Diagnostic], Broken]:
    diags: list[Diagnostic] = []
    broken: Broken = set()
    for error in validator().iter_errors(source.data):
        for path, at_key, code, message, hint in explain(error, list(error.absolute_path)):
            line, col = locate(source.data, path, at_key)
            diags.append(make(code, Where(source.display, line, col, pointer(path)), message, hint))
            broken.add(entry_of(path))
    return without_echoes(diags), broken


def without_echoes(diags: list[Diagnostic]) -> list[Diagnostic]:
    """A value of the wrong type also fails its enum or pattern; say only the type."""
    typed = {d.pointer for d in diags if d.code == codes.WRONG_TYPE.code}
    return [d for d in diags if d.code == codes.WRONG_TYPE.code or d.pointer not in typed]


def entry_of(path: list[str | int]) -> tuple[str, str]:
    if path and path[0] in SECTIONS:
        return (str(path[0]), str(path[1]) if len(path) > 1 else "*")
    return (str(path[0]) if path else "*", "*")


Explained = tuple[list[Any], bool, codes.Code, str, str]
"""path, point at the key, code, message, hint."""


def explain(error: ValidationError, path: list[Any]) -> Iterator[Explained]:
    schema, value, rule = error.schema, error.instance, error.validator
    if rule in ("anyOf", "oneOf"):
        yield from explain_any_of(error, path)
    elif rule == "additionalProperties":
        known = list(schema.get("properties", {}))
        for key in [k for k in value if k not in known]:
            hint = did_you_mean(key, known) or f"allowed here: {', '.join(sorted(known))}"
            yield [*path, key], True, codes.UNKNOWN_KEY, f"unknown key {key!r}", hint
    elif rule == "required":
        for key in [k for k in schema["required"] if k not in value]:
            yield path, True, codes.MISSING_KEY, f"missing required key {key!r}", f"add `{key}:`"
    elif rule in ("enum", "const"):
        yield explain_choice(schema, value, path)
    elif rule == "type":
        expected = _TYPE_NAMES.get(str(error.validator_value), str(error.validator_value))
        yield path, False, codes.WRONG_TYPE, f"expected {expected}, got {kind(value)}", ""
    elif rule == "pattern":
        yield explain_pattern(schema, value, path, str(error.validator_value))
    elif rule in _BOUNDS:
        bound = f"must be {_BOUNDS[str(rule)]} {error.validator_value}"
        yield path, False, codes.OUT_OF_RANGE, f"{value!r} is out of range", bound
    else:
        yield path, False, codes.SCHEMA_OTHER, error.message, ""


def explain_choice(schema: dict[str, Any], value: Any, path: list[Any]) -> Explained:
    allowed = schema.get("enum", [schema.get("const")])
    if path == ["version"]:
        return path, False, codes.BAD_VERSION, f"unsupported version {value!r}", "supported versions: 1"
    listed = ", ".join(map(str, allowed))
    hint = (
        did_you_mean(value, map(str, allowed)) + " " if isinstance(value, str) else ""
    ) + f"one of: {listed}"
    return path, False, codes.BAD_CHOICE, f"{value!r} is not allowed here", hint.strip()


def explain_pattern(schema: dict[str, Any], value: Any, path: list[Any], pattern: str) -> Explained:
    if schema.get("title") == "URL":
        return (
            path,
            False,
            codes.BAD_URL,
            f"{value!r} is not an http(s) URL",
            "write e.g. https://api.example.com/v1",
        )
    if len(path) == 1 and path[0] in SECTIONS:
        return (
            [*path, value],
            True,
            codes.BAD_FORMAT,
            f"{value!r} is not a valid name",
            "use " + _PATTERN_HINTS[NAME_RE],
        )
    wanted = _PATTERN_HINTS.get(pattern, f"a value matching {pattern}")
    return path, False, codes.BAD_FORMAT, f"{value!r} does not have the required form", f"expected {wanted}"


def explain_any_of(error: ValidationError, path: list[Any]) -> Iterator[Explained]:
    if error.schema.get("title") == "Duration":
        hint = "write seconds as a number, or 250ms, 30s, 5m, 1h, 1d"
        yield path, False, codes.BAD_DURATION, f"{error.instance!r} is not a duration", hint
        return
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        by_branch.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    expected: list[str] = []
    for subs in by_branch.values():
        wrong_type = [s for s in subs if s.validator == "type" and not s.relative_path]
        if not wrong_type:
            for sub in subs:
                yield from explain(sub, path + list(sub.relative_path))
            return
        expected.append(_TYPE_NAMES.get(str(wrong_type[0].validator_value), "?"))
    message = f"expected {' or '.join(expected)}, got {kind(error.instance)}"
    yield path, False, codes.WRONG_TYPE, message, ""
