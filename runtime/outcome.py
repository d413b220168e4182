"""What an upstream answer means for the waterfall: a pure table (README: "Failover").

| upstream answer                                  | kind          | then                               |
|--------------------------------------------------|---------------|------------------------------------|
| 2xx                                              | (success)     | answer the client                  |
| 429 (Z.AI 1302/1303 too)                         | rate_limited  | key cools down, next candidate     |
| 429 `insufficient_quota`, Z.AI 1308-1310/1113    | payment       | long key cooldown, next            |
| 503, 529                                         | overloaded    | cooldown, next step                |
| 402                                              | payment       | long key cooldown, next            |
| 401, 403                                         | auth          | key marked bad (logged), next      |
| 400/413/422 saying the context is too long       | context       | next step; all such → 400 "prompt is too long" |
| 408, other 5xx, garbage                          | server_error  | next step                          |
| connection refused/reset, DNS, TLS               | connect       | next step                          |
| no first byte within `timeouts.first_byte`       | timeout       | next step                          |
| other 4xx                                        | client_error  | returned to the client as it is    |
"""

from __future__ import annotations

import re

from runtime.cooldown import FailureKind
from runtime.translate import is_context_overflow

_ZAI_QUOTA = re.compile(rb'"code"\s*:\s*"?(1308|1309|1310|1113)\b')


def classify(status: int, body: bytes) -> FailureKind | None:
    """None for success; otherwise the failure kind that decides what the loop does next."""
    if 200 <= status < 300:
        return None
    if status == 429:
        if b"insufficient_quota" in body or _ZAI_QUOTA.search(body):
            return "payment"
        return "rate_limited"
    if status in (503, 529):
        return "overloaded"
    if status == 402:
        return "payment"
    if status in (401, 403):
        return "auth"
    if is_context_overflow(status, body):
        return "context"
    if status == 408 or status >= 500:
        return "server_error"
    return "client_error"


KEY_LEVEL: frozenset[FailureKind] = frozenset({"rate_limited", "auth", "payment"})
"""Failures of one key: another key of the same provider may still work."""
