"""ruamel.yaml in round-trip mode, set up to re-emit the definition files as written.

The settings match the layout of the shipped examples (two-space mappings, sequences
indented two under their key, quotes kept, no line folding). A file this emitter cannot
reproduce byte for byte is not edited structurally at all (`faithful`): an edit must never
reformat lines it did not touch, so such a file is edited as text instead.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


class EditError(Exception):
    """An edit that cannot be applied; the message says why and what to do (a 400)."""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def load(text: str, rel: str) -> Any:
    try:
        return _yaml().load(text)
    except YAMLError as exc:
        raise EditError(
            f"{rel}: not valid YAML ({str(exc).splitlines()[0]}); fix it in the YAML view"
        ) from None


def dump(document: Any) -> str:
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def faithful(text: str, rel: str) -> Any:
    """The parsed document, when re-emitting it gives back exactly `text`."""
    document = load(text, rel)
    if dump(document) != text:
        raise EditError(
            f"{rel}: its layout cannot be kept byte for byte by a structured edit; edit it in the YAML view"
        )
    return document
