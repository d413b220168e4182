"""Keep relay's own secrets out of everything it passes on.

relay knows every secret it holds (upstream keys, client and admin keys, credentials that
came from the environment), so whatever it forwards from an upstream or writes about one
(an error body echoed to the client, the all-failed message, a stream's error event, a
log line) goes through `Redactor` first: an upstream that echoes the key it was sent
(many do, in 401 and 400 bodies) must not hand it to a client or a log.

Built once per loaded snapshot: one compiled pattern over every secret in the forms it
may appear in (as is, JSON-escaped, percent-encoded), so text holding none costs a single
scan, and a snapshot with no secrets costs a comparison.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote

MIN_LENGTH = 8
"""Shorter values are not redacted: no credential is that short (client keys need 16), and
replacing a short word everywhere it occurs would mangle ordinary text."""

MARK = "[redacted]"


def variants(secret: str) -> set[str]:
    """The forms in which `secret` may reach relay inside a body or a URL."""
    escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
    return {secret, escaped, escaped.replace("/", "\\/"), quote(secret, safe="")}


class Redactor:
    __slots__ = ("_data", "_text")

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = {form for s in secrets if len(s) >= MIN_LENGTH for form in variants(s)}
        ordered = sorted(forms, key=lambda f: (-len(f), f))  # longest first: no partial leftovers
        self._text = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._data = re.compile(b"|".join(re.escape(f.encode()) for f in ordered)) if ordered else None

    def text(self, value: str) -> str:
        return value if self._text is None else self._text.sub(MARK, value)

    def data(self, value: bytes) -> bytes:
        return value if self._data is None else self._data.sub(MARK.encode(), value)
