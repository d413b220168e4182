"""The compiled routing artifact: the one contract between `relay build` and `relay run`.

The runtime owns these types and the compiler imports them, never the reverse, so a
worker can load `generated/` without touching YAML, JSON Schema or templates. Every
struct is frozen: a loaded artifact is an immutable snapshot that hot reload swaps
behind one reference. Durations are float seconds; names are the ones users wrote.

Files in an output folder (see `runtime.server.loader` for the reader):

- `routing.json`: an `Artifact`, JSON with sorted keys, deterministic and secret-free.
- `providers/<module>.py`: one generated module per provider (`ProviderModule`).
- `lint.json` / `lint.txt`: the lint report (not read by the runtime).
- `secrets.json`: a `Secrets`, mode 0600, git-ignored; the only file holding key values.
- `lint.env.json` / `lint.env.txt`: the environment's part of the lint report, git-ignored.
- `manifest.json`: a `Manifest`, written last; a reader that sees it sees a complete set.

Everything committed (all but `secrets.json` and `lint.env.*`) is built without reading the
environment, so it is the same on every machine: `routing.json` is what the definitions
mean with no variable set (references kept as written, keys absent, their providers
disabled). What this machine's environment adds (keys and their fingerprints, enabled
providers, values from `${VAR}`) is in `secrets.json`, which the loader lays over
`routing.json` to get the artifact the runtime serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

FORMAT_VERSION = 3
"""2: routing.json and the provider modules are environment-free; `Secrets` carries the rest.

Bumped on any incompatible change; the runtime refuses other versions and says to rebuild."""

Api = Literal["anthropic", "openai", "openai-responses", "ollama", "bedrock", "vertex", "azure", "simulated"]
"""Wire format a provider speaks. `ollama` is OpenAI-format on `/v1`; `openai-responses` is
OpenAI's Responses API (`/responses`)."""

Strategy = Literal["failover", "round-robin", "shuffle", "latency", "cost", "usage"]

RateLimitFamily = Literal["anthropic", "openai", "groq", "cerebras", "openrouter", "none"]
"""Which rate-limit header dialect a provider's responses carry; chosen at build time."""

Capability = Literal["tools", "vision", "thinking", "json", "stream"]

LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["json", "text"]
WebhookEvent = Literal["chain_exhausted", "breaker_opened", "key_marked_bad", "reload_refused"]


