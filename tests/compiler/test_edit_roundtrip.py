"""The editor's round-trip edits on the shipped definitions: no edit, no byte changed; each
edit changes only the lines of what it edits (or only inserts lines), comments kept."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.edit.operations import CHAIN_FIELDS, MODEL_FIELDS, PROVIDER_FIELDS, apply
from compiler.edit.roundtrip import EditError, dump, faithful, load
from compiler.edit.session import compile_texts
from compiler.language.model import ChainDef, ModelDef
from compiler.language.provider import ProviderDef

CHAINS = Path(__file__).resolve().parents[2] / "chains"
FILES = {p.name: p.read_text() for p in sorted(CHAINS.glob("*.yaml"))}
STEPS = {name: list(chain["steps"]) for name, chain in load(FILES["chains.yaml"], "c")["chains"].items()}
PROVIDERS = list(load(FILES["providers.yaml"], "p")["providers"])


@pytest.mark.parametrize("rel", sorted(FILES))
def test_every_shipped_file_reemits_byte_for_byte(rel: str) -> None:
    assert dump(faithful(FILES[rel], rel)) == FILES[rel]


def span(rel: str, section: str, name: str) -> tuple[int, int]:
    """0-based lines [start, end) of one entry: from its key to the next entry's key."""
    entries = load(FILES[rel], rel)[section]
    keys = list(entries)
    start = entries.lc.key(name)[0]
    after = keys.index(name) + 1
    return start, entries.lc.key(keys[after])[0] if after < len(keys) else len(FILES[rel].splitlines())


def changed_lines(old: str, new: str) -> tuple[set[int], bool]:
    """Old line numbers replaced or deleted, and whether anything was inserted."""
    touched: set[int] = set()
    inserted = False
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old.splitlines(), new.splitlines()).get_opcodes():
        if tag in ("replace", "delete"):
            touched.update(range(i1, i2))
        inserted |= tag in ("insert", "replace")
    return touched, inserted


def only(rel: str, out: dict[str, str]) -> str:
    assert set(out) <= {rel}
    return out.get(rel, FILES[rel])


step_edits = st.sampled_from(sorted(STEPS)).flatmap(
    lambda chain: st.one_of(
        st.tuples(st.integers(0, len(STEPS[chain]) - 1), st.integers(0, len(STEPS[chain]) - 1)).map(
            lambda ft: {"op": "move_step", "chain": chain, "from": ft[0], "to": ft[1]}
        ),
        st.integers(0, len(STEPS[chain]) - 1).map(
            lambda i: {"op": "remove_step", "chain": chain, "index": i}
        ),
        st.integers(0, len(STEPS[chain])).map(
            lambda i: {"op": "add_step", "chain": chain, "step": "sim-steady/demo", "at": i}
        ),
        st.fixed_dictionaries(
            {},
            optional={
                "strategy": st.sampled_from(["failover", "round-robin", None]),
                "match": st.sampled_from([["x-*"], None]),
                "queue": st.sampled_from([{"max_wait": "5s"}, None]),
            },
        )
        .filter(bool)
        .map(lambda f: {"op": "set_chain", "chain": chain, "fields": f}),
    )
)


@settings(max_examples=60, deadline=None)
@given(step_edits)
def test_a_chain_edit_changes_only_that_chains_lines(edit: dict[str, object]) -> None:
    new = only("chains.yaml", apply(FILES, [edit]))
    start, end = span("chains.yaml", "chains", str(edit["chain"]))
    touched, _ = changed_lines(FILES["chains.yaml"], new)
    assert touched <= set(range(start, end))
    assert new.count("#") == FILES["chains.yaml"].count("#")  # every comment kept
    assert dump(load(new, "c")) == new


