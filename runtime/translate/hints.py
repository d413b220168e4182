"""What an OpenAI-format upstream accepts beyond the common core of Chat Completions.

"OpenAI-compatible" servers disagree on the token-limit field, on how to ask for reasoning,
on whether reasoning must be echoed back, and on which content parts they take. These hints
are decided once per provider (at build time or when the routing table loads), never per
request; `hints_for` gives defaults for the providers protocols.md describes.
"""

from __future__ import annotations

from typing import Literal

import msgspec

ReasoningStyle = Literal["effort", "openrouter", "zai", "groq", "none"]
"""How to ask for reasoning: `reasoning_effort`, OpenRouter `reasoning{}`, Z.AI `thinking{}`,
Groq `reasoning_format: parsed`, or not at all."""

EchoReasoning = Literal["none", "tool_turns", "all"]
"""Which assistant turns get their reasoning back as `reasoning_content` (DeepSeek-style
thinking requires it on tool-call turns; sending it to servers that do not want it can fail)."""


class OpenAIHints(msgspec.Struct, frozen=True, kw_only=True):
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    max_output_tokens: int | None = None
    """Clamp `max_tokens` to the model's output limit when known."""
    reasoning: ReasoningStyle = "effort"
    echo_reasoning: EchoReasoning = "none"
    strict_tools: bool = False
    """Keep `strict` on function definitions."""
    url_images: bool = True
    """False for servers that take only `data:` image URLs (Ollama): URL images become a 400."""
    pdf_files: bool = False
    """Accept PDF documents as `file` parts (OpenAI, OpenRouter); elsewhere they are a 400."""
    top_k: bool = False
    """Pass Anthropic `top_k` as a vendor extra (Ollama, vLLM, OpenRouter)."""
    max_stop: int = 4
    """More stop sequences than this is a 400 rather than a silent truncation."""


DEFAULT_HINTS = OpenAIHints()

_BY_HOST: tuple[tuple[str, OpenAIHints], ...] = (
    (
        "api.openai.com",
        OpenAIHints(max_tokens_field="max_completion_tokens", strict_tools=True, pdf_files=True),
    ),
    ("cerebras.ai", OpenAIHints(max_tokens_field="max_completion_tokens")),
    # Azure OpenAI deployments of reasoning models refuse `max_tokens`; every current
    # api-version takes `max_completion_tokens` for all models.
    ("openai.azure.com", OpenAIHints(max_tokens_field="max_completion_tokens", strict_tools=True)),
    ("openrouter.ai", OpenAIHints(reasoning="openrouter", pdf_files=True, top_k=True)),
    ("api.groq.com", OpenAIHints(reasoning="groq")),
    ("api.z.ai", OpenAIHints(reasoning="zai", echo_reasoning="tool_turns")),
    ("bigmodel.cn", OpenAIHints(reasoning="zai", echo_reasoning="tool_turns")),
    ("deepseek.com", OpenAIHints(reasoning="none", echo_reasoning="tool_turns")),
    ("moonshot", OpenAIHints(echo_reasoning="tool_turns")),
)
_OLLAMA = OpenAIHints(url_images=False, top_k=True)


def hints_for(api: str, base_url: str) -> OpenAIHints:
    """Defaults for a provider from its wire format and base URL; unknown hosts get the core."""
    if api == "ollama" or ":11434" in base_url or "ollama.com" in base_url:
        return _OLLAMA
    for host, hints in _BY_HOST:
        if host in base_url:
            return hints
    return DEFAULT_HINTS
