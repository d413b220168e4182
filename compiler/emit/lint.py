"""The lint report written beside the artifact, in two parts.

`lint.json` / `lint.txt` are committed: the diagnostics of the environment-free build. The
environment's part (missing variables, providers disabled for lack of a key, checks on
values taken from the environment, and per-chain capacity over the keys actually set) goes
to the git-ignored `lint.env.json` / `lint.env.txt`. Paths are relative to the definition
folder, so the report is byte-identical wherever the folder lives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from compiler.diagnostics import Diagnostic
from compiler.emit.report import as_records, summary, text_line
from compiler.resolve.capacity import METRICS, Capacity
from compiler.resolve.prices import ESTIMATE_INPUT, ESTIMATE_OUTPUT, CostEstimate
from runtime.artifact import FORMAT_VERSION

Rename = Callable[[str], str]


def capacity_record(c: Capacity) -> dict[str, object]:
    unknown = [m for m in METRICS if c.totals[m] is None]
    return {"steps": c.steps, "enabled_steps": c.enabled_steps, **c.totals, "unknown": unknown}


ESTIMATE_NOTE = (
    f"Cost per 1,000 requests (USD) at each chain's first step and at its reference price, "
    f"assuming {ESTIMATE_INPUT:,} input and {ESTIMATE_OUTPUT:,} output tokens per request, none cached; "
    "- = unpriced"
)


def _usd(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def estimate_lines(estimates: Sequence[CostEstimate]) -> list[str]:
    rows = [["chain", "first step", "reference", "saved", "reference date"]]
    for e in estimates:
        saved = None if e.reference is None else e.reference - (e.cost or 0.0)
        rows.append([e.chain, _usd(e.cost), _usd(e.reference), _usd(saved), e.date or "-"])
    return ["", ESTIMATE_NOTE, *table(rows)]


def lint_json(
    diags: Sequence[Diagnostic],
    source_hash: str,
    rename: Rename,
    capacity: Sequence[Capacity] | None = None,
    estimates: Sequence[CostEstimate] | None = None,
) -> str:
    body: dict[str, object] = {
        "format_version": FORMAT_VERSION,
        "source_hash": source_hash,
        "summary": summary(diags),
        "diagnostics": as_records(diags, rename),
    }
    if estimates is not None:
        body["cost_per_1000_requests"] = {
            "assumed_tokens": {"input": ESTIMATE_INPUT, "output": ESTIMATE_OUTPUT},
            "chains": {
                e.chain: {"first_step_usd": e.cost, "reference_usd": e.reference, "reference_date": e.date}
                for e in estimates
            },
        }
    if capacity is not None:
        body["capacity"] = {c.chain: capacity_record(c) for c in capacity}
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def lint_text(
    diags: Sequence[Diagnostic],
    source_hash: str,
    rename: Rename,
    capacity: Sequence[Capacity] | None = None,
    title: str = "relay lint report",
    estimates: Sequence[CostEstimate] | None = None,
) -> str:
    lines = [f"{title} (format {FORMAT_VERSION}, sources {source_hash})", "", "Diagnostics"]
    for d in diags:
        lines.append("  " + text_line(d).replace(d.file, rename(d.file), 1))
    lines.append(f"  {summary(diags)}")
    if estimates:
        lines += estimate_lines(estimates)
    if capacity is None:
        return "\n".join(lines) + "\n"
    lines += [
        "",
        "Capacity per chain: limits summed over enabled keys and steps; ? = a key without that limit",
    ]
    rows = [["chain", "steps", "enabled", *METRICS]]
    for c in capacity:
        figures = ["?" if c.totals[m] is None else str(c.totals[m]) for m in METRICS]
        rows.append([c.chain, str(c.steps), str(c.enabled_steps), *figures])
    return "\n".join(lines + table(rows)) + "\n"
