"""Typed models of a definition file: server, models (aliases), chains, and the top level.

`DefinitionFile` is what one YAML file may hold; the merged set of all files has the same
shape. See `model_provider` for the providers section and the note on descriptions.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from compiler.language.fields import (
    DATE_RE,
    HOST_RE,
    LISTEN_RE,
    ORIGIN_RE,
    STATE_RE,
    STEP_RE,
    URL_RE,
    USAGE_RE,
    Duration,
    Name,
    StepRef,
    Strict,
)
from compiler.language.provider import ProviderDef, TimeoutsDef
from runtime.artifact import Capability, LogFormat, LogLevel, Strategy, WebhookEvent


class KeysDef(Strict):
    """A list of accepted keys."""

    keys: list[str] = Field(
        default_factory=list,
        description="Accepted keys, each an environment reference such as `${RELAY_API_KEY}`.",
    )


class LogDef(Strict):
    """Logging settings."""

    level: LogLevel = Field("info", description="Lowest level logged.")
    format: LogFormat = Field("json", description="One JSON object per line, or plain text.")
    prompts: bool = Field(False, description="Log prompt and completion bodies (off: never logged).")


class ConnectionsDef(Strict):
    """Bounds on relay's own client connections."""

    header_timeout: Duration = Field(
        10.0,
        gt=0,
        description="Time to receive a request's headers; also how long an idle kept-alive "
        "connection stays open. Takes effect at restart.",
    )
    body_timeout: Duration = Field(
        60.0, gt=0, description="Time to receive a whole request body (slower bodies get 408)."
    )
    max: int = Field(
        10_000, ge=16, description="Open client connections per worker; takes effect at restart."
    )


class WebhookDef(Strict):
    """A receiver for the state events an operator must hear about."""

    url: str = Field(pattern=URL_RE, description="Where relay POSTs each event (JSON).")
    events: list[WebhookEvent] = Field(
        min_length=1,
        description="Which events: chain_exhausted (every step of a chain failed or was unavailable), "
        "breaker_opened, key_marked_bad, reload_refused.",
    )
    secret: str | None = Field(
        None,
        description="HMAC-SHA256 key, from the environment (`${WEBHOOK_SECRET}`): each POST carries "
        "x-relay-signature: sha256=HEX over `<x-relay-timestamp>.<body>`.",
    )


class UsageDef(Strict):
    """Where each finished request's usage row is stored, and for how long."""

    store: str = Field(
        "sqlite",
        pattern=USAGE_RE,
        description="off; sqlite (this build's own file under $XDG_STATE_HOME/relay/usage/, else "
        "~/.local/state/relay/usage/); sqlite:///absolute/path; or postgresql://user@host/db.",
    )
    retention: Duration = Field(
        90 * 86400.0, description="How long rows are kept (e.g. 90d); 0 keeps them forever."
    )
    queue: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="Rows a worker holds for the store at most while it is slow or unreachable; "
        "past that, rows are dropped and counted (never blocking a request).",
    )


