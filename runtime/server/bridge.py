"""Per step, either passthrough (client and upstream speak the same format) or translation.

The request loop calls only these functions, so it never branches on formats itself;
the translation code stays pure in `runtime.translate`. An `openai-responses` step is
passthrough for a `/v1/responses` request (`Incoming.responses`, the bytes the client sent)
and translation through Chat Completions for the others: chat ⇄ Responses directly,
Anthropic ⇄ Responses composed with the Anthropic ⇄ chat pair.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, Protocol

import msgspec

from runtime.artifact import Provider, ResponseModel, Step
from runtime.errors import ClientFormat, RelayError, WireFormat
from runtime.server.incoming import Incoming
from runtime.translate import (
    DEFAULT_HINTS,
    AnthropicToOpenAIStream,
    Composed,
    OpenAIHints,
    OpenAIToAnthropicStream,
    ResponsesToOpenAIStream,
    anthropic_request_to_openai,
    anthropic_response_to_openai,
    hints_for,
    openai_request_to_anthropic,
    openai_request_to_responses,
    openai_response_to_anthropic,
    responses_response_to_openai,
    translate_error_body,
)
from runtime.translate.sampling import fit_request
from runtime.translate.sampling import known as known_sampling
from runtime.translate.thinking import SIGNATURE_PREFIX, Owner, strip_foreign
from runtime.translate.tokens import BYTES_PER_TOKEN_MAX, input_floor
from runtime.upstream import usage as usage_of
from runtime.upstream.passthrough import PassthroughStream
from runtime.upstream.stream_watch import FrameWatch, Malformed, cut_frames
from runtime.upstream.usage import Usage

_encode = msgspec.json.Encoder().encode
_top = msgspec.json.Decoder(dict[str, msgspec.Raw])
_any = msgspec.json.Decoder()

TRANSLATED_VERSION = "2023-06-01"
"""The `anthropic-version` of requests relay translates (`Service.request_headers` sends it):
the one every Anthropic-format upstream and cloud takes, sampling parameters included."""
DEFAULT_MAX_TOKENS = 4096
"""Anthropic requires max_tokens; OpenAI clients often omit it."""
OUTPUT_ESTIMATE = 4096
"""Output tokens a request is expected to produce when `max_tokens` allows more. Chat and
agent turns rarely write more, and Claude Code's `max_tokens` of 32,000-64,000 is a ceiling,
not a forecast: reserving it would keep every such request off a key with a 30,000 tpm for
good. The reservation is reconciled with the usage the upstream reports."""


class StreamAdapter(Protocol):
    """What the request loop needs from a stream: passthrough or a translation machine."""

    @property
    def done(self) -> bool: ...
    @property
    def errored(self) -> bool: ...
    @property
    def watch(self) -> FrameWatch:
        """The upstream's own frames: where content began, its in-band error, its usage."""
        ...

    @property
    def usage(self) -> Usage | None: ...

    def start(self) -> bytes: ...
    def feed(self, chunk: bytes) -> bytes: ...
    def finish(self) -> bytes: ...
    def fail(self, err: RelayError) -> bytes: ...
    def keepalive(self) -> bytes:
        """A frame that keeps the client's connection alive through upstream silence."""
        ...


def upstream_format(provider: Provider, client: ClientFormat) -> WireFormat | None:
    """The format the step's body is built in; clouds take Anthropic's (`runtime.upstream.cloud`
    reshapes it), except Azure OpenAI deployments."""
    api = provider.api
    if api in ("anthropic", "bedrock", "vertex"):
        return "anthropic"
    if api in ("openai", "ollama"):
        return "openai"
    if api == "openai-responses":
        return "responses"
    if api == "simulated":
        return client
    return provider.cloud.wire if provider.cloud is not None else None


def estimate(inc: Incoming, output: int) -> int:
    """Tokens this request is expected to cost: a cheap input estimate plus its expected
    `output` (`estimate_output`)."""
    return len(inc.body) // 4 + output


