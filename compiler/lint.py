"""The lint report written beside the artifact: all diagnostics plus per-chain capacity.

Paths are relative to the definition folder, so the report is byte-identical wherever the
folder lives and can be committed with the rest of `generated/`.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from compiler.capacity import METRICS, Capacity
from compiler.pipeline import Compiled
from compiler.report import as_records, summary, text_line
from runtime.artifact import FORMAT_VERSION

Rename = Callable[[str], str]


def capacity_record(c: Capacity) -> dict[str, object]:
    unknown = [m for m in METRICS if c.totals[m] is None]
    return {"steps": c.steps, "enabled_steps": c.enabled_steps, **c.totals, "unknown": unknown}


def lint_json(compiled: Compiled, source_hash: str, rename: Rename) -> str:
    body = {
        "format_version": FORMAT_VERSION,
        "source_hash": source_hash,
        "summary": summary(compiled.diagnostics),
        "diagnostics": as_records(compiled.diagnostics, rename),
        "capacity": {c.chain: capacity_record(c) for c in compiled.capacity},
    }
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def lint_text(compiled: Compiled, source_hash: str, rename: Rename) -> str:
    lines = [f"relay lint report (format {FORMAT_VERSION}, sources {source_hash})", "", "Diagnostics"]
    for d in compiled.diagnostics:
        lines.append("  " + text_line(d).replace(d.file, rename(d.file), 1))
    lines += [f"  {summary(compiled.diagnostics)}", ""]
    lines.append(
        "Capacity per chain: limits summed over enabled keys and steps; ? = a key without that limit"
    )
    rows = [["chain", "steps", "enabled", *METRICS]]
    for c in compiled.capacity:
        figures = ["?" if c.totals[m] is None else str(c.totals[m]) for m in METRICS]
        rows.append([c.chain, str(c.steps), str(c.enabled_steps), *figures])
    return "\n".join(lines + table(rows)) + "\n"
