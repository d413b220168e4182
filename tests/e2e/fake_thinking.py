"""What a real Anthropic upstream does with thinking signatures, played by the fake upstream.

A thinking block is valid only in the account, and with the model family, that made it; any
other request carrying it is answered 400 `invalid_request_error`, as the real API does. The
fake signs each thinking block it makes `fakesig.<account>.<family>.<n>`, the account being
the part of the request's key before its first `.` (keys `acct-a.1` and `acct-a.2` are two
keys of one account), and checks every such signature in a request's history. Signatures
of any other form (the other tests' stand-ins) are not checked.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

PREFIX = "fakesig."
_count = itertools.count(1)
_DATED = re.compile(r"-\d{8}$")


def account(headers: Mapping[str, str]) -> str:
    key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
    return key.split(".", 1)[0]


def family(model: str) -> str:
    return _DATED.sub("", model)


def sign(headers: Mapping[str, str], model: str) -> str:
    return f"{PREFIX}{account(headers)}.{family(model)}.{next(_count)}"


def rejection(body: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any] | None:
    """The real API's 400 for the first thinking block of another account or model, or None."""
    mine = f"{PREFIX}{account(headers)}.{family(str(body.get('model', '')))}."
    messages = body.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else []):
        content = message.get("content") if isinstance(message, dict) else None
        if message.get("role") != "assistant" or not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            kind = block.get("type") if isinstance(block, dict) else None
            signed = block.get("signature" if kind == "thinking" else "data") if kind else None
            if (
                kind in ("thinking", "redacted_thinking")
                and isinstance(signed, str)
                and signed.startswith(PREFIX)
                and not signed.startswith(mine)
            ):
                message_text = f"messages.{i}.content.{j}: Invalid `signature` in `{kind}` block"
                return {"type": "error", "error": {"type": "invalid_request_error", "message": message_text}}
    return None