def estimate_output(inc: Incoming) -> int:
    """The output part of `estimate`: `max_tokens`, but no more than OUTPUT_ESTIMATE."""
    return min(inc.max_tokens or DEFAULT_MAX_TOKENS, OUTPUT_ESTIMATE)


def context_need(inc: Incoming, smallest_window: int, output: int) -> int:
    """What a step's context window must hold for this request: the input's floor (never
    above the real count, so no step that would take it is skipped) plus its expected
    `output` (`estimate_output`). The floor's scans (images, escapes) only lower it, so they
    run only for a body whose size alone would overflow the chain's smallest window; any
    other request costs a division."""
    rough = int(len(inc.body) / BYTES_PER_TOKEN_MAX) + output
    return rough if rough <= smallest_window else input_floor(inc.body) + output


_SYNTHESIZED = re.compile(rb'"signature"\s*:\s*"(?:' + re.escape(SIGNATURE_PREFIX.encode()) + rb'|")')
_SIGNATURE = re.compile(rb'"signature"\s*:\s*"')
_RELAY_MADE = SIGNATURE_PREFIX.encode()
_SAMPLING_KEY = re.compile(rb'"(?:temperature|top_p|top_k)"\s*:')
_SIGNED = re.compile(rb'"(?:signature|data)"\s*:\s*"([^"\\]+)"')


class Producers(Protocol):
    """Who made which thinking signature (`runtime.routing.thinking_owners.ThinkingOwners`)."""

    def may_differ(self, target: Owner) -> bool: ...
    def get(self, signature: str, now: float) -> Owner | None: ...


@functools.lru_cache(maxsize=256)
def _hints(api: str, base_url: str) -> OpenAIHints:
    return hints_for(api, base_url)


class Disowned:
    """Every signature is someone else's: for the one retry after an upstream refused a
    signature relay could not place (made before a restart, or by another worker)."""

    def may_differ(self, target: Owner) -> bool:
        return True

    def get(self, signature: str, now: float) -> Owner:
        return "", ""


def signature_refused(status: int, body: bytes, inc: Incoming) -> bool:
    """The upstream's 400 for a thinking block it cannot accept, on a request that carried some."""
    return (
        status == 400
        and b"signature" in body
        and b"thinking" in body
        and (b'"signature"' in inc.body or b'"redacted_thinking"' in inc.body)
    )


class Thinking(NamedTuple):
    """What the step's thinking may carry: who it is (`target`), who made what (`producers`)."""

    target: Owner
    producers: Producers
    now: float


def _anthropic_passthrough(inc: Incoming, step: Step, thinking: Thinking) -> Body:
    """The body for an Anthropic upstream and what it had to lose: thinking blocks relay
    synthesized from another provider's reasoning (no real signature: a 400) or another
    account or model family signed (`strip_foreign`), and sampling parameters the step's
    model refuses where the table knows its family (`sampling.fit_request`). Raw-bytes scans
    keep the full decode off the common path."""
    strip = _must_strip(inc.body, thinking)
    fit = known_sampling(step.model) and _SAMPLING_KEY.search(inc.body) is not None
    if not strip and not fit:
        return Body(inc.body_with_model(step.model))
    body, lost = inc.full(), 0
    dropped: tuple[str, ...] = ()
    if strip:
        producers, now = thinking.producers, thinking.now
        body, lost = strip_foreign(body, lambda sig: producers.get(sig, now), thinking.target)
    if fit:
        body, dropped = fit_request(body, step.model, inc.anthropic_version)
    return Body(_encode({**body, "model": step.model}), dropped, lost)


def _must_strip(body: bytes, thinking: Thinking) -> bool:
    """Whether the body may hold a block its target rejects: a relay-made or empty signature,
    or one another account or model signed. redacted_thinking carries its signature as
    `data`, a name images share: the decoded body decides for those. While every known
    signature is the target's own, one search for relay-made ones is all it costs."""
    if not thinking.producers.may_differ(thinking.target):
        return _SYNTHESIZED.search(body) is not None
    if b'"redacted_thinking"' in body:
        return True
    target, get, now = thinking.target, thinking.producers.get, thinking.now
    for value in _signature_values(body):
        if not value or value.startswith(_RELAY_MADE):
            return True
        made_by = get(value.decode("ascii", "replace"), now)
        if made_by is not None and made_by != target:
            return True
    return False


