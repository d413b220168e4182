"""Model names a client sees are model names relay serves: a listed logical model is served by
the providers that map it, and both SDKs can retrieve each listed name."""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.e2e.conftest import RelayFactory
from tests.e2e.procs import FakeUpstream, anthropic_client, openai_client

pytestmark = pytest.mark.e2e

DEFS = """\
version: 1
server: {{default_chain: free}}
providers:
  anth_a: {{api: anthropic, base_url: "{url}", keys: ["${{UP_KEY_A}}"]}}
  oai_a: {{api: openai, base_url: "{url}/v1", keys: ["${{UP_KEY_O}}"]}}
  oai_b: {{api: openai, base_url: "{url}/v1", keys: ["${{UP_KEY_B}}"]}}
models:
  glm:
    providers: {{anth_a: glm-up}}
  llama-70b:
    providers: {{oai_b: llama-b, oai_a: llama-a}}
  free:
    providers: {{oai_a: shadowed}}
chains:
  free:
    steps: [oai_a/llama-70b]
"""


def test_a_logical_model_is_served_by_what_it_names(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    with start_relay({"r.yaml": DEFS.format(url=fake.url)}) as relay:
        oai = openai_client(relay)
        assert [m.id for m in oai.models.list()] == ["free", "glm", "llama-70b"]
        fake.script({}, {}, {})
        raw = oai.chat.completions.with_raw_response.create(
            model="glm", messages=[{"role": "user", "content": "hi"}]
        )
        assert raw.headers["x-relay-provider"] == "anth_a" and raw.headers["x-relay-chain"] == "glm"
        raw = oai.chat.completions.with_raw_response.create(
            model="llama-70b", messages=[{"role": "user", "content": "hi"}]
        )
        assert raw.parse().model == "llama-70b" and raw.headers["x-relay-provider"] == "oai_b"
        oai.chat.completions.create(model="free", messages=[{"role": "user", "content": "hi"}])
        assert [r["body"]["model"] for r in fake.requests()] == ["glm-up", "llama-b", "llama-a"]


def test_both_sdks_retrieve_each_listed_name(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    with start_relay({"r.yaml": DEFS.format(url=fake.url)}) as relay:
        ant, oai = anthropic_client(relay), openai_client(relay)
        for name in ("free", "glm", "llama-70b"):
            assert ant.models.retrieve(name).id == name
            assert oai.models.retrieve(name).id == name
        with pytest.raises(anthropic.NotFoundError) as caught:
            ant.models.retrieve("gpt-nothing")  # would only fall through to the default chain
        assert caught.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
        with pytest.raises(openai.NotFoundError) as oai_caught:
            oai.models.retrieve("gpt-nothing")
        assert oai_caught.value.code == "model_not_found"


NAMING = """\
version: 1
server:
  response_model: {{openai: {openai}, anthropic: {anthropic}}}
providers:
  anth_a: {{api: anthropic, base_url: "{url}", keys: ["${{UP_KEY_A}}"]}}
  oai_a: {{api: openai, base_url: "{url}/v1", keys: ["${{UP_KEY_O}}"]}}
chains:
  same: {{steps: [oai_a/llama-up]}}
  cross: {{steps: [anth_a/claude-up]}}
  claude: {{steps: [anth_a/claude-up]}}
"""


@pytest.mark.parametrize("naming", ["requested", "served"])
def test_answers_name_the_requested_or_the_served_model_per_format(
    fake: FakeUpstream, start_relay: RelayFactory, naming: str
) -> None:
    """Issue 18: an OpenAI client could not tell that a fallback served it. `server.response_model`
    says per format which name answers carry, whole and streamed, same-format and translated."""
    defs = NAMING.format(url=fake.url, openai=naming, anthropic="requested")
    with start_relay({"r.yaml": defs}) as relay:
        oai = openai_client(relay)
        fake.script({}, {}, {}, {}, {})
        seen = []
        for chain in ("same", "cross"):
            seen.append(
                oai.chat.completions.create(model=chain, messages=[{"role": "user", "content": "hi"}]).model
            )
            chunks = list(
                oai.chat.completions.create(
                    model=chain, stream=True, messages=[{"role": "user", "content": "hi"}]
                )
            )
            assert chunks and all(c.model == chunks[0].model for c in chunks)
            seen.append(chunks[0].model)
        message = anthropic_client(relay).messages.create(
            model="claude", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.model == "claude"  # the Anthropic side keeps its default: what was asked
    if naming == "served":
        assert seen == ["llama-up", "llama-up", "claude-up", "claude-up"]
    else:
        assert seen == ["same", "same", "cross", "cross"]
