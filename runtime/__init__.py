"""What `relay run` serves: the compiled artifact, and nothing of the compiler.

Five rooms, each a package with its own rules (each package's docstring says what it must
never import; tests/runtime/test_layers.py checks every rule):

- `server/`: the RSGI app and a request's journey: loading and hot swap, incoming requests,
  the waterfall loop and its attempts, errors and logs, shutdown.
- `routing/`: what relay knows between requests: windows, key state, cooldowns, breakers,
  health, rate-limit headers, affinity, strategies, planning, the wait queue, state
  backends (memory, Redis), probes. Pure policies with an injected clock.
- `upstream/`: whatever answers a step: the aiohttp seam, the simulated provider, the cloud
  transports, the per-provider module interface, and the upstream's stream as relay reads it.
- `translate/`: pure Anthropic ⇄ OpenAI translation and SSE framing.
- `ops/`: what an operator sees: the record of each finished request and state change, and
  the sinks that read them (admin events, metrics, usage store, webhooks).

Beside them, what every room may use: `artifact.py` (the compiler→runtime contract, frozen
types), `routes.py` (the pure model-name router; the compiler's `relay explain` asks it),
`errors.py` (relay's error hierarchy and its one table to both client formats),
`clock.py` and `deadline.py` (the request path's time limits). The runtime never imports `compiler`, `jsonschema`, `ruamel`, `jinja2` or
`typer`; the compiler imports `runtime.artifact` and `runtime.routes` only.
"""
