"""The usage table's versioned schema: each migration moves a store one version forward.

A store records its version in `schema_version`; opening applies every later migration in
one transaction, so several workers opening at once migrate once (SQLite takes the write
lock first, PostgreSQL an advisory lock). Migrations are append-only: never edit a shipped
one, add the next.
"""

from __future__ import annotations

COLUMNS = (
    "at",
    "request_id",
    "chain",
    "format",
    "model",
    "provider",
    "upstream_model",
    "key",
    "status",
    "attempts",
    "latency_ms",
    "ttfb_ms",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "list_cost_usd",
    "route",
)
"""A row, in order; `input_tokens` is the whole prompt, cache parts included."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE usage (
            at DOUBLE PRECISION NOT NULL, request_id TEXT NOT NULL, chain TEXT NOT NULL,
            format TEXT NOT NULL, model TEXT NOT NULL, provider TEXT, upstream_model TEXT,
            key TEXT, status INTEGER NOT NULL, attempts INTEGER NOT NULL,
            latency_ms DOUBLE PRECISION NOT NULL, ttfb_ms DOUBLE PRECISION,
            input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
            cached_tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL,
            list_cost_usd DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX usage_at ON usage (at)",
    ),
    (
        "ALTER TABLE usage ADD COLUMN cache_read_tokens BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE usage ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0",
        "UPDATE usage SET cache_read_tokens = cached_tokens",
        "ALTER TABLE usage DROP COLUMN cached_tokens",
        "CREATE INDEX usage_provider_at ON usage (provider, at)",
    ),
    ("ALTER TABLE usage ADD COLUMN route TEXT",),
)
"""Version n is reached by applying MIGRATIONS[n-1]. Version 2 split cached tokens into cache
reads and writes (priced differently); rows from version 1 count as reads. Version 3 adds the
routing rule that picked the chain (NULL: the model name did, and for every older row)."""

VERSION = len(MIGRATIONS)
