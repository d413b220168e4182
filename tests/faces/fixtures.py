"""Management API answers shaped exactly like docs/admin-api.md, of any size: for unit
tests of the renderers and for the dashboard benchmark (50 chains × 5 steps × 10 keys)."""

from __future__ import annotations

from typing import Any

STATUSES = ("ready", "cooling", "ready", "breaker_open", "exhausted", "ready", "disabled", "busy")


def key(provider: str, k: int, status: str = "ready") -> dict[str, Any]:
    return {
        "id": f"{provider}#k{k}",
        "name": f"k{k}",
        "fingerprint": f"sha256:{(hash((provider, k)) & 0xFFFFFFFF):08x}",
        "status": status,
        "reason": "429 from upstream (retry-after 12s)" if status == "cooling" else "",
        "until_s": 11.6 if status != "ready" else None,
        "inflight": 0,
        "breaker": {"state": "closed", "open_s": 0, "recent_failures": 0},
        "windows": [
            {
                "name": "rpm",
                "used": 28,
                "limit": 30,
                "remaining": 2,
                "reset_s": 42.0,
                "limit_source": "configured",
            },
            {
                "name": "tpm",
                "used": 5120,
                "limit": 6000,
                "remaining": 880,
                "reset_s": 31.0,
                "limit_source": "learned",
            },
            {
                "name": "concurrency",
                "used": 0,
                "limit": 8,
                "remaining": 8,
                "reset_s": None,
                "limit_source": "configured",
            },
        ],
        "upstream": {"requests_left": 2, "tokens_left": 880, "reset_s": 31.0},
    }


def state(chains: int = 2, steps: int = 2, keys: int = 1) -> dict[str, Any]:
    """Every step of every chain has its own provider with `keys` keys."""
    chain_list, providers = [], []
    for c in range(chains):
        step_list = []
        for s in range(steps):
            name = f"p{c}-{s}" if chains > 2 else ("groq", "cerebras", "openrouter", "sim")[s % 4] + str(c)
            status = STATUSES[(c * steps + s) % len(STATUSES)]
            step_list.append(
                {
                    "index": s,
                    "provider": name,
                    "model": "llama-3.3-70b-versatile",
                    "alias": "llama-70b",
                    "status": status,
                    "reason": "429 from upstream" if status == "cooling" else "",
                    "until_s": 12.0 if status not in ("ready", "disabled", "busy") else None,
                    "keys_ready": keys if status == "ready" else 0,
                    "keys": keys,
                }
            )
            providers.append(
                {
                    "name": name,
                    "api": "openai",
                    "enabled": status != "disabled",
                    "disabled_reason": "no key set (GROQ_API_KEY)" if status == "disabled" else None,
                    "breaker": {
                        "state": "open" if status == "breaker_open" else "closed",
                        "open_s": 12.0 if status == "breaker_open" else 0,
                        "recent_failures": 5 if status == "breaker_open" else 0,
                        "failures": 5,
                        "window_s": 30,
                        "open_for_s": 30,
                    },
                    "health": {"error_rate": 0.02, "latency_ms": 412.0, "ttfb_ms": 180.0, "scope": "worker"},
                    "keys": [key(name, k, status if k == 0 else "ready") for k in range(keys)],
                }
            )
        chain_list.append(
            {
                "name": f"chain-{c}" if chains > 2 else ("free", "claude")[c % 2],
                "strategy": "failover",
                "model": None,
                "match": [],
                "queue": {"max_wait_s": 0, "max_depth": 64, "depth": c % 3, "scope": "worker"},
                "steps": step_list,
            }
        )
    return {
        "relay": {
            "version": "0.2.0",
            "uptime_s": 812.4,
            "pid": 4242,
            "worker": 1,
            "workers": 1,
            "started_at": 1795932000.1,
        },
        "artifact": {
            "source_hash": "sha256:0123456789abcdef",
            "manifest_hash": "1a2b3c4d5e6f",
            "built_at": 1795931990.0,
            "reloads": 3,
            "last_reload": {"at": 1795932500.2, "outcome": "ok", "detail": ""},
        },
        "state_backend": {"backend": "memory", "degraded": False},
        "chains": chain_list,
        "providers": providers,
    }


def request_event(i: int, chain: str = "free", status: int = 200) -> dict[str, Any]:
    return {
        "at": 1795932000.0 + i,
        "id": f"req_{i:024x}",
        "chain": chain,
        "format": "openai",
        "model": chain,
        "provider": "sim-steady",
        "upstream_model": "relay-demo",
        "key": "sha256:1a2b3c4d",
        "status": status,
        "stream": False,
        "attempts": [
            {
                "provider": "sim-burst",
                "model": "relay-demo",
                "outcome": "rate_limited",
                "status": 429,
                "detail": "429 from upstream",
                "ms": 3.0,
                "cooldown_left": 41.0,
            },
            {
                "provider": "sim-steady",
                "model": "relay-demo",
                "outcome": "ok",
                "status": 200,
                "detail": "",
                "ms": 120.0,
                "cooldown_left": None,
            },
        ],
        "skipped": [
            {
                "provider": "groq",
                "model": "llama-3.3-70b-versatile",
                "reason": "disabled: no key set",
                "until_s": None,
            }
        ],
        "latency_ms": 130.0,
        "ttfb_ms": 60.0,
        "queued_ms": 0.0,
        "tokens": {"input": 12, "output": 30, "cached": 0, "total": 42},
        "cost_usd": 0.0,
        "saved_usd": 0.0004,
    }


def usage(by: str = "provider", hours: int = 0) -> dict[str, Any]:
    row = {
        "requests": 120,
        "errors": 3,
        "input_tokens": 50000,
        "output_tokens": 8000,
        "cached_tokens": 0,
        "cost_usd": 0.0,
        "list_cost_usd": 0.042,
        "saved_usd": 0.042,
        "latency_ms_p50": 410.0,
        "ttfb_ms_p50": 170.0,
    }
    groups = (
        [1795932000 - 3600 * h for h in range(hours)] if by in ("hour", "day") else ["groq", "sim-steady"]
    )
    totals = {k: v for k, v in row.items() if not k.endswith("_p50")}
    return {
        "since": 1795845600.0,
        "until": 1795932000.0,
        "by": by,
        "rows": [{"group": g, **row} for g in groups],
        "totals": totals,
        "dropped_rows": 0,
    }
