"""Environment references: expansion rules, and how they reach the artifact and secrets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compiler.resolve.envrefs import expand
from tests.compiler.conftest import CompileSet

ENV = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "value", "missing", "malformed"),
    [
        ("${SET}", "value", [], []),
        ("pre-${SET}-post", "pre-value-post", [], []),
        ("${UNSET}", "", ["UNSET"], []),
        ("${EMPTY}", "", ["EMPTY"], []),
        ("${UNSET:-}", "", [], []),
        ("${UNSET:-http://localhost:11434}", "http://localhost:11434", [], []),
        ("${SET:-fallback}", "value", [], []),
        ("$${SET}", "${SET}", [], []),
        ("cost $5", "cost $5", [], []),
        ("${1BAD}", "", [], ["${1BAD}"]),
        ("${SET", "", [], ["${SET"]),
        ("${}", "", [], ["${}"]),
    ],
)
def test_expand(text: str, value: str, missing: list[str], malformed: list[str]) -> None:
    result = expand(text, ENV)
    assert (result.value, result.missing, result.malformed) == (value, missing, malformed)


@given(st.text(alphabet=st.characters(blacklist_characters="$")))
def test_text_without_dollar_is_unchanged(text: str) -> None:
    assert expand(text, ENV).value == text


def test_references_expand_in_ordinary_strings(compile_set: CompileSet) -> None:
    text = "version: 1\nproviders:\n  o:\n    api: ollama\n    base_url: ${RELAY_T_OLLAMA:-http://127.0.0.1:11434}\n"
    text += "    headers: {x-note: '$${literal}'}\nchains:\n  c:\n    steps: [o/m]\n"
    result = compile_set({"d.yaml": text})
    assert result.artifact is not None
    provider = result.artifact.providers["o"]
    assert (provider.base_url, provider.headers) == ("http://127.0.0.1:11434", (("x-note", "${literal}"),))
    other = compile_set({"d.yaml": text}, env={"RELAY_T_OLLAMA": "http://localhost:9999"})
    assert other.artifact is not None and other.artifact.providers["o"].base_url == "http://localhost:9999"


@pytest.mark.parametrize(
    ("key", "refused"),
    [
        ("sk-ant-api03-xxxxxxxxxxxxxxxx", True),
        ("gsk_abc", True),
        ("AAAAbbbbCCCCddddEEEEffff", True),
        ("ollama", False),
        ("${RELAY_T_K:-}", False),
        ("prefix-${RELAY_T_K:-}", False),
    ],
)
def test_key_shaped_literals_are_refused(compile_set: CompileSet, key: str, refused: bool) -> None:
    text = f"version: 1\nproviders:\n  p:\n    api: simulated\n    keys: ['{key}']\nchains:\n  c:\n    steps: [p/m]\n"
    codes = [d.code for d in compile_set({"d.yaml": text}).diagnostics]
    assert ("R204" in codes) == refused


@pytest.mark.parametrize(
    ("field", "url", "refused"),
    [
        ("state", "redis://:hunter2-password@10.0.0.5:6379/0", True),
        ("state", "redis://:${RELAY_T_PW}@10.0.0.5:6379/0", False),
        ("state", "${RELAY_T_REDIS}", False),
        ("state", "redis://10.0.0.5:6379/0", False),
        ("base_url", "https://llm.example/v1?api_key=abc123", True),
        ("base_url", "https://user:pass@llm.example/v1", True),
        ("base_url", "https://llm.example/v1?key=${RELAY_T_K}", False),
        ("base_url", "https://llm.example/v1?api-version=2024-06-01", False),
    ],
)
def test_credentials_written_literally_in_a_url_are_refused(
    compile_set: CompileSet, field: str, url: str, refused: bool
) -> None:
    """A URL is committed as written: a password or key in it must come from the environment."""
    text = "version: 1\nproviders:\n  o:\n    api: openai\n"
    text += f"    base_url: '{url if field == 'base_url' else 'https://llm.example/v1'}'\n"
    text += "chains:\n  c:\n    steps: [o/m]\n"
    if field == "state":
        text += f"server:\n  state: '{url}'\n"
    env = {"RELAY_T_PW": "pw-0123456789", "RELAY_T_REDIS": "redis://127.0.0.1:6379/0", "RELAY_T_K": "k" * 12}
    diags = [d for d in compile_set({"d.yaml": text}, env=env).diagnostics if d.code == "R204"]
    assert bool(diags) == refused
    assert all("hunter2" not in d.message + d.hint and "abc123" not in d.message + d.hint for d in diags)
