"""`/admin/usage` aggregates: rows of a time range grouped by provider, chain, model, key,
hour or day, with totals and the median latency and time to first byte of each group.

SQL does the sums; a median is one indexed `ORDER BY … LIMIT 1 OFFSET n/2` per group, which
both SQLite and PostgreSQL run without reading a group's rows into Python.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from runtime.ops.usage.store import Store

BY = ("provider", "chain", "model", "key", "hour", "day")
DEFAULT_SPAN = 86400.0
_AGO = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(s|m|h|d|w)$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SUMS = ("requests", "errors", "input_tokens", "output_tokens", "cached_tokens", "cost_usd", "list_cost_usd")


def parse_when(value: str, now: float) -> float:
    """Unix seconds, or a duration back from `now` (`90s`, `30m`, `24h`, `7d`, `2w`)."""
    match = _AGO.match(value)
    if match:
        return now - float(match.group(1)) * _UNIT[match.group(2)]
    try:
        when = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is neither Unix seconds nor a duration such as 24h or 7d") from None
    if not 0 <= when < 1e11:
        raise ValueError(f"{value!r} is not a plausible Unix time")
    return when


@dataclass(frozen=True)
class UsageQuery:
    since: float
    until: float
    by: str = "provider"
    chain: str | None = None
    provider: str | None = None


def _group(by: str, store: Store) -> str:
    bucket = {"hour": 3600, "day": 86400}.get(by)
    if bucket is not None:
        floor = "CAST(at / {n} AS INTEGER)" if store.dialect == "sqlite" else "FLOOR(at / {n})"
        return f"{floor.format(n=bucket)} * {bucket}"
    return {
        "provider": "COALESCE(provider, '-')",
        "chain": "chain",
        "model": "COALESCE(upstream_model, model)",
        "key": "COALESCE(key, '-')",
    }[by]


def _label(by: str, group: Any) -> str:
    if by in ("hour", "day"):
        stamp = datetime.datetime.fromtimestamp(float(group), datetime.UTC)
        return stamp.strftime("%Y-%m-%dT%H:%MZ" if by == "hour" else "%Y-%m-%d")
    return str(group)


def _where(q: UsageQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = ["at >= ?", "at < ?"]
    params: list[Any] = [q.since, q.until]
    for column, value in (("chain", q.chain), ("provider", q.provider)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(clauses), params


def _median(store: Store, column: str, where: str, params: list[Any], count: int) -> float | None:
    if count == 0:
        return None
    found = store.fetch(
        f"SELECT {column} FROM usage WHERE {where} AND {column} IS NOT NULL "
        f"ORDER BY {column} LIMIT 1 OFFSET ?",
        [*params, (count - 1) // 2],
    )
    return round(float(found[0][0]), 2) if found else None


def aggregate(store: Store, q: UsageQuery) -> dict[str, Any]:
    group = _group(q.by, store)
    where, params = _where(q)
    found = store.fetch(
        f"SELECT {group} AS g, COUNT(*), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), "
        "SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens + cache_write_tokens), "
        f"SUM(cost_usd), SUM(list_cost_usd), COUNT(ttfb_ms) FROM usage WHERE {where} "
        f"GROUP BY {group} ORDER BY {group}",
        params,
    )
    rows: list[dict[str, Any]] = []
    totals: dict[str, Any] = dict.fromkeys(_SUMS, 0)
    for g, *sums, ttfb_count in found:
        row: dict[str, Any] = {"group": _label(q.by, g)}
        for name, value in zip(_SUMS, sums, strict=True):
            row[name] = round(float(value or 0), 6) if name.endswith("_usd") else int(value or 0)
            totals[name] += row[name]
        row["saved_usd"] = round(row["list_cost_usd"] - row["cost_usd"], 6)
        in_group = f"{where} AND {group} = ?"
        row["latency_ms_p50"] = _median(store, "latency_ms", in_group, [*params, g], row["requests"])
        row["ttfb_ms_p50"] = _median(store, "ttfb_ms", in_group, [*params, g], int(ttfb_count))
        rows.append(row)
    for name in ("cost_usd", "list_cost_usd"):
        totals[name] = round(totals[name], 6)
    totals["saved_usd"] = round(totals["list_cost_usd"] - totals["cost_usd"], 6)
    return {"since": q.since, "until": q.until, "by": q.by, "rows": rows, "totals": totals}
