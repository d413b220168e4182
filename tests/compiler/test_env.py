"""Environment references: expansion rules, and how they reach the artifact and secrets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compiler.envrefs import expand
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
