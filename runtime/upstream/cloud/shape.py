"""What every cloud transport does to the Anthropic-format request relay would send direct.

The request loop hands a cloud transport the same URL, headers and body it would send to
api.anthropic.com (or, for Azure OpenAI, to an OpenAI server); the URL is the build-time
template of the generated provider module with a `{model}` (or `{deployment}`) placeholder.
These pure helpers take that request apart: the body one level deep (`msgspec.Raw`, so
everything but the few fields touched stays byte-for-byte), the betas out of the headers,
and the headers the cloud must not see.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import msgspec

_top = msgspec.json.Decoder(dict[str, msgspec.Raw])
_str = msgspec.json.Decoder(str)
_bool = msgspec.json.Decoder(bool)
_strs = msgspec.json.Decoder(list[str])
_encode = msgspec.json.Encoder().encode

_DROPPED = frozenset({"x-claude-code-session-id", "content-type", "accept"})


class CloudCall(NamedTuple):
    """One request as the cloud gets it."""

    url: str
    headers: list[tuple[str, str]]
    body: bytes
    stream: bool


class Parsed(NamedTuple):
    top: dict[str, msgspec.Raw]
    model: str
    stream: bool


def parse(body: bytes) -> Parsed:
    """The body relay built for this step (always a JSON object with a string `model`)."""
    top = _top.decode(body)
    model = _str.decode(top["model"]) if "model" in top else ""
    stream = _bool.decode(top["stream"]) if "stream" in top else False
    return Parsed(top, model, stream)


def body_betas(top: dict[str, msgspec.Raw]) -> list[str]:
    raw = top.get("anthropic_beta")
    if raw is None:
        return []
    try:
        return _strs.decode(raw)
    except msgspec.ValidationError:
        return []


def raw(value: object) -> msgspec.Raw:
    return msgspec.Raw(_encode(value))


def encode(value: object) -> bytes:
    return _encode(value)


class Headers(NamedTuple):
    kept: list[tuple[str, str]]
    """Static and auth headers (anything relay does not handle here), in order."""
    betas: list[str]
    version: str | None
    """The client's `anthropic-version`."""


def split_headers(headers: Iterable[tuple[str, str]]) -> Headers:
    kept: list[tuple[str, str]] = []
    betas: list[str] = []
    version = None
    for name, value in headers:
        lower = name.lower()
        if lower == "anthropic-beta":
            betas.append(value)
        elif lower == "anthropic-version":
            version = value
        elif lower not in _DROPPED:
            kept.append((lower, value))
    return Headers(kept, betas, version)


def url_without_query(url: str) -> str:
    """Clouds other than Foundry take no query string (`?beta=true` is Anthropic's)."""
    return url.partition("?")[0]


def fill(template: str, placeholder: str, value: str) -> str:
    return template.replace("{" + placeholder + "}", value)
