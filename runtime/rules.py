"""Routing rules: which chain a request goes to by what it is, before its model name is looked
at (docs/routing.md). Pure: the request path and `relay explain --request` ask the same table.

Each rule is compiled once per artifact into a tuple of checks, cheapest first; a check reads
one fact of the request, and facts that need the body are worked out only when a rule gets
that far: `thinking` and `tools` from the top-level split the request path already made,
`tool_types` and `images` from its one full decode (`Incoming.full`, cached, which the
capability check of a chain with known capabilities makes anyway); never a second parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from itertools import repeat
from typing import Any

import msgspec

from runtime.artifact import Capability, Rule
from runtime.translate.capabilities import required_capabilities

_thinking = msgspec.json.Decoder(dict[str, Any])
_str = msgspec.json.Decoder(str)
_EMPTY = (b"[]", b"null", b"")


class Facts:
    """What rules may ask of one request; body facts are computed on first use."""

    __slots__ = (
        "_caps",
        "_full",
        "_thinking",
        "_tool_keys",
        "client_key",
        "fmt",
        "headers",
        "model",
        "stream",
        "tokens",
        "top",
    )

    def __init__(
        self,
        *,
        fmt: str,
        model: str,
        tokens: int,
        stream: bool,
        top: Mapping[str, msgspec.Raw],
        full: Callable[[], dict[str, Any]],
        headers: Mapping[str, str],
        client_key: str | None = None,
    ) -> None:
        self.fmt = fmt
        self.model = model
        self.tokens = tokens
        self.stream = stream
        self.top = top
        self.headers = headers
        self.client_key = client_key
        self._full = full
        self._caps: frozenset[Capability] | None = None
        self._thinking: bool | None = None
        self._tool_keys: frozenset[object] | None = None

    def capabilities(self) -> frozenset[Capability]:
        """The request's needs (`required_capabilities`), on the one full decode; the request
        path reuses this value for its capability check."""
        if self._caps is None:
            self._caps = required_capabilities(
                self._full(), "anthropic" if self.fmt == "anthropic" else "openai"
            )
        return self._caps

    def thinking(self) -> bool:
        if self._thinking is None:
            if self.fmt == "anthropic":
                raw = self.top.get("thinking")
                try:
                    value = _thinking.decode(raw) if raw is not None and bytes(raw) not in _EMPTY else {}
                except msgspec.DecodeError:
                    value = {}
                self._thinking = value.get("type") in ("enabled", "adaptive")
            else:
                raw = self.top.get("reasoning_effort")
                try:
                    self._thinking = raw is not None and _str.decode(raw) != "none"
                except msgspec.DecodeError:
                    self._thinking = False
        return self._thinking

    def tools(self) -> bool:
        raw = self.top.get("tools") or self.top.get("functions")
        return raw is not None and (len(raw) > 8 or bytes(raw).strip() not in _EMPTY)

    def tool_keys(self) -> frozenset[object]:
        """Every offered tool's name and type, and each type's prefixes before an underscore
        (`web_search_20250305` also gives `web_search` and `web`): a `tool_types` condition
        (a type or name, or a dated version of a type) is then one set test, the ~25 tools
        Claude Code offers walked once per request however many rules ask."""
        if self._tool_keys is None:
            tools = self._full().get("tools") if self.tools() else None
            if not isinstance(tools, list):
                tools = []
            keys, kinds = _values(tools, "name"), _values(tools, "type")
            keys |= kinds
            for kind in kinds:
                if not isinstance(kind, str):
                    continue
                cut = kind.find("_")
                while cut > 0:
                    keys.add(kind[:cut])
                    cut = kind.find("_", cut + 1)
            self._tool_keys = frozenset(keys)
        return self._tool_keys

    def images(self) -> bool:
        return "vision" in self.capabilities()


def _values(objects: list[Any], key: str) -> set[object]:
    """`key` of each object in `objects`: `dict.get` mapped in C, since Claude Code offers ~25
    tools and a Python loop over them was half the cost of a ten-rule table. An entry that is
    not an object, or a value that cannot be hashed, takes the slow path that leaves it out."""
    try:
        return set(map(dict.get, objects, repeat(key)))
    except TypeError:
        return {v for o in objects if type(o) is dict for v in (o.get(key),) if isinstance(v, str)}


Check = Callable[[Facts], bool]


def _model(patterns: tuple[str, ...]) -> Check:
    """The rule's globs as one alternation: one regex call however many globs it lists."""
    match = re.compile("|".join(f"(?:{p})" for p in patterns)).match
    return lambda facts: match(facts.model) is not None


def _tokens(above: int | None, below: int | None) -> Check:
    low = -1 if above is None else above
    high = float("inf") if below is None else below
    return lambda facts: low < facts.tokens < high


def _header(name: str, pattern: str) -> Check:
    match = re.compile(pattern).match

    def check(facts: Facts) -> bool:
        value = facts.headers.get(name)
        return value is not None and match(value) is not None

    return check


def _checks(rule: Rule) -> tuple[tuple[str, Check], ...]:
    """The rule's conditions as (what, check), the ones that read the body last; each check
    one closure over what it compares, built once per artifact."""
    out: list[tuple[str, Check]] = []
    if rule.models:
        out.append(("model", _model(rule.models)))
    if (stream := rule.stream) is not None:
        out.append(("stream", lambda f: f.stream is stream))
    if rule.above is not None or rule.below is not None:
        out.append(("input_tokens", _tokens(rule.above, rule.below)))
    if rule.client_keys:
        keys = frozenset(rule.client_keys)
        out.append(("client_key", lambda f: f.client_key in keys))
    out.extend((f"headers.{name}", _header(name, value)) for name, value in rule.headers)
    if (tools := rule.tools) is not None:
        out.append(("tools", lambda f: f.tools() is tools))
    if rule.tool_types:
        wanted = frozenset(rule.tool_types)
        out.append(("tool_types", lambda f: not wanted.isdisjoint(f.tool_keys())))
    if (thinking := rule.thinking) is not None:
        out.append(("thinking", lambda f: f.thinking() is thinking))
    if (images := rule.images) is not None:
        out.append(("images", lambda f: f.images() is images))
    return tuple(out)


class RuleTable:
    """Built once per loaded artifact; `first` is the request path's one call."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        self._named = tuple((rule, _checks(rule)) for rule in rules)
        self._table = tuple((rule, tuple(check for _, check in named)) for rule, named in self._named)
        self.needs_client_key = any(rule.client_keys for rule in rules)

    def __bool__(self) -> bool:
        return bool(self._table)

    def first(self, facts: Facts) -> Rule | None:
        """The first rule whose every condition holds, or None (then the model name decides)."""
        for rule, checks in self._table:
            for check in checks:
                if not check(facts):
                    break
            else:
                return rule
        return None

    def trace(self, facts: Facts) -> list[tuple[Rule, str | None]]:
        """Each rule up to the one that fires, with the first condition that failed (None: it
        fired), for `relay explain --request`."""
        out: list[tuple[Rule, str | None]] = []
        for rule, named in self._named:
            failed = next((what for what, check in named if not check(facts)), None)
            out.append((rule, failed))
            if failed is None:
                break
        return out