def _signature_values(body: bytes) -> Iterator[bytes]:
    """Each string value of a `"signature"` key. Its end is found with `bytes.find`: a regular
    expression's character class over long signatures costs four times more. A value with an
    escape is no signature (those are base64, or `relay:<provider>`) and is passed over."""
    match = _SIGNATURE.search(body)
    while match is not None:
        start = match.end()
        end = body.find(b'"', start)
        if end < 0:
            return
        value = body[start:end]
        if b"\\" not in value:
            yield value
        match = _SIGNATURE.search(body, end + 1)


def signatures(raw: bytes) -> list[str]:
    """The thinking signatures in a whole Anthropic answer (redacted blocks' `data` too)."""
    if b'"signature"' not in raw and b'"redacted_thinking"' not in raw:
        return []
    return [m.decode("ascii", "replace") for m in _SIGNED.findall(raw)]


class Body(NamedTuple):
    """The step's body and what it left out of the client's request: fields the target does
    not take (sampling parameters, `x-relay-dropped`) and thinking blocks it cannot accept
    (`x-relay-thinking-dropped`)."""

    data: bytes
    dropped: tuple[str, ...] = ()
    thinking_dropped: int = 0


def same_format(inc: Incoming, target: WireFormat) -> bool:
    """Whether the step takes the client's own bytes (passthrough)."""
    return target == inc.fmt or (target == "responses" and inc.responses is not None)


def _as_chat(inc: Incoming, step: Step, hints: OpenAIHints) -> dict[str, Any]:
    """The request as Chat Completions: the client's own, or an Anthropic one translated
    with `hints` (a chat server's quirks; none for a Responses step, which O→R reshapes)."""
    if inc.fmt == "openai":
        return inc.full()
    can_reason = step.capabilities is None or "thinking" in step.capabilities
    return anthropic_request_to_openai(
        inc.full(), upstream_model=step.model, provider_hints=hints, model_can_reason=can_reason
    )


def request_body(
    inc: Incoming, step: Step, provider: Provider, target: WireFormat, thinking: Callable[[], Thinking]
) -> Body:
    """A same-format body is the client's own (`model` aside) but for what the target would
    refuse (`_anthropic_passthrough`). `thinking` is asked only there: what the step's
    thinking may carry means nothing to the other formats."""
    if inc.responses is not None and target == "responses":
        return Body(inc.responses.body_with_model(step.model))
    if target == inc.fmt:
        if target == "anthropic":
            return _anthropic_passthrough(inc, step, thinking())
        return Body(inc.body_with_model(step.model))
    return _translated_body(inc, step, provider, target)


def _translated_body(inc: Incoming, step: Step, provider: Provider, target: WireFormat) -> Body:
    if target == "responses":
        chat = _as_chat(inc, step, DEFAULT_HINTS)
        return Body(_encode(openai_request_to_responses(chat, upstream_model=step.model)))
    if target == "openai":
        return Body(_encode(_as_chat(inc, step, _hints(provider.api, provider.base_url))))
    dropped: list[str] = []
    out = openai_request_to_anthropic(
        inc.full(),
        upstream_model=step.model,
        anthropic_version=TRANSLATED_VERSION,
        default_max_tokens=DEFAULT_MAX_TOKENS,
        dropped=dropped,
    )
    return Body(_encode(out), tuple(dropped))