provider_fields = st.fixed_dictionaries(
    {},
    optional={
        "api": st.sampled_from(["openai", "anthropic"]),
        "base_url": st.sampled_from(["https://example.test/v1", "http://127.0.0.1:9/v1"]),
        "keys": st.lists(
            st.from_regex(r"\$\{[A-Z][A-Z0-9_]{0,8}(:-)?\}", fullmatch=True), min_size=1, max_size=3
        ),
        "limits": st.sampled_from([{"rpm": 5}, {"rpm": 1, "tpm": 1000}, None]),
        "headers": st.sampled_from([{"x-team": "relay"}, None]),
    },
).filter(bool)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(PROVIDERS), provider_fields)
def test_a_provider_edit_changes_only_that_providers_lines(name: str, fields: dict[str, object]) -> None:
    new = only("providers.yaml", apply(FILES, [{"op": "set_provider", "provider": name, "fields": fields}]))
    start, end = span("providers.yaml", "providers", name)
    touched, _ = changed_lines(FILES["providers.yaml"], new)
    assert touched <= set(range(start, end))
    assert dump(load(new, "p")) == new


@settings(max_examples=30, deadline=None)
@given(provider_fields.filter(lambda f: "api" in f and "base_url" in f))
def test_a_new_provider_or_model_only_adds_lines(fields: dict[str, object]) -> None:
    edits = [
        {"op": "set_provider", "provider": "newco", "fields": fields},
        {"op": "add_model", "model": "newco-large", "fields": {"providers": {"newco": "large-1"}}},
    ]
    out = apply(FILES, edits)
    assert set(out) == {"providers.yaml", "models.yaml"}
    for rel, new in out.items():
        touched, inserted = changed_lines(FILES[rel], new)
        assert not touched and inserted
        assert new.startswith(FILES[rel])  # appended after the last entry, its trailing comments before


def test_reordering_the_free_chain_is_a_two_line_diff() -> None:
    new = only("chains.yaml", apply(FILES, [{"op": "move_step", "chain": "free", "from": 4, "to": 0}]))
    diff = [
        line
        for line in difflib.unified_diff(
            FILES["chains.yaml"].splitlines(), new.splitlines(), lineterm="", n=0
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert diff == ["+      - sim-steady/demo", "-      - sim-steady/demo"]
    assert compile_texts({**FILES, "chains.yaml": new}, {}, "check").artifact is not None


def test_moving_the_last_step_keeps_the_comment_that_follows_the_list() -> None:
    new = only("chains.yaml", apply(FILES, [{"op": "move_step", "chain": "claude", "from": 2, "to": 0}]))
    lines = new.splitlines()
    at = lines.index("      - zai/glm")
    assert lines[at + 1 : at + 3] == [
        "",
        "  # Free tiers first, then the simulators: sim-burst takes 3 requests a minute, then",
    ]


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (
            {"op": "set_provider", "provider": "groq", "fields": {"keys": ["gsk_live_abcdef0123456789"]}},
            "R204",
        ),
        ({"op": "set_provider", "provider": "groq", "fields": {"keys": ["${GROQ:-gsk_live_abc}"]}}, "R204"),
        ({"op": "move_step", "chain": "free", "from": 0, "to": 9}, "`to` must be an index"),
        ({"op": "add_step", "chain": "nope", "step": "a/b"}, "no chain 'nope'"),
        ({"op": "set_chain", "chain": "free", "fields": {"steps": []}}, "cannot set steps"),
        ({"op": "add_model", "model": "glm", "fields": {"providers": {"zai": "x"}}}, "exists already"),
        ({"op": "explode"}, "unknown edit"),
    ],
)
def test_bad_edits_are_refused_with_a_reason_and_never_echo_a_key(edit: dict[str, object], says: str) -> None:
    with pytest.raises(EditError, match=says) as caught:
        apply(FILES, [edit])
    assert "gsk_live" not in str(caught.value)


def test_a_file_whose_layout_cannot_be_kept_is_not_edited_structurally() -> None:
    odd = FILES["chains.yaml"].replace("    steps:\n      - groq", "    steps:\n    - groq", 1)
    with pytest.raises(EditError, match="YAML view"):
        apply({**FILES, "chains.yaml": odd}, [{"op": "move_step", "chain": "free", "from": 0, "to": 1}])


def test_every_chain_field_the_editor_sets_is_one_the_language_has() -> None:
    """No field the compiler would refuse as unknown (R101): nothing half-wired."""
    assert set(CHAIN_FIELDS) <= set(ChainDef.model_fields)
    assert set(PROVIDER_FIELDS) <= set(ProviderDef.model_fields)
    assert set(MODEL_FIELDS) <= set(ModelDef.model_fields)
