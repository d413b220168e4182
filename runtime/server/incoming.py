"""What relay reads from a client request, and nothing more.

The body is decoded one level deep into raw JSON values (`msgspec.Raw`): routing needs
only `model`, `stream` and a few sizes, and passthrough re-encodes the same raw values
with a new `model`, so every other byte reaches the upstream exactly as the client sent
it (unknown and future fields included) without a full decode and re-encode.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from runtime.errors import BadRequest, ClientFormat
from runtime.routing.affinity import conversation_key
from runtime.server.redact import Redactor

_top = msgspec.json.Decoder(dict[str, msgspec.Raw])
_str = msgspec.json.Decoder(str)
_bool = msgspec.json.Decoder(bool)
_int = msgspec.json.Decoder(int)
_any = msgspec.json.Decoder()
_encode = msgspec.json.Encoder().encode


class _RandomIds:
    """96 random bits from the OS per id (what `secrets.token_hex(12)` returns), read 256
    ids at a time: one `getrandom` call per id cost ~2 µs on the request path, a slice of a
    pool ~0.2. A forked process starts with an empty pool, so workers never share ids.
    Ids are made on the worker's loop thread only."""

    __slots__ = ("_at", "_pool")

    SIZE = 12
    POOL = SIZE * 256

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def empty(self) -> None:
        self._pool, self._at = b"", 0

    def __call__(self) -> str:
        at = self._at
        if at >= len(self._pool):
            self._pool, at = os.urandom(self.POOL), 0
        self._at = end = at + self.SIZE
        return "req_" + self._pool[at:end].hex()


new_request_id = _RandomIds()
os.register_at_fork(after_in_child=new_request_id.empty)


@dataclass(slots=True)
class Incoming:
    """One generation request as relay sees it."""

    fmt: ClientFormat
    body: bytes
    top: dict[str, msgspec.Raw]
    model: str
    stream: bool
    request_id: str
    forward_headers: list[tuple[str, str]]
    session: str | None
    """The client's own name for the conversation (Claude Code's `x-claude-code-session-id`;
    the Responses ingress sets `prompt_cache_key` or its session headers), None if none."""
    max_tokens: int
    include_usage: bool
    anthropic_version: str
    query: str = ""
    """The client's query string (Claude Code sends `beta=true`), forwarded to same-format upstreams."""
    api: str = ""
    """The API the client spoke when it differs from `fmt`: `responses` for `/v1/responses`,
    which runs as the chat request it means. Records and metrics name it."""
    responses: Incoming | None = None
    """For `/v1/responses`: the request as the client sent it, which an `openai-responses`
    step takes as is (`fmt`, `body` and the rest are the chat request it means)."""
    _full: dict[str, Any] | None = field(default=None, repr=False)

    def full(self) -> dict[str, Any]:
        """The fully decoded body, only for the paths that need it (translation, estimates)."""
        if self._full is None:
            try:
                self._full = _any.decode(self.body)
            except _UNREADABLE as exc:
                raise unreadable(exc) from None
        return self._full

    def conversation(self) -> str | None:
        """Which conversation this is (`runtime.routing.affinity.conversation_key`), None if
        unknown. Worked out only where it can matter: a chain with more than one candidate
        (`runtime.server.chain_needs`)."""
        return conversation_key(self.top, self.fmt == "openai", self.session)

    def body_with_model(self, model: str) -> bytes:
        if model == self.model:
            return self.body
        return _encode({**self.top, "model": msgspec.Raw(_encode(model))})


_UNREADABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
"""Everything msgspec raises for bytes it cannot read: its own `DecodeError`, and, depending
on the version, `UnicodeDecodeError` for invalid UTF-8 inside a string (0.23 raises
`DecodeError` instead) and `RecursionError` for nesting deeper than Python's limit. Every
decode of client bytes catches all of them, so no msgspec release turns client bytes into a 500."""


def unreadable(exc: Exception) -> BadRequest:
    if isinstance(exc, RecursionError):
        return BadRequest("request body is nested too deeply (over ~900 levels of arrays or objects)")
    if isinstance(exc, UnicodeDecodeError):
        return BadRequest("request body is not valid JSON: a string holds bytes that are not UTF-8")
    return BadRequest(f"request body is not valid JSON: {exc}")


def _field(top: dict[str, msgspec.Raw], name: str, decoder: msgspec.json.Decoder[Any], what: str) -> Any:
    raw = top.get(name)
    if raw is None:
        return None
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError:
        raise BadRequest(f"{name}: expected {what}", param=name) from None


def forwarded(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Client headers that go upstream: every `anthropic-*` (no allow-list that breaks on
    the next client release), the Claude Code session id and content type; so never client
    credentials, hop-by-hop headers or the SDKs' `x-stainless-*` telemetry."""
    out = [("content-type", "application/json")]
    for name, value in headers:
        lower = name.lower()
        if lower.startswith("anthropic-") or lower == "x-claude-code-session-id":
            out.append((lower, value))
    return out


_PROMPT_FIELDS = {"anthropic": ("system", "messages"), "openai": ("messages",)}


def prompt(inc: Incoming, redactor: Redactor) -> dict[str, msgspec.Raw]:
    """The conversation for the request log line (`server.log.prompts: true` only), as the
    client sent it, with any secret relay holds replaced by `[redacted]`."""
    out = {}
    for name in _PROMPT_FIELDS[inc.fmt]:
        raw = inc.top.get(name)
        if raw is not None:
            data = redactor.data(bytes(raw))
            if b"\n" in data or b"\r" in data:  # pretty-printed: one log line stays one line
                try:
                    data = _encode(_any.decode(data))
                except _UNREADABLE:  # forwarded unread (passthrough): newlines can only be whitespace
                    data = data.replace(b"\n", b" ").replace(b"\r", b" ")
            out[name] = msgspec.Raw(data)
    return out


def parse(
    body: bytes, headers: list[tuple[str, str]], fmt: ClientFormat, request_id: str, query: str = ""
) -> Incoming:
    """Validate just enough to route; the upstream validates the rest in its own words
    (bytes relay forwards untouched are not decoded, so they are not checked here either)."""
    try:
        return _parse(body, headers, fmt, request_id, query)
    except _UNREADABLE as exc:
        raise unreadable(exc) from None


def _parse(
    body: bytes, headers: list[tuple[str, str]], fmt: ClientFormat, request_id: str, query: str
) -> Incoming:
    try:
        top = _top.decode(body)
    except msgspec.ValidationError:
        raise BadRequest("request body must be a JSON object") from None
    model = _field(top, "model", _str, "a string")
    if not model:
        raise BadRequest("model: required, the name of a chain, alias or model", param="model")
    stream = bool(_field(top, "stream", _bool, "a boolean"))
    max_name = "max_tokens" if fmt == "anthropic" or "max_tokens" in top else "max_completion_tokens"
    max_tokens = _field(top, max_name, _int, "an integer") or 0
    options = _field(top, "stream_options", _any, "an object") if fmt == "openai" else None
    forward = forwarded(headers)
    named = dict(forward)  # the headers parsing asks for are forwarded ones: the last of each
    return Incoming(
        fmt=fmt,
        body=body,
        top=top,
        model=model,
        stream=stream,
        request_id=request_id,
        forward_headers=forward,
        session=named.get("x-claude-code-session-id"),
        max_tokens=max_tokens,
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
        anthropic_version=named.get("anthropic-version", "2023-06-01"),
        query=query,
    )