def response_body(
    raw: bytes, target: WireFormat, inc: Incoming, step: Step, name: str
) -> tuple[bytes, Usage | None]:
    """The client's body and the usage it reports, naming the model `name` (`client_model`);
    raises on a body that is not JSON."""
    if same_format(inc, target):
        top = _top.decode(raw)
        usage_raw = top.get("usage")
        usage_obj: Any = _any.decode(usage_raw) if usage_raw is not None else None
        usage = usage_of.of(target, usage_obj)
        if name != step.model and "model" in top:
            top["model"] = msgspec.Raw(_encode(name))
            raw = _encode(top)
        return raw, usage
    body = _any.decode(raw)
    if target == "responses":
        chat = responses_response_to_openai(body, client_model=name)
        usage = usage_of.of("responses", body.get("usage"))
        if inc.fmt == "openai":
            return _encode(chat), usage
        return _encode(openai_response_to_anthropic(chat, client_model=name)), usage
    if target == "openai":
        out = openai_response_to_anthropic(body, client_model=name)
        return _encode(out), usage_of.of("openai", body.get("usage"))
    out = anthropic_response_to_openai(body, client_model=name)
    return _encode(out), usage_of.of("anthropic", body.get("usage"))


class _Translated:
    """Gives the translation state machines the loop's adapter interface; a `FrameWatch` on
    the upstream's own frames tells where content begins and what error it reported."""

    def __init__(self, machine: Any, client: ClientFormat, upstream: WireFormat) -> None:
        self._m = machine
        self._client = client
        self.watch = FrameWatch(upstream)
        self._buf = b""
        self.errored = False

    @property
    def done(self) -> bool:
        return bool(self._m.done)

    @property
    def usage(self) -> Usage | None:
        raw = self._m.usage
        if raw is None:
            return None
        return usage_of.of(self._client, raw)

    def _watch_out(self, out: bytes) -> bytes:
        marker = b"event: error" if self._client == "anthropic" else b'data: {"error"'
        if marker in out:
            self.errored = True
        return out

    def _watch_in(self, chunk: bytes) -> None:
        if self.watch.done:
            return
        buf = self._buf + chunk if self._buf else chunk
        frames, end = cut_frames(buf)
        self._buf = buf[end:]
        for frame in frames:
            with contextlib.suppress(Malformed):  # the machine's SSE parser skips such lines
                self.watch.take(frame)

    def start(self) -> bytes:
        return bytes(self._m.start())

    def keepalive(self) -> bytes:
        return bytes(self._m.keepalive())

    def feed(self, chunk: bytes) -> bytes:
        self._watch_in(chunk)
        return self._watch_out(self._m.feed(chunk))

    def finish(self) -> bytes:
        return self._watch_out(self._m.finish())

    def fail(self, err: RelayError) -> bytes:
        self.errored = True
        row = err.row
        kind = row.anthropic_type if self._client == "anthropic" else row.openai_type
        return bytes(self._m.fail(kind, err.message))


def client_model(inc: Incoming, step: Step, naming: ResponseModel) -> str:
    """The model name the client's answer carries (`server.response_model`): the name it asked
    for, or the step's model id (a same-format answer then keeps the upstream's own name)."""
    served = (naming.openai if inc.fmt == "openai" else naming.anthropic) == "served"
    return step.model if served else inc.model


def stream_adapter(inc: Incoming, target: WireFormat, step: Step, name: str) -> StreamAdapter:
    if same_format(inc, target):
        return PassthroughStream(target, name, step.model)
    to_anthropic: Any = None
    if inc.fmt == "anthropic" and target != "anthropic":
        to_anthropic = OpenAIToAnthropicStream(name, len(inc.body) // 4, provider=step.provider)
    if target == "responses":
        chat = ResponsesToOpenAIStream(
            name, inc.include_usage or to_anthropic is not None, provider=step.provider
        )
        machine: Any = chat if to_anthropic is None else Composed(chat, to_anthropic)
    elif target == "openai":
        machine = to_anthropic
    else:
        machine = AnthropicToOpenAIStream(name, inc.include_usage, provider=step.provider)
    return _Translated(machine, inc.fmt, target)


def error_body(status: int, body: bytes, target: WireFormat, client: ClientFormat, provider: str) -> bytes:
    """The Responses API's error object is Chat Completions' own."""
    source: ClientFormat = "openai" if target == "responses" else target
    if source == client:
        return body
    return translate_error_body(status, body, source=source, target=client, provider=provider)