class CorsDef(Strict):
    """Web apps on other origins that may call relay's client API from a browser."""

    origins: list[Annotated[str, StringConstraints(pattern=ORIGIN_RE)]] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) whose pages may call /v1/* and get CORS answers; "
        "relay's own origin (the dashboard) needs no entry. Empty: every other origin is refused.",
    )


class ResponseModelDef(Strict):
    """Per client format: the model name answers carry."""

    anthropic: Literal["requested", "served"] = Field(
        "requested",
        description="requested: the name the client asked for (Claude Code checks it); served: the step's model id.",
    )
    openai: Literal["requested", "served"] = Field(
        "requested",
        description="requested: the chain or alias the client asked for; served: the model that answered, as the upstream names it.",
    )


class ServerDef(Strict):
    """How relay serves."""

    listen: str = Field(
        "127.0.0.1:8787",
        pattern=LISTEN_RE,
        description="host:port to serve on. A non-loopback address requires auth.keys.",
    )
    auth: KeysDef | None = Field(
        None, description="Client keys, sent as x-api-key or Authorization: Bearer. None: no client auth."
    )
    admin: KeysDef | None = Field(
        None, description="Keys for /admin/*; without them admin answers on loopback only."
    )
    state: str = Field(
        "memory",
        pattern=STATE_RE,
        description="Where cooldowns and windows live: memory (one process) or redis://host:port/db.",
    )
    default_chain: str | None = Field(None, description="Chain used when a requested model matches nothing.")
    allow_direct: bool = Field(False, description='Let clients ask for "provider/model" directly.')
    timeouts: TimeoutsDef | None = Field(None, description="Default upstream timeouts for every provider.")
    log: LogDef | None = Field(None, description="Logging; prompts are never logged unless asked.")
    max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest request body accepted, in bytes."
    )
    keepalive: Duration = Field(
        15.0,
        description="Seconds of upstream silence in a stream after which the client gets a keep-alive "
        "(`event: ping` for Anthropic clients, an SSE comment for OpenAI clients); 0 sends none. "
        "timeouts.stream_idle still ends a dead upstream.",
    )
    max_body_memory: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="Request body bytes one worker holds at once; a request waits for room "
        "(up to connections.body_timeout), then gets 503 (529 on /v1/messages).",
    )
    connections: ConnectionsDef | None = Field(
        None, description="Timeouts and a ceiling for client connections, so idle ones cannot hold relay up."
    )
    drain: Duration = Field(
        30.0,
        gt=0,
        description="On SIGTERM: time running requests and streams get to finish; "
        "streams still open then end with an error event.",
    )
    webhooks: list[WebhookDef] = Field(
        default_factory=list,
        description="Receivers of chain_exhausted, breaker_opened, key_marked_bad and reload_refused "
        "events, sent in the background with retries; a dead receiver never slows a request.",
    )
    usage: UsageDef | None = Field(
        None, description="The usage store: one row per finished request, for /admin/usage and relay usage."
    )
    hosts: list[Annotated[str, StringConstraints(pattern=HOST_RE)]] = Field(
        default_factory=list,
        description="Host names relay answers to besides IP addresses and localhost (*.example.com: any "
        "subdomain); a request with another Host header is refused, against DNS rebinding.",
    )
    cors: CorsDef | None = Field(
        None, description="Browser origins besides relay's own that may call the client API."
    )
    response_model: ResponseModelDef | None = Field(
        None,
        description="Per client format: whether answers name the model asked for or the one that served.",
    )


MAX_PRICE = 1000.0
"""USD per million tokens above which a price is a typo (the dearest models cost ~150)."""


class CostDef(Strict):
    """Price in USD per million tokens (free tiers: 0)."""

    input: float = Field(ge=0, le=MAX_PRICE, description="USD per million input tokens (not cached).")
    output: float = Field(ge=0, le=MAX_PRICE, description="USD per million output tokens.")
    cache_read: float | None = Field(
        None,
        ge=0,
        le=MAX_PRICE,
        description="USD per million tokens read from the prompt cache; default: input.",
    )
    cache_write: float | None = Field(
        None,
        ge=0,
        le=MAX_PRICE,
        description="USD per million tokens written to the prompt cache; default: input.",
    )


class ReferenceDef(CostDef):
    """What the same tokens would cost on the paid service you would otherwise use, and when
    that price was read."""

    date: str = Field(pattern=DATE_RE, description="When this price was checked, YYYY-MM-DD.")
    source: str | None = Field(None, description="Where the price comes from (a pricing page).")


class ModelTargetDef(Strict):
    """A provider's id for a model, with an optional price of its own."""

    id: str = Field(min_length=1, description="Upstream model id sent in the request body.")
    cost: CostDef | None = Field(None, description="This provider's price, overriding the model's cost.")


class ModelDef(Strict):
    """A logical model name and what each provider calls it."""

    context: int | None = Field(None, ge=1, description="Context window in tokens.")
    capabilities: list[Capability] = Field(
        default_factory=list, description="What the model supports: tools, vision, thinking, json, stream."
    )
    cost: CostDef | None = Field(
        None, description="USD per million tokens, for cost routing and savings figures."
    )
    providers: dict[str, str | ModelTargetDef] = Field(
        default_factory=dict,
        description="Provider name to its upstream model id, or {id, cost}. "
        "Steps provider/<this name> resolve here.",
    )


class StepDef(Strict):
    """One chain step with options."""

    use: str = Field(
        pattern=STEP_RE,
        description="provider/model: a model alias from models:, or a raw upstream id passed verbatim.",
    )
    weight: float = Field(1.0, gt=0, description="Relative share for round-robin and shuffle strategies.")


class QueueDef(Strict):
    """Waiting for capacity when every step is cooling down."""

    max_wait: Duration = Field(
        0.0, description="When every step cools down, wait up to this for one to recover."
    )
    max_depth: int = Field(
        64, ge=0, description="Requests allowed to wait at once; more are refused with 429."
    )
    retry_after_max: Duration = Field(
        0.0,
        description="Largest retry-after sent when every step is out (0: the real wait). Claude Code "
        "retries only when retry-after is at most 60 s: 60s makes it ride out a longer exhaustion.",
    )


class AffinityDef(Strict):
    """When a conversation that failed over goes back to an earlier step (failover chains)."""

    return_after: Duration = Field(
        60.0,
        description="A conversation that failed over stays on the later step at most this long while an "
        "earlier step can serve; it returns sooner once that earlier step has answered again.",
    )


class ChainDef(Strict):
    """A named, ordered list of provider/model steps."""

    strategy: Strategy = Field(
        "failover", description="How steps are tried: failover is the ordered waterfall."
    )
    steps: list[StepRef | StepDef] = Field(
        default_factory=list, description="Candidates as provider/model, or {use: provider/model, weight: 2}."
    )
    match: list[str] = Field(
        default_factory=list,
        description='Requested model names routed here: literals or globs like "claude-*"; '
        "a literal beats a glob, the longest literal prefix wins among globs.",
    )
    queue: QueueDef | None = Field(None, description="Waiting when every step is cooling down.")
    affinity: AffinityDef | None = Field(
        None, description="How long a conversation stays on the step it failed over to."
    )
    retry_wait: Duration = Field(
        0.0,
        le=30,
        description="When the first candidate answers 429/503/529 with a retry-after of at most this, wait "
        "it out and try that candidate once more before falling over; 0 (default) falls over at once.",
    )


class TokensDef(Strict):
    """A range of estimated input tokens (body bytes / 4), bounds excluded."""

    above: int | None = Field(None, ge=0, description="Matches when the estimate is more than this.")
    below: int | None = Field(None, ge=1, description="Matches when the estimate is less than this.")


class WhenDef(Strict):
    """Conditions on a request; a rule matches when every condition given holds."""

    model: list[str] | None = Field(
        None, min_length=1, description='Requested model names, literals or globs like "claude-haiku-*": any.'
    )
    input_tokens: TokensDef | None = Field(None, description="Estimated input tokens above and/or below.")
    thinking: bool | None = Field(
        None,
        description="Whether the client asked for thinking (Anthropic thinking, OpenAI reasoning_effort).",
    )
    tools: bool | None = Field(None, description="Whether the request offers tools.")
    tool_types: list[str] | None = Field(
        None,
        min_length=1,
        description='Tools offered, by type or name, any of: "web_search" matches web_search_20250305.',
    )
    images: bool | None = Field(None, description="Whether any message holds an image.")
    stream: bool | None = Field(None, description="Whether the client asked for a stream.")
    client_key: list[str] | None = Field(
        None,
        min_length=1,
        description="The client key used, by the environment variable it comes from in server.auth.keys: any.",
    )
    headers: dict[str, str] | None = Field(
        None, description="Request headers that must match, name to a literal or glob value: all."
    )


class RuleDef(Strict):
    """A routing rule: requests matching `when` go to `chain`. Rules are tried in order
    (files in path order, then as written); the first that matches wins, else model names."""

    when: WhenDef = Field(description="The conditions; every one given must hold.")
    chain: str = Field(min_length=1, description="The chain that serves a matching request.")


class DefinitionFile(Strict):
    version: Literal[1] = Field(description="Definition format version; 1 is the only one.")
    server: ServerDef | None = Field(
        None, description="How relay serves: address, client auth, state, defaults."
    )
    providers: dict[Name, ProviderDef] = Field(
        default_factory=dict, description="Upstreams by name; a name is used as provider/ in steps."
    )
    models: dict[str, ModelDef] = Field(
        default_factory=dict, description="Logical model names (aliases) mapped to each provider's own id."
    )
    chains: dict[str, ChainDef] = Field(
        default_factory=dict, description="Named, ordered lists of provider/model steps that clients request."
    )
    references: dict[str, ReferenceDef] = Field(
        default_factory=dict,
        description="Reference prices by logical model or chain name: what the tokens would cost on "
        "the paid service otherwise used; saved = reference cost - actual cost. A chain's wins.",
    )
    rules: dict[Name, RuleDef] = Field(
        default_factory=dict,
        description="Routing rules by name, tried in order before model-name resolution; the first "
        "whose conditions all hold picks the chain (x-relay-route names it).",
    )
