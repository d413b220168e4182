"""The shape of a generated per-provider module (`generated/providers/<name>.py`).

`relay build` renders one module per provider from templates in `compiler/`; everything
that can be decided per provider at build time (URLs, auth header construction, which
rate-limit header dialect to read) is decided there, so the hot path only calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from runtime.routing.ratelimit import RateInfo


class ProviderModule(Protocol):
    NAME: str
    API: str
    FORMAT_VERSION: int
    MESSAGES_URL: str | None
    """Anthropic-format create endpoint (`.../v1/messages`), None for other formats."""
    COUNT_TOKENS_URL: str | None
    CHAT_URL: str | None
    """OpenAI-format create endpoint (`.../chat/completions`), None for other formats."""
    RESPONSES_URL: str | None
    """Responses API create endpoint (`.../responses`, api `openai-responses`), else None."""
    MODELS_URL: str | None
    STATIC_HEADERS: tuple[tuple[str, str], ...]

    def auth_headers(self, key: str) -> list[tuple[str, str]]:
        """Headers that carry `key` upstream (empty for keyless providers)."""
        ...

    def parse_rate_limits(self, headers: Mapping[str, str], now: float) -> RateInfo:
        """Read this provider's rate-limit headers into absolute deadlines on `now`'s clock."""
        ...
