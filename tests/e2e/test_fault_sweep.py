"""Never less available than direct, for any fault schedule (issue 18): a bounded, seeded sweep
of the property that benchmarks/fault_sweep.py checks at length. Real `relay run` processes
(memory state with one worker; Redis state with two), a real fake upstream, schedules of every
class (429s, quota windows, 5xx, 529, resets, late first bytes, dropped and slow streams, a
stream without `[DONE]`, a step refusing connections) over chains of one, two and three steps."""

from __future__ import annotations

from pathlib import Path

from benchmarks.fault_schedules import generate
from benchmarks.fault_sweep import sweep, table, worst

SCHEDULES = 240
REQUESTS = 10


def test_relay_fails_no_more_than_the_best_direct_step_for_every_schedule(tmp_path: Path) -> None:
    results = sweep(generate(18, SCHEDULES, REQUESTS), tmp_path)
    bad = [f"{r.sched.name} ({r.state}): {'; '.join(r.violations())}" for r in results if r.violations()]
    summary = f"{table(results)}\nworst: {worst(results).sched.name}"
    assert not bad, "\n".join(bad[:20]) + "\n" + summary
