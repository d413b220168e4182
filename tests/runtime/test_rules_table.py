"""The compiled rule table agrees with the conditions as docs/routing.md states them, on
arbitrary requests and rules: whatever the table precomputes (one alternation per rule's
globs, tool keys with their dated prefixes) must not change which rule fires."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.artifact import Rule
from runtime.rules import Facts, RuleTable

_top = msgspec.json.Decoder(dict[str, msgspec.Raw])

WANTED = st.sampled_from(["web", "web_search", "web_fetch", "Bash", "x"])
KINDS = st.sampled_from(["web_search_20250305", "web_fetch_20250910", "x_", "_x", "custom", "web"])
NAMES = st.sampled_from(["web_search", "Bash", "Read"])
MODELS = st.sampled_from(["claude-haiku-4-5", "claude-opus-4-8", "gpt-5", "claude-3-5-haiku-x"])
GLOBS = st.sampled_from([r"^(?s:claude\-.*)\Z", r"^(?s:claude\-haiku\-.*)\Z", r"^(?s:gpt\-5)\Z", "(?!)"])


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    """Each condition set with odds 1 in 4 (tool types 1 in 2), so that rules fire often
    enough to compare."""

    def some(strategy: st.SearchStrategy[Any], unset: Any = None) -> Any:
        return draw(strategy) if draw(st.integers(0, 3)) == 0 else unset

    above = some(st.integers(0, 400))
    return Rule(
        name=draw(st.text("abc", min_size=1, max_size=3)),
        chain="c",
        models=tuple(some(st.lists(GLOBS, min_size=1, max_size=3), ())),
        above=above,
        below=some(st.integers(0 if above is None else above + 1, 800)),
        thinking=some(st.booleans()),
        tools=some(st.booleans()),
        tool_types=tuple(draw(st.lists(WANTED, min_size=1, max_size=2)) if draw(st.booleans()) else ()),
        images=some(st.booleans()),
        stream=some(st.booleans()),
        client_keys=tuple(some(st.lists(st.sampled_from(["K1", "K2"]), min_size=1, max_size=2), ())),
        headers=tuple(some(st.lists(st.tuples(st.sampled_from(["x-a", "x-b"]), GLOBS), max_size=2), ())),
    )


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    tool = (
        st.fixed_dictionaries({"type": KINDS}, optional={"name": NAMES})
        | st.fixed_dictionaries({"name": NAMES | st.integers()}, optional={"type": st.none()})
        | st.fixed_dictionaries({"name": NAMES, "type": st.just([]) | st.just({"a": 1})})
        | st.just("odd")
    )
    body: dict[str, Any] = {"model": draw(MODELS), "max_tokens": 10}
    if draw(st.integers(0, 3)):
        body["tools"] = draw(st.lists(tool, min_size=1, max_size=3))
    if draw(st.booleans()):
        body["thinking"] = {"type": draw(st.sampled_from(["enabled", "adaptive", "disabled"]))}
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}
    text = {"type": "text", "text": draw(st.text(max_size=300))}
    body["messages"] = [
        {"role": "user", "content": draw(st.lists(st.sampled_from([text, image]), max_size=2))}
    ]
    body["stream"] = draw(st.booleans())
    return body


def reference(rule: Rule, body: dict[str, Any], raw: bytes, headers: dict[str, str], key: str | None) -> bool:
    """Each condition read literally from the table in docs/routing.md."""
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    images = any(b.get("type") == "image" for m in body["messages"] for b in m["content"])
    held = [
        not rule.models or any(re.match(p, body["model"]) for p in rule.models),
        rule.stream is None or rule.stream is body["stream"],
        (rule.above is None or len(raw) // 4 > rule.above)
        and (rule.below is None or len(raw) // 4 < rule.below),
        not rule.client_keys or key in rule.client_keys,
        all(name in headers and re.match(p, headers[name]) for name, p in rule.headers),
        rule.tools is None or rule.tools is bool(body.get("tools")),
        not rule.tool_types
        or any(
            t.get("type") in rule.tool_types
            or t.get("name") in rule.tool_types
            or any(isinstance(t.get("type"), str) and t["type"].startswith(w + "_") for w in rule.tool_types)
            for t in tools
        ),
        rule.thinking is None
        or rule.thinking is (body.get("thinking", {}).get("type") in ("enabled", "adaptive")),
        rule.images is None or rule.images is images,
    ]
    return all(held)


@settings(max_examples=300, deadline=None)
@given(
    table=st.lists(rules(), max_size=5),
    body=requests(),
    headers=st.dictionaries(st.sampled_from(["x-a", "x-b"]), st.sampled_from(["claude-x", "gpt-5", ""])),
    key=st.none() | st.sampled_from(["K1", "K2"]),
)
def test_the_first_rule_that_holds_fires(
    table: list[Rule], body: dict[str, Any], headers: dict[str, str], key: str | None
) -> None:
    raw = msgspec.json.encode(body)
    facts = Facts(
        fmt="anthropic",
        model=body["model"],
        tokens=len(raw) // 4,
        stream=body["stream"],
        top=_top.decode(raw),
        full=lambda: msgspec.json.decode(raw),
        headers=headers,
        client_key=key,
    )
    compiled = RuleTable(tuple(table))
    expected = next((rule for rule in table if reference(rule, body, raw, headers, key)), None)
    assert compiled.first(facts) is expected
    trace = compiled.trace(facts)
    if expected is None:
        assert len(trace) == len(table) and all(failed is not None for _, failed in trace)
    else:
        assert trace[-1] == (expected, None) and all(failed is not None for _, failed in trace[:-1])


def test_a_dated_tool_type_matches_its_undated_names() -> None:
    raw = msgspec.json.encode({"model": "m", "tools": [{"type": "web_search_20250305", "name": "s"}]})
    facts = Facts(
        fmt="anthropic",
        model="m",
        tokens=1,
        stream=False,
        top=_top.decode(raw),
        full=lambda: msgspec.json.decode(raw),
        headers={},
    )
    for wanted, fires in (
        ("web_search", True),
        ("web", True),
        ("web_sea", False),
        ("search", False),
        ("s", True),
    ):
        rule = Rule(name="r", chain="c", tool_types=(wanted,))
        assert (RuleTable((rule,)).first(facts) is rule) is fires, wanted
