"""Structured edits of a definition set, each a round-trip edit of one YAML file.

An edit is JSON (what the dashboard and `POST /admin/definitions/preview` send):
`{"op": "move_step", "chain": "free", "from": 0, "to": 2}`. `apply` finds the file that
defines the named chain, provider or model (sections merge by name across files), edits
its parsed document in place and re-emits it; only that file changes, and in it only the
lines of the edited entry (`tests/compiler/test_edit_roundtrip.py` checks both on the
shipped examples). What an edit sets is checked by the compiler afterwards, like any
draft; here only what the compiler cannot see: a key given as a value instead of a
reference to the environment is refused outright, so it never reaches a file or a reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from compiler.edit import tails
from compiler.edit.roundtrip import EditError, dump, faithful

Files = Mapping[str, str]
"""Relative path → text of every definition file."""

KEY_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-)?\}")
"""A key is `${NAME}` (required) or `${NAME:-}` (optional): a name, never a value."""

CHAIN_FIELDS = ("strategy", "match", "queue")
PROVIDER_FIELDS = ("api", "base_url", "keys", "limits", "headers")
MODEL_FIELDS = ("context", "capabilities", "cost", "providers")


class Document:
    """One file's parsed document, to be edited and re-emitted."""

    def __init__(self, rel: str, text: str) -> None:
        self.rel = rel
        self.root: Any = faithful(text, rel)

    def section(self, name: str) -> CommentedMap | None:
        found = self.root.get(name) if isinstance(self.root, CommentedMap) else None
        return found if isinstance(found, CommentedMap) else None

    def text(self) -> str:
        return dump(self.root)


def _node(value: Any) -> Any:
    """JSON → YAML node; nested collections in flow style, as the examples write them."""
    if isinstance(value, dict):
        node = CommentedMap((k, _node(v)) for k, v in value.items())
        node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        seq = CommentedSeq(_node(v) for v in value)
        seq.fa.set_flow_style()
        return seq
    return value


def _text(edit: Mapping[str, Any], name: str) -> str:
    value = edit.get(name)
    if not isinstance(value, str) or not value:
        raise EditError(f"{edit.get('op')}: `{name}` must be a non-empty string")
    return value


def _index(edit: Mapping[str, Any], name: str, size: int) -> int:
    value = edit.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < size:
        raise EditError(f"{edit.get('op')}: `{name}` must be an index from 0 to {size - 1}")
    return value


