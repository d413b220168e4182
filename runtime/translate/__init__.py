"""Pure translation between Anthropic Messages and OpenAI Chat Completions (protocols.md §3),
and from the OpenAI Responses API onto Chat Completions (the `/v1/responses` ingress).

Bytes and dicts in, bytes and dicts out: no I/O, no clocks beyond default timestamps, no
logging. The runtime calls these for any step whose `api` differs from the request's format.
SSE framing lives here too (`sse`). See README.md in this folder for the policies and the
list of deliberately dropped fields.

Must never import another room of the runtime (`runtime.server`, `runtime.routing`,
`runtime.upstream`): only `runtime.artifact` beside itself, and no I/O, network, logging or
asyncio module.
"""

from runtime.translate.capabilities import required_capabilities
from runtime.translate.composed import Composed
from runtime.translate.errors import TranslationError, translation_error_body
from runtime.translate.hints import DEFAULT_HINTS, OpenAIHints, hints_for
from runtime.translate.request_a2o import anthropic_request_to_openai
from runtime.translate.request_o2a import openai_request_to_anthropic
from runtime.translate.request_o2r import openai_request_to_responses
from runtime.translate.request_r2o import Translated, responses_request_to_openai
from runtime.translate.response import anthropic_response_to_openai, openai_response_to_anthropic
from runtime.translate.response_o2r import openai_response_to_responses
from runtime.translate.response_r2o import responses_response_to_openai
from runtime.translate.responses_shape import ECHOED
from runtime.translate.stream_a2o import AnthropicToOpenAIStream
from runtime.translate.stream_o2a import OpenAIToAnthropicStream
from runtime.translate.stream_o2r import OpenAIToResponsesStream
from runtime.translate.stream_r2o import ResponsesToOpenAIStream
from runtime.translate.thinking import is_synthesized_signature, strip_foreign
from runtime.translate.tokens import estimate_tokens
from runtime.translate.upstream_errors import (
    client_error,
    is_context_overflow,
    translate_error,
    translate_error_body,
)

__all__ = [
    "DEFAULT_HINTS",
    "ECHOED",
    "AnthropicToOpenAIStream",
    "Composed",
    "OpenAIHints",
    "OpenAIToAnthropicStream",
    "OpenAIToResponsesStream",
    "ResponsesToOpenAIStream",
    "Translated",
    "TranslationError",
    "anthropic_request_to_openai",
    "anthropic_response_to_openai",
    "client_error",
    "estimate_tokens",
    "hints_for",
    "is_context_overflow",
    "is_synthesized_signature",
    "openai_request_to_anthropic",
    "openai_request_to_responses",
    "openai_response_to_anthropic",
    "openai_response_to_responses",
    "required_capabilities",
    "responses_request_to_openai",
    "responses_response_to_openai",
    "strip_foreign",
    "translate_error",
    "translate_error_body",
    "translation_error_body",
]
