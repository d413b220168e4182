"""Typed models of the `providers:` section (what users write, before resolution).

These pydantic models are the single source of the definition shape: the JSON Schema in
`schemas/` is generated from them (`python -m compiler.schema`), so every `description`
here is what an editor shows on hover.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from compiler.language.fields import Duration, Name, Strict, Url
from runtime.artifact import Api

AuthStyle = Literal["x-api-key", "bearer", "api-key", "none"]
RateLimitHeaders = Literal["auto", "anthropic", "openai", "groq", "cerebras", "openrouter", "none"]


class LimitsDef(Strict):
    """Per-key ceilings. Unset means no configured limit."""

    rpm: int | None = Field(None, ge=1, description="Requests per minute allowed for one key.")
    rpd: int | None = Field(None, ge=1, description="Requests per day allowed for one key.")
    tpm: int | None = Field(None, ge=1, description="Tokens per minute allowed for one key.")
    tpd: int | None = Field(None, ge=1, description="Tokens per day allowed for one key.")
    concurrency: int | None = Field(None, ge=1, description="Requests in flight at once for one key.")


class TimeoutsDef(Strict):
    """Upstream timeouts; unset fields inherit from server.timeouts."""

    connect: Duration | None = Field(None, description="Time to open the upstream connection.")
    first_byte: Duration | None = Field(None, description="Time until the first response byte arrives.")
    stream_idle: Duration | None = Field(None, description="Longest silence allowed inside a stream.")
    total: Duration | None = Field(None, description="Upper bound for a whole request.")


class KeyDef(Strict):
    """One credential with its own name and limit overrides."""

    key: str = Field(
        description="The secret, as an environment reference: `${NAME}` or optional `${NAME:-}`."
    )
    name: Name | None = Field(
        None, description="Stable name of this key in logs and state; default: its index."
    )
    limits: LimitsDef | None = Field(
        None, description="Overrides of the provider's per-key limits, field by field."
    )
    account: Name | None = Field(
        None,
        description="The upstream account the key belongs to, named across all providers: thinking "
        "signed under one account is sent only to keys of that account; default: the key is its own account.",
    )


class BreakerDef(Strict):
    """Circuit breaker: after `failures` within `window`, skip the provider for `open_for`."""

    failures: int = Field(5, ge=1, description="Failures within `window` that open the circuit breaker.")
    window: Duration = Field(30.0, description="Sliding window in which failures are counted.")
    open_for: Duration = Field(
        30.0, description="How long an open breaker keeps the provider out of rotation."
    )


class HealthDef(Strict):
    """Active health probing."""

    interval: Duration | None = Field(
        None, description="Seconds between active probes; unset: passive health only."
    )


class SimulateDef(Strict):
    """Behaviour of the built-in simulated upstream."""

    latency: Duration = Field(0.2, description="Delay before the first byte of a simulated answer.")
    tokens_per_s: float = Field(80.0, gt=0, description="Streaming speed of simulated answers.")
    rpm: int | None = Field(None, ge=1, description="Requests per minute before the simulator answers 429.")
    failure_rate: float = Field(
        0.0, ge=0, le=1, description="Share of requests answered with a 500 (0 to 1)."
    )
    call_tools: bool = Field(
        False,
        description="Call the first tool a request offers, with sample arguments, and answer its "
        "result on the next turn. Default false: answer with text (a tool the client runs for real, "
        "such as Claude Code's Bash, is only called when asked for here or forced by tool_choice).",
    )


class ProviderDef(Strict):
    """One upstream: its wire format, address, keys and limits."""

    api: Api = Field(description="Wire format the upstream speaks.")
    base_url: Url | None = Field(
        None,
        description="Upstream base URL. Anthropic: without /v1; OpenAI-format and openai-responses: including /v1; "
        "ollama: the server root, with or without /v1. Not used by `simulated`.",
    )
    keys: list[str | KeyDef] = Field(
        default_factory=list,
        description="Credentials, each `${NAME}` (required) or `${NAME:-}` (optional: unset drops it), "
        "or a mapping with key, name and limits. The pool spreads load across them. Cloud providers "
        "without keys use their cloud's own credentials (botocore chain, google-auth, Entra ID).",
    )
    auth: AuthStyle | None = Field(
        None,
        description="Header that carries a key. Default by api: anthropic x-api-key, openai/openai-responses/"
        "ollama/bedrock/vertex bearer, azure api-key (x-api-key for Claude on Azure AI Foundry), simulated none.",
    )
    rate_limit_headers: RateLimitHeaders = Field(
        "auto",
        description="Rate-limit header dialect of responses; auto picks by base_url host "
        "(anthropic.com, groq.com, cerebras.ai, openrouter.ai, else by api).",
    )
    limits: LimitsDef | None = Field(
        None, description="Per-key ceilings; learned headers refine, never exceed them."
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra static headers sent upstream. Committed as written; a value from ${NAME} is "
        "kept in secrets.json. Credentials belong in keys: (with auth:), not here.",
    )
    timeouts: TimeoutsDef | None = Field(None, description="Overrides of server.timeouts for this provider.")
    health: HealthDef | None = Field(None, description="Active health probing; passive health is always on.")
    breaker: BreakerDef | None = Field(None, description="Circuit breaker thresholds.")
    simulate: SimulateDef | None = Field(
        None, description="Behaviour of the built-in fake upstream (api: simulated)."
    )
    region: str | None = Field(
        None,
        description="Cloud region: AWS (bedrock, e.g. us-east-1) or Google Cloud (vertex, e.g. us-east5, "
        "global). Written literally.",
    )
    project: str | None = Field(None, description="Google Cloud project id (vertex). Written literally.")
    deployment: dict[str, str] | None = Field(
        None,
        description="Model id to Azure deployment name (azure); with a map, every model the provider "
        "serves must be listed. Without one, a model id is its own deployment name.",
    )
    api_version: str | None = Field(
        None,
        description="Azure OpenAI api-version (the dated API, e.g. 2024-10-21); unset: the v1 API.",
    )
    credentials_file: str | None = Field(
        None,
        description="Vertex: path of a service-account JSON key file read by google-auth at run time; "
        "unset: application default credentials. Ignored when the provider has keys.",
    )
