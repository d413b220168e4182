"""Routing rules: which chain a request goes to by what it is, before its model name is looked
at (docs/routing.md). Pure: the request path and `relay explain --request` ask the same table.

Each rule is compiled once per artifact into a tuple of checks, cheapest first; a check reads
one fact of the request, and facts that need the body (thinking, tools, images) are worked out
only when a rule gets that far, from the top-level split the request path already made (and
its one full decode, shared with the capability check), never by parsing the body again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from runtime.artifact import Capability, Rule
from runtime.translate.capabilities import required_capabilities


class _Tool(msgspec.Struct):
    type: str | None = None
    name: str | None = None


_tools = msgspec.json.Decoder(list[_Tool])
_thinking = msgspec.json.Decoder(dict[str, Any])
_str = msgspec.json.Decoder(str)
_EMPTY = (b"[]", b"null", b"")


class Facts:
    """What rules may ask of one request; body facts are computed on first use."""

    __slots__ = (
        "_caps",
        "_full",
        "_thinking",
        "_tool_names",
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
        self._tool_names: frozenset[str] | None = None

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
        return raw is not None and bytes(raw).strip() not in _EMPTY

    def tool_names(self) -> frozenset[str]:
        """Types and names of the tools offered (`web_search_20250305`, `web_search`, `Bash`)."""
        if self._tool_names is None:
            raw = self.top.get("tools")
            try:
                tools = _tools.decode(raw) if raw is not None and bytes(raw) not in _EMPTY else []
            except msgspec.DecodeError:
                tools = []
            self._tool_names = frozenset(n for t in tools for n in (t.type, t.name) if n)
        return self._tool_names

    def images(self) -> bool:
        return "vision" in self.capabilities()


Check = Callable[[Facts], bool]


def _tool_type(wanted: tuple[str, ...]) -> Check:
    def check(facts: Facts) -> bool:
        names = facts.tool_names()
        return any(n == w or n.startswith(w + "_") for n in names for w in wanted)

    return check


def _header(name: str, regex: re.Pattern[str]) -> Check:
    def check(facts: Facts) -> bool:
        value = facts.headers.get(name)
        return value is not None and regex.match(value) is not None

    return check


def _flag(read: Callable[[Facts], bool], want: bool) -> Check:
    return lambda facts: read(facts) is want


def _models(regexes: tuple[re.Pattern[str], ...]) -> Check:
    return lambda facts: any(r.match(facts.model) for r in regexes)


def _tokens(above: int | None, below: int | None) -> Check:
    low = -1 if above is None else above
    high = float("inf") if below is None else below
    return lambda facts: low < facts.tokens < high


def _client_key(names: tuple[str, ...]) -> Check:
    return lambda facts: facts.client_key in names


def _checks(rule: Rule) -> tuple[tuple[str, Check], ...]:
    """The rule's conditions as (what, check), the ones that read the body last."""
    out: list[tuple[str, Check]] = []
    if rule.models:
        out.append(("model", _models(tuple(re.compile(r) for r in rule.models))))
    if rule.stream is not None:
        out.append(("stream", _flag(lambda f: f.stream, rule.stream)))
    if rule.above is not None or rule.below is not None:
        out.append(("input_tokens", _tokens(rule.above, rule.below)))
    if rule.client_keys:
        out.append(("client_key", _client_key(rule.client_keys)))
    out.extend((f"headers.{name}", _header(name, re.compile(value))) for name, value in rule.headers)
    if rule.tools is not None:
        out.append(("tools", _flag(Facts.tools, rule.tools)))
    if rule.tool_types:
        out.append(("tool_types", _tool_type(rule.tool_types)))
    if rule.thinking is not None:
        out.append(("thinking", _flag(Facts.thinking, rule.thinking)))
    if rule.images is not None:
        out.append(("images", _flag(Facts.images, rule.images)))
    return tuple(out)


class RuleTable:
    """Built once per loaded artifact; `first` is the request path's one call."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        self._table = tuple((rule, tuple(check for _, check in _checks(rule))) for rule in rules)
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
        for rule in self.rules:
            failed = next((what for what, check in _checks(rule) if not check(facts)), None)
            out.append((rule, failed))
            if failed is None:
                break
        return out
