"""Upstream: whatever answers a step, and the bytes it answers with.

Owns the seam the waterfall calls (`client`: aiohttp, one pooled session per provider),
the built-in simulated provider (`simulated`, `simulated_wire`), the cloud transports
(`cloud/`: Bedrock, Vertex AI, Azure), the interface of the generated provider modules
(`provider_module`), an upstream stream as relay must understand it (`stream_watch`,
`passthrough`) and token usage in one shape (`usage`).

Must never import `runtime.server`: the server drives upstreams, never the reverse.
"""
