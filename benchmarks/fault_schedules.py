"""Seeded fault schedules: what each upstream call of a schedule answers, decided by a pure function.

A schedule is named by a few fields (class, seed, chain length, stream or not, requests) and
the answer to call `c` of request `r` on step `s` is drawn from a `random.Random` seeded with
those numbers, so the fake upstream (benchmarks/fault_upstream.py) and the runner
(benchmarks/fault_sweep.py) compute the same schedule without exchanging it, and a failing
schedule is reproduced from its name alone. The direct lane sends request `r` once to each
step (call 0); relay may call a step again for the same request (call 1, 2, …), which gets an
independent draw of the same class.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Fault = Literal[
    "ok",
    "429",
    "429_exhausted",
    "500",
    "503",
    "529",
    "reset",
    "late",
    "drop_before",
    "drop_after",
    "slow_body",
    "no_done",
]
"""ok: a normal answer. 429: retry-after 1-2 s, for this request only (most others succeed).
429_exhausted: remaining 0 with a reset header, and the upstream keeps its word: every call
to that step answers 429 until the reset. reset: the connection closes before any answer.
late: the first byte after `LATE` seconds (past relay's `first_byte`, within `total`).
drop_before / drop_after: a stream that closes before / after its content began (a whole
body cut short when not streamed). slow_body: the body in pieces `SLOW` seconds apart.
no_done: a complete stream (finish reason, usage) that ends without `data: [DONE]`."""

LATE = 0.4
SLOW = 0.12
EXHAUSTED_FOR = 0.5

CLASSES: dict[str, dict[Fault, float]] = {
    "429 retry-after": {"429": 0.3},
    "429 quota exhausted": {"429_exhausted": 0.08},
    "5xx": {"500": 0.15, "503": 0.25},
    "529 overloaded": {"529": 0.35},
    "late first byte": {"late": 0.25},
    "connection reset": {"reset": 0.3},
    "stream drops": {"drop_before": 0.2, "drop_after": 0.1},
    "slow body": {"slow_body": 0.4},
    "no [DONE]": {"no_done": 0.5},
    "mixed": {
        "429": 0.06,
        "500": 0.06,
        "503": 0.06,
        "529": 0.06,
        "reset": 0.05,
        "late": 0.05,
        "drop_before": 0.05,
        "drop_after": 0.03,
        "slow_body": 0.05,
        "no_done": 0.05,
    },
}

STREAM_ONLY: frozenset[Fault] = frozenset({"no_done"})


@dataclass(frozen=True)
class Schedule:
    kind: str
    """A key of CLASSES."""
    seed: int
    steps: int
    stream: bool
    requests: int
    dead_step: int | None = None
    """A step whose port refuses every connection, for the whole schedule."""

    @property
    def name(self) -> str:
        dead = "" if self.dead_step is None else f", step {self.dead_step} refused"
        mode = "stream" if self.stream else "whole"
        return f"{self.kind} / seed {self.seed} / {self.steps} step(s) / {mode} / {self.requests} req{dead}"

    @property
    def slug(self) -> str:
        """The schedule in a URL path segment: the upstream decodes it with `parse`."""
        dead = "-" if self.dead_step is None else str(self.dead_step)
        code = list(CLASSES).index(self.kind)
        return f"{code}.{self.seed}.{self.steps}.{int(self.stream)}.{self.requests}.{dead}"

    def fault(self, step: int, request: int, call: int) -> Fault:
        rng = random.Random(f"{self.kind}/{self.seed}/{step}/{request}/{call}")
        roll = rng.random()
        for fault, share in CLASSES[self.kind].items():
            if roll < share:
                return "ok" if fault in STREAM_ONLY and not self.stream else fault
            roll -= share
        return "ok"

    def retry_after(self, step: int, request: int, call: int) -> int:
        return random.Random(f"ra/{self.seed}/{step}/{request}/{call}").choice((1, 2))


def parse(slug: str) -> Schedule:
    code, seed, steps, stream, requests, dead = slug.split(".")
    return Schedule(
        list(CLASSES)[int(code)],
        int(seed),
        int(steps),
        stream == "1",
        int(requests),
        None if dead == "-" else int(dead),
    )


def generate(seed: int, count: int, requests: int) -> list[Schedule]:
    """`count` schedules spread over every class, chain length and mode; one in eight has a
    step whose port refuses connections."""
    rng = random.Random(seed)
    kinds = list(CLASSES)
    out = []
    for index in range(count):
        steps = 1 + index % 3
        dead = rng.randrange(steps) if steps > 1 and rng.random() < 0.125 else None
        stream = rng.random() < 0.5
        out.append(Schedule(kinds[index % len(kinds)], rng.randrange(1 << 30), steps, stream, requests, dead))
    return out


Lane = Literal["d", "r"]
"""d: the client calls the upstream directly; r: through relay. Each lane has its own upstream
state (quota windows, call counts), so the lanes cannot disturb each other."""
