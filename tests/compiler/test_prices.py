"""Prices and reference prices: validated with located diagnostics, compiled onto steps as
plain numbers, estimated per 1,000 requests in the lint report."""

from __future__ import annotations

from compiler.emit.lint import lint_text
from runtime.artifact import Price
from tests.compiler.conftest import CompileSet

BASE = """\
version: 1
providers:
  paid: {api: simulated}
  free: {api: simulated}
models:
  big:
    cost: {input: 3, output: 15, cache_read: 0.3}
    providers:
      paid: big-paid
      free: {id: big-free, cost: {input: 0, output: 0}}
chains:
  main:
    steps: [free/big, paid/big, paid/raw-id]
"""


def test_steps_carry_their_price_and_the_chains_reference(compile_set: CompileSet) -> None:
    refs = (
        "version: 1\nreferences:\n  main: {input: 5, output: 25, date: '2026-11-01'}\n"
        "  big: {input: 1, output: 1, date: '2026-11-01'}\n"
    )
    result = compile_set({"relay.yaml": BASE, "prices.yaml": refs})
    assert result.artifact is not None, result.diagnostics
    free, paid, raw = result.artifact.chains["main"].steps
    assert free.price == Price(input=0, output=0, cache_read=0, cache_write=0)
    assert paid.price == Price(input=3, output=15, cache_read=0.3, cache_write=3)  # cache write: input
    assert raw.price is None
    chain_ref = Price(input=5, output=25, cache_read=5, cache_write=5)
    assert free.reference == paid.reference == raw.reference == chain_ref  # the chain's wins
    big = result.artifact.chains["big"].steps[0]  # the chain a model name gets: its own reference
    assert big.reference == Price(input=1, output=1, cache_read=1, cache_write=1)


def test_negative_absurd_and_undated_prices_are_located(compile_set: CompileSet) -> None:
    bad = BASE.replace("cost: {input: 3, output: 15, cache_read: 0.3}", "cost: {input: -1, output: 15000}")
    refs = "version: 1\nreferences:\n  big: {input: 1, output: 1, date: 'Nov 1'}\n"
    result = compile_set({"relay.yaml": bad, "prices.yaml": refs})
    found = {(d.file.rsplit("/", 1)[-1], d.code, d.line) for d in result.diagnostics if d.severity == "error"}
    assert found == {("relay.yaml", "R107", 7), ("prices.yaml", "R106", 3)}
    assert len([d for d in result.diagnostics if d.code == "R107"]) == 2  # -1 and 15000


def test_a_reference_must_name_a_chain_or_a_model(compile_set: CompileSet) -> None:
    refs = "version: 1\nreferences:\n  mian: {input: 1, output: 1, date: '2026-11-01'}\n"
    result = compile_set({"relay.yaml": BASE, "prices.yaml": refs})
    unknown = next(d for d in result.diagnostics if d.code == "R225")
    assert (unknown.file.rsplit("/", 1)[-1], unknown.line, unknown.severity) == ("prices.yaml", 3, "error")
    assert "'mian'" in unknown.message and "did you mean 'main'?" in unknown.hint


def test_the_lint_report_estimates_cost_per_1000_requests(compile_set: CompileSet) -> None:
    refs = "version: 1\nreferences:\n  main: {input: 3, output: 15, date: '2026-11-01'}\n"
    result = compile_set(
        {"relay.yaml": BASE.replace("[free/big, paid/big", "[paid/big, free/big"), "p.yaml": refs}
    )
    text = lint_text([], "sha256:x", str, estimates=result.estimates)
    row = next(line.split() for line in text.splitlines() if line.strip().startswith("main "))
    # 2,000 input and 500 output tokens per request: (2000 * 3 + 500 * 15) / 1e6 * 1000 = 13.5
    assert row == ["main", "13.5000", "13.5000", "0.0000", "2026-11-01"]