class _Frozen(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for every artifact struct: immutable, keyword-only, strict on decode."""


class Limits(_Frozen, frozen=True):
    """Configured per-key ceilings; learned headers may lower them at run time, never raise."""

    rpm: int | None = None
    rpd: int | None = None
    tpm: int | None = None
    tpd: int | None = None
    concurrency: int | None = None


class Timeouts(_Frozen, frozen=True):
    connect: float = 5.0
    first_byte: float = 60.0
    stream_idle: float = 60.0
    total: float = 600.0


class Key(_Frozen, frozen=True):
    """One upstream credential. The value lives only in `secrets.json` under `id`."""

    id: str
    """Stable id, `<provider>#<name>`; names the value in `Secrets.keys`."""
    name: str
    fingerprint: str
    """`sha256:` + 8 hex digits of the value: lets state carry over a rebuild when unchanged."""
    limits: Limits
    """Provider limits with this key's own overrides applied."""
    account: str = ""
    """The upstream account the key belongs to (`account:`, else its fingerprint): thinking
    signed under one account is accepted only by keys of that account."""


class Breaker(_Frozen, frozen=True):
    failures: int = 5
    window: float = 30.0
    open_for: float = 30.0


class Health(_Frozen, frozen=True):
    interval: float | None = None
    """Seconds between active probes; None means passive health only."""


class Simulate(_Frozen, frozen=True):
    """Behaviour of the built-in `simulated` provider (no network, no key)."""

    latency: float = 0.2
    tokens_per_s: float = 80.0
    rpm: int | None = None
    failure_rate: float = 0.0
    call_tools: bool = False
    """Call an offered tool unasked; otherwise only a forced `tool_choice` gets a tool call."""


CloudWire = Literal["anthropic", "openai"]
CredentialSource = Literal["keys", "aws-chain", "google-adc", "google-service-account", "entra-id"]


class Cloud(_Frozen, frozen=True):
    """What a bedrock, vertex or azure provider needs beyond a base URL (`runtime.upstream.cloud`)."""

    wire: CloudWire = "anthropic"
    """Format of the bodies: Anthropic Messages, or OpenAI for Azure OpenAI deployments."""
    region: str | None = None
    project: str | None = None
    deployments: dict[str, str] = {}
    """Azure: model id to deployment name; a model not listed is its own deployment name."""
    api_version: str | None = None
    """Azure OpenAI `api-version` (the dated API); None: the v1 API."""
    credentials: CredentialSource = "keys"
    """Where the credential comes from at run time; `keys` means the provider's own keys."""
    credentials_file: str | None = None
    """Vertex: a service-account JSON file read by google-auth in the worker."""


class Provider(_Frozen, frozen=True):
    name: str
    api: Api
    base_url: str
    module: str
    """File stem of this provider's generated module under `providers/`."""
    rate_limit_family: RateLimitFamily
    keys: tuple[Key, ...] = ()
    limits: Limits = Limits()
    headers: tuple[tuple[str, str], ...] = ()
    """Extra static headers sent upstream, lower-case names, in the order written."""
    timeouts: Timeouts = Timeouts()
    breaker: Breaker = Breaker()
    health: Health = Health()
    simulate: Simulate | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    """Why a provider serves nothing (for example: every key optional and unset)."""
    cloud: Cloud | None = None
    """Set for api bedrock, vertex and azure."""


class Price(_Frozen, frozen=True):
    """USD per million tokens of each kind, as written; a cost is one multiply-add per kind."""

    input: float = 0.0
    output: float = 0.0
    cache_read: float = 0.0
    cache_write: float = 0.0

    def cost(self, tokens: Mapping[str, int]) -> float:
        """USD for `tokens` in the usage shape (`input` is the whole prompt, cache parts
        included). Here, beside the numbers, so `relay build`'s estimates and the runtime's
        per-request cost are the same arithmetic."""
        read = tokens.get("cache_read", 0)
        write = tokens.get("cache_write", 0)
        fresh = max(tokens.get("input", 0) - read - write, 0)
        return (
            fresh * self.input
            + tokens.get("output", 0) * self.output
            + read * self.cache_read
            + write * self.cache_write
        ) / 1_000_000


class Step(_Frozen, frozen=True):
    """One provider+model candidate of a chain, with the alias already resolved."""

    provider: str
    model: str
    """The upstream model id sent in the request body."""
    alias: str | None = None
    """The logical model name from `models:` this step came from, if any."""
    weight: float = 1.0
    capabilities: tuple[Capability, ...] | None = None
    """None for raw model ids: capabilities unknown, nothing is skipped for them."""
    context: int | None = None
    cost_input: float | None = None
    """USD per million input tokens."""
    cost_output: float | None = None
    price: Price | None = None
    """What this step's tokens cost (None: unpriced, counted as free)."""
    reference: Price | None = None
    """What the same tokens would cost on the paid service the user would otherwise use (the
    chain's reference, else the alias's); None: its own price, so nothing is saved."""


class Queue(_Frozen, frozen=True):
    max_wait: float = 0.0
    max_depth: int = 64
    retry_after_max: float = 0.0
    """Cap on the retry-after of an exhausted chain's answer; 0: none (docs/routing.md)."""


AFFINITY_RETURN = 60.0


class Chain(_Frozen, frozen=True):
    name: str
    strategy: Strategy = "failover"
    steps: tuple[Step, ...] = ()
    match: tuple[str, ...] = ()
    queue: Queue = Queue()
    affinity_return: float = AFFINITY_RETURN
    retry_wait: float = 0.0
    """Longest `retry-after` the first candidate tried may state (429, 503, 529) that relay waits
    out to try it once more before falling over; 0 falls over at once."""
    """Failover chains: seconds a conversation that failed over stays on a later step while an
    earlier one could serve; sooner once that earlier step has answered again."""
    model: str | None = None
    """Set on the chain relay builds for a logical model of `models:` asked for by its name."""


class GlobRule(_Frozen, frozen=True):
    """A precompiled `match` glob; `prefix` rejects most names before the regex runs."""

    pattern: str
    prefix: str
    regex: str
    """Anchored Python regex equivalent to the glob."""
    chain: str


class Rule(_Frozen, frozen=True):
    """One routing rule, compiled: every condition that is set must hold (`runtime.rules`)."""

    name: str
    chain: str
    models: tuple[str, ...] = ()
    """Anchored regexes of the `model` globs and literals; any may match."""
    above: int | None = None
    below: int | None = None
    thinking: bool | None = None
    tools: bool | None = None
    tool_types: tuple[str, ...] = ()
    images: bool | None = None
    stream: bool | None = None
    client_keys: tuple[str, ...] = ()
    """Names (environment variables) of client keys; any may match."""
    headers: tuple[tuple[str, str], ...] = ()
    """Lower-case header name and an anchored regex of its value; all must match."""
    text: str = ""
    """The conditions as written, for `relay explain` and docs."""


class Routes(_Frozen, frozen=True):
    """Model-name resolution, flattened at build time (see config-format.md)."""

    exact: dict[str, str]
    """Chain names and literal `match` patterns to chain name."""
    globs: tuple[GlobRule, ...] = ()
    """In priority order: longest literal prefix first."""
    default_chain: str | None = None
    allow_direct: bool = False
    rules: tuple[Rule, ...] = ()
    """Routing rules in order, tried before the model name (`runtime.rules`)."""


class LogConfig(_Frozen, frozen=True):
    level: LogLevel = "info"
    format: LogFormat = "json"
    prompts: bool = False


class Connections(_Frozen, frozen=True):
    """Bounds on relay's own client connections, so idle or slow ones cannot hold it up."""

    header_timeout: float = 10.0
    """Seconds to receive a request's headers, counted from the connect or, on a kept-alive
    connection, from the end of the previous response: it is also the keep-alive idle limit
    (Granian's HTTP/1 header read timeout). Read at start; a reload does not change it."""
    body_timeout: float = 60.0
    """Seconds to receive a whole request body, and the longest a request waits for room
    in `Server.max_body_memory`."""
    max: int = 10_000
    """Open client connections per worker (Granian's backpressure); more wait in the
    listen backlog. Read at start; a reload does not change it."""


class Webhook(_Frozen, frozen=True):
    """Where state events an operator must hear about are POSTed (`runtime.ops.webhooks`)."""

    url: str
    events: tuple[WebhookEvent, ...]
    secret: str | None = None
    """HMAC-SHA256 key for `x-relay-signature`; from the environment (secrets.json)."""


class UsageStore(_Frozen, frozen=True):
    """Where each finished request's usage row goes (`runtime.ops.usage`)."""

    store: str = "sqlite"
    """`off`, `sqlite` (this build's default file under $XDG_STATE_HOME/relay/usage), `sqlite:///abs/path`,
    or a `postgresql://` URL."""
    retention: float = 90 * 86400.0
    """Seconds rows are kept; 0 keeps them forever."""
    queue: int = 10_000
    """Rows a worker holds for the store at most; past that they are dropped and counted."""


class Cors(_Frozen, frozen=True):
    """Browser origins besides relay's own that may call the client API (`runtime.server.browser`)."""

    origins: tuple[str, ...] = ()
    """`scheme://host[:port]` as a browser sends it in `Origin` (lowercase, default port left out)."""


ModelNaming = Literal["requested", "served"]


class ResponseModel(_Frozen, frozen=True):
    """Per client format: which model name answers carry (`model` in bodies and chunks)."""

    anthropic: ModelNaming = "requested"
    openai: ModelNaming = "requested"


class Server(_Frozen, frozen=True):
    listen: str = "127.0.0.1:8787"
    auth_required: bool = False
    client_key_fingerprints: tuple[str, ...] = ()
    admin_key_fingerprints: tuple[str, ...] = ()
    state: str = "memory"
    """`memory` or a `redis://host:port/db` URL."""
    timeouts: Timeouts = Timeouts()
    log: LogConfig = LogConfig()
    max_body_bytes: int = 32 * 1024 * 1024
    keepalive: float = 15.0
    """Seconds of upstream silence in a stream before the client gets a keep-alive frame; 0: never."""
    max_body_memory: int = 64 * 1024 * 1024
    """Request bytes one worker holds at once, across every request in flight."""
    connections: Connections = Connections()
    drain: float = 30.0
    """On SIGTERM/SIGINT: seconds running requests and streams get to finish; streams still
    open then end with an error event."""
    webhooks: tuple[Webhook, ...] = ()
    usage: UsageStore = UsageStore()
    hosts: tuple[str, ...] = ()
    """Host names served besides IP literals and `localhost` (lowercase; `*.example.com`: any
    subdomain): a request with another `Host` is refused (DNS rebinding)."""
    cors: Cors = Cors()
    response_model: ResponseModel = ResponseModel()


class ModelInfo(_Frozen, frozen=True):
    """A logical model from `models:`, for `/v1/models` and capability checks."""

    name: str
    context: int | None = None
    capabilities: tuple[Capability, ...] = ()
    cost_input: float | None = None
    cost_output: float | None = None
    providers: dict[str, str] = {}
    """Provider name to upstream model id."""


class Artifact(_Frozen, frozen=True):
    format_version: int
    relay_version: str
    source_hash: str
    """`sha256:` + hex of the definition sources, in sorted path order."""
    sources: tuple[str, ...]
    server: Server
    providers: dict[str, Provider]
    models: dict[str, ModelInfo]
    chains: dict[str, Chain]
    routes: Routes


class ModuleOverride(_Frozen, frozen=True):
    """A generated module's constants as this build's environment makes them (a `base_url`
    or header from `${VAR}`); the module itself holds them as written."""

    messages_url: str | None = None
    count_tokens_url: str | None = None
    chat_url: str | None = None
    responses_url: str | None = None
    models_url: str | None = None
    static_headers: tuple[tuple[str, str], ...] = ()


class Secrets(_Frozen, frozen=True):
    """Contents of `secrets.json` (mode 0600, never committed): what depends on the environment."""

    format_version: int
    routing: str
    """`sha256:` digest of the routing.json these values complete; another one is refused."""
    keys: dict[str, str]
    """`Key.id` to the resolved value."""
    client_keys: tuple[str, ...] = ()
    client_key_names: tuple[str, ...] = ()
    """For each of `client_keys`, the environment variable it came from (routing rules' `client_key`)."""
    admin_keys: tuple[str, ...] = ()
    overrides: dict[str, Any] = {}
    """RFC 6901 pointer into routing.json to the value this environment gives it: key lists
    with fingerprints, `enabled`, values built from `${VAR}`. Applied by the loader."""
    modules: dict[str, ModuleOverride] = {}
    """Provider name to its module's constants where the environment changes them."""
    redact: tuple[str, ...] = ()
    """Values from the environment that are credentials besides the keys (a password in
    `server.state`, an `?api_key=` in a base_url): never passed on by the runtime."""


class Manifest(_Frozen, frozen=True):
    """Written last by `relay build`; its appearance or change is what triggers a reload."""

    format_version: int
    relay_version: str
    source_hash: str
    files: dict[str, str]
    """Relative path to `sha256:` + hex of its bytes, for every file but `secrets.json`."""
    secrets_file: str = "secrets.json"
    source_dir: str = ""
    """The definitions folder this build was made from, relative to the build folder (posix),
    so a build committed next to its sources names them on every machine; empty for builds
    made before relay recorded it. The editor (`/admin/definitions`) works on that folder."""
