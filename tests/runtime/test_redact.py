"""Redaction of relay's own secrets from text it passes on."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.server.redact import MARK, MIN_LENGTH, Redactor

KEY = "sk-test-0123456789/abc+def=="


@pytest.mark.parametrize(
    "text",
    [
        f"invalid x-api-key {KEY}",
        json.dumps({"error": {"message": f"bad key {KEY}"}}),
        json.dumps({"error": {"message": f"bad key {KEY}"}}).replace("/", "\\/"),
        f"GET https://up.example/v1?key={quote(KEY, safe='')} failed",
        f"{KEY}{KEY}",
    ],
)
def test_every_form_of_a_secret_is_redacted(text: str) -> None:
    redactor = Redactor([KEY, "other-secret-value"])
    assert "0123456789" not in redactor.text(text) and MARK in redactor.text(text)
    assert b"0123456789" not in redactor.data(text.encode())


def test_text_without_secrets_is_unchanged_and_short_values_are_ignored() -> None:
    redactor = Redactor([KEY, "short"])
    assert redactor.text("a short note") == "a short note"
    assert Redactor([]).data(b"anything") == b"anything"
    assert len("short") < MIN_LENGTH


def test_the_longest_secret_wins_when_one_contains_another() -> None:
    redactor = Redactor(["abcdefgh", "abcdefgh-ijklmnop"])
    assert redactor.text("x abcdefgh-ijklmnop y") == f"x {MARK} y"


@given(st.text(min_size=MIN_LENGTH, max_size=40), st.text(max_size=40), st.text(max_size=40))
def test_a_secret_never_survives(secret: str, before: str, after: str) -> None:
    redactor = Redactor([secret])
    assert secret not in redactor.text(before + secret + after).replace(MARK, "\0")
