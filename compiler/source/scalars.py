"""YAML 1.2 core-schema scalars: what a plain (unquoted) scalar means.

`yes`/`no`/`on` stay strings (no "Norway problem"); dates stay strings too, since no
definition field is a date.
"""

from __future__ import annotations

import re
from typing import Any

_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL: dict[str, Any] = {
    **dict.fromkeys(("", "~", "null", "Null", "NULL")),
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), float("inf")),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), float("-inf")),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), float("nan")),
}
TAG = "tag:yaml.org,2002:"


def short(tag: str) -> str:
    return tag.replace(TAG, "!!")


def plain_scalar(text: str) -> Any:
    """YAML 1.2 core schema: `yes`/`no`/`on` stay strings (no Norway problem)."""
    if text in _SPECIAL:
        return _SPECIAL[text]
    if _INT.fullmatch(text):
        return int(text, 0) if text[:2] in ("0o", "0x") else int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text
