"""The build's split: overrides computed by the compiler put back exactly by the runtime."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compiler.emit.split import differences
from runtime.server.overlay import OverlayError, apply

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


@given(json_values, json_values)
def test_overrides_turn_one_document_into_the_other(old: Any, new: Any) -> None:
    patch = dict(differences(old, new, []))
    assert apply(copy.deepcopy(old), patch) == new


def test_overrides_are_the_smallest_differing_parts() -> None:
    old = {"a/b": {"x": 1, "y": [1, 2]}, "c~": None, "keep": "same"}
    new = {"a/b": {"x": 2, "y": [1, 3]}, "c~": True, "keep": "same"}
    assert dict(differences(old, new, [])) == {"/a~1b/x": 2, "/a~1b/y/1": 3, "/c~0": True}


@pytest.mark.parametrize("pointer", ["/missing", "/list/9", "/list/x", "nope"])
def test_an_override_that_does_not_fit_is_refused(pointer: str) -> None:
    with pytest.raises(OverlayError):
        apply({"list": [1]}, {pointer: 0})
