"""Per step, either passthrough (client and upstream speak the same format) or translation.

The request loop calls only these functions, so it never branches on formats itself;
the translation code stays pure in `runtime.translate`.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from runtime.artifact import Api, Provider, Step
from runtime.errors import ClientFormat, RelayError
from runtime.incoming import Incoming
from runtime.passthrough import PassthroughStream
from runtime.usage import Usage, from_anthropic, from_openai

if True:  # TEMP until translation lands
    from types import SimpleNamespace as _NS
    terrors = request_a2o = request_o2a = response = stream_a2o = stream_o2a = _NS()

_encode = msgspec.json.Encoder().encode
_top = msgspec.json.Decoder(dict[str, msgspec.Raw])
_any = msgspec.json.Decoder()

DEFAULT_MAX_TOKENS = 4096
"""Anthropic requires max_tokens; OpenAI clients often omit it."""


class StreamAdapter(Protocol):
    done: bool
    errored: bool
    usage: Usage | None

    def start(self) -> bytes: ...
    def feed(self, chunk: bytes) -> bytes: ...
    def finish(self) -> bytes: ...
    def fail(self, err: RelayError) -> bytes: ...


def upstream_format(api: Api, client: ClientFormat) -> ClientFormat | None:
    if api == "anthropic":
        return "anthropic"
    if api in ("openai", "ollama"):
        return "openai"
    if api == "simulated":
        return client
    return None


def estimate(inc: Incoming) -> int:
    """Tokens this request may cost: a cheap input estimate plus its output ceiling."""
    return len(inc.body) // 4 + (inc.max_tokens or DEFAULT_MAX_TOKENS)


def request_body(inc: Incoming, step: Step, provider: Provider, target: ClientFormat) -> bytes:
    if target == inc.fmt:
        return inc.body_with_model(step.model)
    if target == "openai":
        return _encode(request_a2o.anthropic_request_to_openai(inc.full(), upstream_model=step.model))
    return _encode(
        request_o2a.openai_request_to_anthropic(
            inc.full(), upstream_model=step.model, anthropic_version="2023-06-01",
            default_max_tokens=DEFAULT_MAX_TOKENS,
        )
    )


def response_body(raw: bytes, target: ClientFormat, inc: Incoming, step: Step) -> tuple[bytes, Usage | None]:
    """The client's body and the usage it reports; raises on a body that is not JSON."""
    if target == inc.fmt:
        top = _top.decode(raw)
        usage_raw = top.get("usage")
        usage_obj: Any = _any.decode(usage_raw) if usage_raw is not None else None
        usage = (from_anthropic if target == "anthropic" else from_openai)(usage_obj)
        if inc.model != step.model and "model" in top:
            top["model"] = msgspec.Raw(_encode(inc.model))
            raw = _encode(top)
        return raw, usage
    body = _any.decode(raw)
    if target == "openai":
        out = response.openai_response_to_anthropic(body, client_model=inc.model)
        return _encode(out), from_openai(body.get("usage"))
    out = response.anthropic_response_to_openai(body, client_model=inc.model)
    return _encode(out), from_anthropic(body.get("usage"))


class _Translated:
    """Gives the translation state machines the loop's adapter interface."""

    def __init__(self, machine: Any, client: ClientFormat) -> None:
        self._m = machine
        self._client = client
        self.errored = False

    @property
    def done(self) -> bool:
        return bool(self._m.done)

    @property
    def usage(self) -> Usage | None:
        raw = self._m.usage
        if raw is None:
            return None
        return (from_anthropic if self._client == "anthropic" else from_openai)(raw)

    def _watch(self, out: bytes) -> bytes:
        marker = b"event: error" if self._client == "anthropic" else b'data: {"error"'
        if marker in out:
            self.errored = True
        return out

    def start(self) -> bytes:
        return bytes(self._m.start())

    def feed(self, chunk: bytes) -> bytes:
        return self._watch(self._m.feed(chunk))

    def finish(self) -> bytes:
        return self._watch(self._m.finish())

    def fail(self, err: RelayError) -> bytes:
        self.errored = True
        row = err.row
        kind = row.anthropic_type if self._client == "anthropic" else row.openai_type
        return bytes(self._m.fail(kind, err.message))


def stream_adapter(inc: Incoming, target: ClientFormat, step: Step) -> StreamAdapter:
    if target == inc.fmt:
        return PassthroughStream(inc.fmt, inc.model, step.model)
    if target == "openai":
        machine: Any = stream_o2a.OpenAIToAnthropicStream(inc.model, len(inc.body) // 4)
    else:
        machine = stream_a2o.AnthropicToOpenAIStream(inc.model, inc.include_usage)
    return _Translated(machine, inc.fmt)


def error_body(status: int, body: bytes, target: ClientFormat, client: ClientFormat, provider: str) -> bytes:
    if target == client:
        return body
    return terrors.translate_error_body(status, body, source=target, target=client, provider=provider)
