"""The built-in `simulated` provider: a fake upstream inside the relay process.

It lets `relay run` on the example chains work with no keys and shows failover for
real: it answers in whichever wire format the request used, enforces its own `rpm` with
a 429 and the rate-limit headers a real provider sends, fails at `failure_rate`, waits
`latency` before answering and streams at `tokens_per_s` (0: as fast as possible).

It answers with text. Asked for reasoning (Anthropic `thinking`, OpenAI `reasoning_effort`)
it reasons first, in a thinking block signed `relay:<provider>` like any thinking relay makes
itself, so it is stripped before history reaches a real Anthropic upstream. It calls a tool
only when `call_tools` is set or `tool_choice` forces one (a client such as Claude Code runs
what it is asked to run, so the demo never does so unasked), preferring a tool that only
reads (Claude Code's Read, with the absolute path the prompt names) and filling only the
required parameters with values their schema accepts; it answers the tool result on the
next turn, so a whole round trip can be shown without a model.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from runtime.artifact import Provider, Simulate
from runtime.clock import Clock, monotonic
from runtime.translate.thinking import synthesized_signature, thinking_enabled
from runtime.upstream.simulated_wire import (
    Answer,
    anthropic_body,
    anthropic_events,
    openai_body,
    openai_chunks,
)

_decode = msgspec.json.Decoder().decode
_ids = itertools.count(1)


class SimulatedResponse:
    def __init__(self, status: int, headers: Mapping[str, str], parts: list[bytes], pace: float) -> None:
        self.status = status
        self.headers = headers
        self._parts = parts
        self._pace = pace

    async def next_chunk(self) -> bytes:
        if not self._parts:
            return b""
        if self._pace:
            await asyncio.sleep(self._pace)  # cancelled: the part stays for the next call
        return self._parts.pop(0)

    async def read(self, limit: int, idle: float) -> bytes:
        return self.whole(limit)

    def whole(self, limit: int) -> bytes:
        return b"".join(self._parts)[:limit]

    def close(self) -> None:
        self._parts = []


def _text_of(content: Any) -> str:
    """A string, or the last text part of a list of parts (Claude Code puts its reminders
    first and the prompt last)."""
    if isinstance(content, str):
        return content
    texts = [str(b.get("text", "")) for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]
    return texts[-1] if texts else ""


def _last_user_text(messages: list[Any]) -> tuple[str, bool]:
    """The latest user text, and whether that turn carries tool results."""
    for message in reversed(messages):
        if not isinstance(message, dict):
            continue
        role, content = message.get("role"), message.get("content")
        if role == "tool":
            return _text_of(content), True
        if role != "user":
            continue
        results = (
            [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
            if isinstance(content, list)
            else []
        )
        if results:
            return " ".join(_text_of(b.get("content")) for b in results), True
        return _text_of(content), False
    return "", False


def _wants_reasoning(req: dict[str, Any], fmt: str) -> bool:
    if fmt == "anthropic":
        return thinking_enabled(req)
    effort = req.get("reasoning_effort")
    return isinstance(effort, str) and effort != "none"


def _tool_choice(req: dict[str, Any], fmt: str) -> tuple[str, str | None]:
    """`tool_choice` as `auto`, `none` or `forced`, with the tool a forced choice names."""
    choice = req.get("tool_choice")
    if isinstance(choice, str):  # OpenAI: auto | none | required
        return {"required": "forced", "none": "none"}.get(choice, "auto"), None
    if not isinstance(choice, dict):
        return "auto", None
    if fmt == "openai":
        function = choice.get("function")
        return ("forced", function.get("name")) if isinstance(function, dict) else ("auto", None)
    kind = choice.get("type")
    if kind in ("any", "tool"):
        return "forced", choice.get("name") if kind == "tool" else None
    return ("none" if kind == "none" else "auto"), None


_SAMPLE: dict[str, Any] = {"string": "example", "boolean": False, "array": [], "object": {}}
_READ_ONLY = ("Read", "Glob", "Grep", "LS")
"""Claude Code's tools that only read: the ones an unforced simulated call prefers, since a
client runs what it is asked to and a demo must not write, execute or start an agent."""
_PATH = re.compile(r"(?<![\w.~:/])/[^\s'\"`<>|;]+")
"""An absolute path written in the prompt ("read /etc/hostname")."""


def _number(schema: dict[str, Any]) -> int | float:
    """The lowest value the schema allows, 1 when it sets no bound (a count or a line)."""
    low, exclusive = schema.get("minimum"), schema.get("exclusiveMinimum")
    if isinstance(low, int | float):
        return max(low, 1)
    if isinstance(exclusive, int | float):
        return max(exclusive + 1, 1)
    return 1


def _sample(name: str, schema: Any, prompt: str) -> Any:
    """A value the parameter's schema accepts; for a path, the absolute path the prompt names."""
    if not isinstance(schema, dict):
        return "example"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = str(schema.get("type"))
    if kind in ("integer", "number"):
        return _number(schema)
    if kind == "string" and "path" in name.lower():
        found = _PATH.search(prompt)
        return found.group(0).rstrip(".,:!?)") if found else "example"
    return _SAMPLE.get(kind, "example")