def _fields(edit: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    fields = edit.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise EditError(
            f"{edit.get('op')}: `fields` must be an object naming one or more of {', '.join(allowed)}"
        )
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise EditError(
            f"{edit.get('op')}: cannot set {', '.join(unknown)} here; fields: {', '.join(allowed)}"
        )
    return fields


def keys_node(keys: Any) -> CommentedSeq:
    """Keys as environment references only: a literal key is refused without echoing it."""
    if not isinstance(keys, list) or not keys:
        raise EditError("keys: give a list of environment references such as ${GROQ_API_KEY}")
    for i, key in enumerate(keys):
        if not isinstance(key, str) or not KEY_REF.fullmatch(key):
            raise EditError(
                f"keys[{i}] is not an environment reference (R204: a secret is never written into a "
                "definition file): give ${NAME} or ${NAME:-} and export NAME where relay builds"
            )
    seq = CommentedSeq(DoubleQuotedScalarString(k) for k in keys)
    seq.fa.set_flow_style()
    return seq


def _set_fields(entry: CommentedMap, fields: Mapping[str, Any], order: tuple[str, ...]) -> None:
    """Set or (with null) remove each field; a new field goes where `order` puts it among
    those present, so a provider reads api, base_url, keys, limits, headers as usual."""
    for name in order:
        if name not in fields:
            continue
        value = fields[name]
        if value is None:
            entry.pop(name, None)
            continue
        node = keys_node(value) if name == "keys" else _node(value)
        if name in entry:
            entry[name] = node
            continue
        before = [k for k in order[: order.index(name)] if k in entry]
        at = list(entry).index(before[-1]) + 1 if before else 0
        entry.insert(at, name, node)


class Definitions:
    """The files of a definition set, parsed on first use; `changed` re-emits the edited."""

    def __init__(self, files: Files) -> None:
        self.files = dict(files)
        self.docs: dict[str, Document] = {}

    def doc(self, rel: str) -> Document:
        if rel not in self.docs:
            self.docs[rel] = Document(rel, self.files[rel])
        return self.docs[rel]

    def find(self, section: str, name: str) -> tuple[Document, CommentedMap]:
        for rel in sorted(self.files):
            found = self.doc(rel).section(section)
            if found is not None and name in found:
                entry = found[name]
                if not isinstance(entry, CommentedMap):
                    raise EditError(f"{rel}: {section}.{name} is not a mapping; edit it in the YAML view")
                return self.doc(rel), entry
        raise EditError(f"no {section[:-1]} {name!r} in the definitions")

    def home(self, section: str) -> CommentedMap:
        """The section a new entry joins: the first file that has it."""
        for rel in sorted(self.files):
            found = self.doc(rel).section(section)
            if found is not None:
                return found
        raise EditError(f"no file has a `{section}:` section yet; add one in the YAML view")

    def changed(self) -> dict[str, str]:
        out = {rel: doc.text() for rel, doc in self.docs.items()}
        return {rel: text for rel, text in out.items() if text != self.files[rel]}


def _edit_block(node: Any, change: Callable[[], None]) -> None:
    """Run `change` with the lines that trail `node` held aside, then put them back after it."""
    tail = tails.take(node)
    change()
    tails.put(node, tail)


def _steps(defs: Definitions, edit: Mapping[str, Any]) -> CommentedSeq:
    _, chain = defs.find("chains", _text(edit, "chain"))
    steps = chain.get("steps")
    if not isinstance(steps, CommentedSeq):
        raise EditError(f"chain {edit['chain']!r} has no list of steps; edit it in the YAML view")
    return steps


def _arrange(steps: CommentedSeq, order: list[int], added: str | None = None, at: int = 0) -> None:
    """Rebuild `steps` in `order` (old indices), each keeping its own end-of-line comment."""
    comments = {i: steps.ca.items.get(i) for i in range(len(steps))}
    items = [(steps[i], comments[i]) for i in order]
    if added is not None:
        items.insert(at, (added, None))
    steps.ca.items.clear()
    del steps[:]
    for i, (value, comment) in enumerate(items):
        steps.append(value)
        if comment is not None:
            steps.ca.items[i] = comment


def add_step(defs: Definitions, edit: Mapping[str, Any]) -> None:
    steps, step = _steps(defs, edit), _text(edit, "step")
    at = edit.get("at", len(steps))
    if not isinstance(at, int) or isinstance(at, bool) or not 0 <= at <= len(steps):
        raise EditError(f"add_step: `at` must be an index from 0 to {len(steps)}")
    _edit_block(steps, lambda: _arrange(steps, list(range(len(steps))), step, at))


def remove_step(defs: Definitions, edit: Mapping[str, Any]) -> None:
    steps = _steps(defs, edit)
    gone = _index(edit, "index", len(steps))
    _edit_block(steps, lambda: _arrange(steps, [i for i in range(len(steps)) if i != gone]))


def move_step(defs: Definitions, edit: Mapping[str, Any]) -> None:
    steps = _steps(defs, edit)
    start, end = _index(edit, "from", len(steps)), _index(edit, "to", len(steps))
    order = [i for i in range(len(steps)) if i != start]
    order.insert(end, start)
    _edit_block(steps, lambda: _arrange(steps, order))


def set_chain(defs: Definitions, edit: Mapping[str, Any]) -> None:
    _, chain = defs.find("chains", _text(edit, "chain"))
    fields = _fields(edit, CHAIN_FIELDS)
    _edit_block(chain, lambda: _set_fields(chain, fields, ("strategy", "match", "steps", "queue")))


def _add_entry(section: CommentedMap, name: str, entry: CommentedMap) -> None:
    """A new entry after the last, a blank line between, as the examples are laid out."""
    tail = tails.take(section)
    tails.put(section, "\n")
    section[name] = entry
    tails.put(section, tail)


def set_provider(defs: Definitions, edit: Mapping[str, Any]) -> None:
    name, fields = _text(edit, "provider"), _fields(edit, PROVIDER_FIELDS)
    try:
        _, provider = defs.find("providers", name)
    except EditError:
        entry = CommentedMap()
        _set_fields(entry, fields, PROVIDER_FIELDS)
        _add_entry(defs.home("providers"), name, entry)
        return
    _edit_block(provider, lambda: _set_fields(provider, fields, PROVIDER_FIELDS))


def add_model(defs: Definitions, edit: Mapping[str, Any]) -> None:
    name, fields = _text(edit, "model"), _fields(edit, MODEL_FIELDS)
    section = defs.home("models")
    try:
        defs.find("models", name)
    except EditError:
        pass
    else:
        raise EditError(f"model {name!r} exists already; edit it in the YAML view")
    entry = CommentedMap()
    _set_fields(entry, {k: v for k, v in fields.items() if k != "providers"}, MODEL_FIELDS)
    providers = fields.get("providers")
    if not isinstance(providers, dict) or not providers:
        raise EditError("add_model: `providers` must map each provider to its own model id")
    entry["providers"] = CommentedMap(providers)
    _add_entry(section, name, entry)


OPS: dict[str, Callable[[Definitions, Mapping[str, Any]], None]] = {
    "add_step": add_step,
    "remove_step": remove_step,
    "move_step": move_step,
    "set_chain": set_chain,
    "set_provider": set_provider,
    "add_model": add_model,
}


def apply(files: Files, edits: list[Any]) -> dict[str, str]:
    """The files the edits change, with their new text; `files` itself is left alone."""
    defs = Definitions(files)
    for edit in edits:
        op = edit.get("op") if isinstance(edit, dict) else None
        if op not in OPS:
            raise EditError(f"unknown edit {op!r}; edits: {', '.join(OPS)}")
        OPS[op](defs, edit)
    return defs.changed()
