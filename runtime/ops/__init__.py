"""What an operator sees: the record each finished request and each state change leaves
behind, and the sinks that consume those records (the admin event stream, Prometheus
metrics, the usage store, webhooks).

The server publishes into a `Feed` once per finished request; sinks must never block it
(each keeps its own bounded queue and counts what it drops). `ops` may import
`runtime.artifact`, `runtime.errors`, `runtime.clock` and read `runtime.routing`'s state;
it never imports `runtime.server` (the server calls into ops, not the reverse), nor the
wire formats of `runtime.translate` or `runtime.upstream`.
"""

METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's multiprocess directory, set by `relay run` before workers fork (and
before prometheus-client is imported, which reads it once): see `runtime.ops.metrics`."""