def _arguments(schema: Any, prompt: str) -> dict[str, Any]:
    """Only the required parameters (all of them when the schema lists none as required):
    an optional one filled with a sample can be invalid together with the rest, as Read's
    `pages` is for a file that is not a PDF."""
    schema = schema if isinstance(schema, dict) else {}
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = schema.get("required")
    names = [n for n in required if n in props] if isinstance(required, list) else list(props)
    return {n: _sample(n, props[n], prompt) for n in names}


def _tool_to_call(
    req: dict[str, Any], fmt: str, call_tools: bool, prompt: str
) -> tuple[str, dict[str, Any]] | None:
    """The tool this answer calls: only when configured to call tools or when `tool_choice`
    forces one, since a client such as Claude Code really runs what it is asked to; a named
    choice, else a read-only tool when offered, else the first."""
    choice, name = _tool_choice(req, fmt)
    tools = [t for t in req.get("tools") or [] if isinstance(t, dict)]
    if fmt == "openai":
        tools = [t["function"] for t in tools if isinstance(t.get("function"), dict)]
    if not tools or choice == "none" or (choice == "auto" and not call_tools):
        return None
    wanted = (name,) if name else _READ_ONLY
    tool = next((t for w in wanted for t in tools if t.get("name") == w), tools[0])
    schema = tool.get("input_schema") if fmt == "anthropic" else tool.get("parameters")
    return str(tool.get("name")), _arguments(schema, prompt)


class SimulatedUpstream:
    """Speaks the format named by the pseudo-URL `simulated:anthropic` / `simulated:openai`."""

    def __init__(
        self,
        provider: Provider,
        clock: Clock = monotonic,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._name = provider.name
        self._sim = provider.simulate or Simulate()
        self._clock = clock
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._hits: deque[float] = deque()

    def _rate_headers(self, fmt: str, now: float) -> dict[str, str]:
        rpm = self._sim.rpm
        if rpm is None:
            return {}
        remaining = max(rpm - len(self._hits), 0)
        reset_in = (self._hits[0] + 60.0 - now) if self._hits else 0.0
        if fmt == "anthropic":
            wall = datetime.fromtimestamp(time.time() + reset_in, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return {
                "anthropic-ratelimit-requests-limit": str(rpm),
                "anthropic-ratelimit-requests-remaining": str(remaining),
                "anthropic-ratelimit-requests-reset": wall,
            }
        return {
            "x-ratelimit-limit-requests": str(rpm),
            "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-reset-requests": f"{reset_in:.3f}s",
        }

    def _error(
        self, fmt: str, status: int, kind: str, message: str, headers: dict[str, str]
    ) -> SimulatedResponse:
        if fmt == "anthropic":
            body = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            body = {"error": {"message": message, "type": kind, "param": None, "code": kind}}
        headers = {**headers, "content-type": "application/json"}
        return SimulatedResponse(status, headers, [msgspec.json.encode(body)], 0.0)

    def _admit(self, now: float) -> float | None:
        """Count this request against `rpm`; seconds until a slot frees when over it."""
        while self._hits and self._hits[0] <= now - 60.0:
            self._hits.popleft()
        if self._sim.rpm is not None and len(self._hits) >= self._sim.rpm:
            return self._hits[0] + 60.0 - now
        self._hits.append(now)
        return None

    async def open(self, url: str, headers: list[tuple[str, str]], body: bytes) -> SimulatedResponse:
        fmt = "anthropic" if url.endswith("anthropic") else "openai"
        now = self._clock()
        wait = self._admit(now)
        if wait is not None:
            rate = {**self._rate_headers(fmt, now), "retry-after": str(max(1, round(wait + 0.5)))}
            kind = "rate_limit_error" if fmt == "anthropic" else "rate_limit_exceeded"
            return self._error(fmt, 429, kind, f"simulated provider {self._name}: rpm limit reached", rate)
        if self._sim.latency:
            await self._sleep(self._sim.latency)
        if self._sim.failure_rate and self._rng.random() < self._sim.failure_rate:
            kind = "api_error" if fmt == "anthropic" else "server_error"
            return self._error(fmt, 500, kind, f"simulated provider {self._name}: injected failure", {})
        return self._answer(fmt, _decode(body), self._rate_headers(fmt, now), len(body))

    def _answer(self, fmt: str, req: dict[str, Any], rate: dict[str, str], size: int) -> SimulatedResponse:
        text, after_tool = _last_user_text(req.get("messages") or [])
        said = "The tool said" if after_tool else "You said"
        answer = Answer(
            serial=next(_ids),
            model=str(req.get("model", "")),
            text=f"Simulated provider {self._name} here. {said}: {text[:200]}",
            usage_in=max(size // 4, 1),
            thinking=f"A simulated answer repeats what it was given: {text[:80]}"
            if _wants_reasoning(req, fmt)
            else None,
            signature=synthesized_signature(self._name),
            call=None if after_tool else _tool_to_call(req, fmt, self._sim.call_tools, text),
        )
        pace = 1.0 / self._sim.tokens_per_s if self._sim.tokens_per_s > 0 else 0.0
        if req.get("stream"):
            if fmt == "anthropic":
                parts = anthropic_events(answer)
            else:
                include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
                parts = openai_chunks(answer, include_usage)
            return SimulatedResponse(200, {**rate, "content-type": "text/event-stream"}, parts, pace)
        payload = anthropic_body(answer) if fmt == "anthropic" else openai_body(answer)
        return SimulatedResponse(200, {**rate, "content-type": "application/json"}, [payload], 0.0)

    async def aclose(self) -> None:
        return None
