"""Google Vertex AI's wire format for Claude, as pure functions (protocols.md §4.9).

`…/publishers/anthropic/models/{model}:rawPredict`, or `:streamRawPredict` for a stream (the
project, region and host are filled in at build time), with the Anthropic body minus `model`
(`stream` stays) plus `anthropic_version: vertex-2023-10-16`. Betas stay in the
`anthropic-beta` header, filtered to what Vertex takes (`runtime.upstream.cloud.betas`), and so does
`anthropic-version`. count_tokens is `…/models/count-tokens:rawPredict` with `model` kept in
the body. Answers are Anthropic's JSON and SSE; Google's own errors are mapped in
`runtime.upstream.cloud.errors`.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from runtime.upstream.cloud import betas, shape

VERSION = "vertex-2023-10-16"
RAW, STREAM_RAW = ":rawPredict", ":streamRawPredict"


def call(template: str, headers: Iterable[tuple[str, str]], body: bytes) -> shape.CloudCall:
    parsed = shape.parse(body)
    split = shape.split_headers(headers)
    top = parsed.top
    url = shape.url_without_query(template)
    counting = "{model}" not in url
    if not counting:
        top.pop("model", None)
        url = shape.fill(url, "model", quote(parsed.model, safe="@:"))
        if parsed.stream and url.endswith(RAW):
            url = url[: -len(RAW)] + STREAM_RAW
    top.setdefault("anthropic_version", shape.raw(VERSION))
    flags = betas.accepted("vertex", [*split.betas, *shape.body_betas(top)])
    top.pop("anthropic_beta", None)
    out = [("content-type", "application/json")]
    if split.version:
        out.append(("anthropic-version", split.version))
    if flags:
        out.append(("anthropic-beta", ",".join(flags)))
    return shape.CloudCall(url, [*out, *split.kept], shape.encode(top), parsed.stream and not counting)
