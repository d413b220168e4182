"""The server: the RSGI app Granian runs, and one request's journey through it.

Owns loading and hot swap of the artifact (`loader`, `overlay`), client access and request
bodies (`access`, `body`, `body_budget`, `incoming`), the endpoints (`exchange`), the
waterfall loop over a plan and its attempts (`waterfall`, `attempt`, `bridge`, `outcome`,
`failure`), redaction and logs (`redact`, `log`), active health probes' calls
(`health_check`), and the process around it (`serve`, `start_checks`, `listen`, `drain`,
`memory`, `service`). The top of the runtime: it may import every other room, and nothing
imports it but `python -m runtime.server.serve` and Granian.
"""
