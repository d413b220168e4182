"""Command-line clients of a running relay: `relay status` and `relay top`.

They read the management API (docs/admin-api.md) over HTTP with httpx and nothing else:
no import of `runtime` or `compiler`, and the runtime never imports this package.
"""
