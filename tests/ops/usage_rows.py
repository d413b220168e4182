"""Records and rows for the usage store's tests."""

from __future__ import annotations

from runtime.ops.record import AttemptRecord, RequestRecord


def record(
    at: float,
    provider: str | None = "groq",
    chain: str = "free",
    status: int = 200,
    latency: float = 100.0,
    tokens: dict[str, int] | None = None,
    cost: float = 0.0,
    saved: float = 0.0,
    rid: str = "req_1",
) -> RequestRecord:
    return RequestRecord(
        at=at,
        id=rid,
        chain=chain,
        format="openai",
        model="free",
        provider=provider,
        upstream_model="llama" if provider else None,
        key="sha256:1a2b3c4d" if provider else None,
        status=status,
        stream=False,
        attempts=[AttemptRecord(provider or "groq", "llama", "ok" if status < 400 else "server_error")],
        skipped=[],
        latency_ms=latency,
        ttfb_ms=None,
        queued_ms=None,
        tokens=tokens if tokens is not None else {"input": 100, "output": 20, "cached": 0, "total": 120},
        cost_usd=cost,
        saved_usd=saved,
    )
