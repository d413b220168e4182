"""Fresh ids in each wire format's own style (protocols §3.5): never reuse the other format's ids."""

from __future__ import annotations

import hashlib
import re
import secrets

_BAD_ID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


def message_id() -> str:
    return "msg_relay" + secrets.token_hex(12)


def completion_id() -> str:
    return "chatcmpl-relay" + secrets.token_hex(12)


def tool_id(prefix: str) -> str:
    """A synthesized tool-call id (`toolu_` or `call_`) for an upstream that sent none."""
    return prefix + secrets.token_hex(12)


def anthropic_tool_id(raw: str) -> str:
    """`raw` unchanged when Anthropic accepts it, else a deterministic sanitized form.

    Anthropic accepts only `[a-zA-Z0-9_-]` in tool ids while some OpenAI-format providers use
    ids like `functions.read:0`. Deterministic, so a `tool_use` and its `tool_result` sanitize to
    the same value without a shared map; the hash suffix keeps `a.b` and `a:b` apart.
    """
    if not _BAD_ID_CHARS.search(raw):
        return raw
    digest = hashlib.blake2s(raw.encode(), digest_size=4).hexdigest()
    return _BAD_ID_CHARS.sub("_", raw) + "_" + digest


def responses_id(prefix: str) -> str:
    """A fresh Responses-style id: `resp_`, `msg_`, `rs_`, `fc_` or `call_`, then `relay…`."""
    return prefix + "relay" + secrets.token_hex(12)
