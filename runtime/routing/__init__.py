"""Routing: what relay knows between requests, and the pure policies that decide with it.

Owns per-key windows and learned quotas (`windows`, `keystate`), the penalty table and
breakers (`cooldown`, `breaker`, `health`), rate-limit header dialects (`ratelimit`,
`durations`), conversation affinity, strategies and the plan (`affinity`, `strategies`,
`plan`, `planner`), who made which thinking signature (`thinking_owners`), the wait queue, the one state object (`state`), where it is shared
(`backend`, `redis_backend`) and the active-probe loop (`probes`). Every policy takes an
injected clock.

Must never import `runtime.server`, `runtime.upstream` or `runtime.translate`, nor an HTTP
library (aiohttp, granian, httpx), nor `runtime.errors`: routing knows no HTTP and no wire
format; rate-limit headers arrive as a plain mapping.
"""
