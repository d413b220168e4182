"""How often the cyclic garbage collector runs in a worker, and over what.

Two costs, measured under wrk at 64 connections (gc.callbacks timing, ~2,700 requests/s):

- Young collections. CPython collects generation 0 each time 700 more container objects
  were made than freed. With 64 requests in flight the live request objects alone swing by
  more than that, so a busy worker ran ~1,200 young collections (plus ~110 of generation 1)
  in 4.5 s, 170-210 ms in all, finding nothing: requests make no reference cycles (their
  objects are freed by reference counting). At a threshold of 10,000 the same load ran 1-2.
  Real cyclic garbage still adds to the count until it is collected, so it waits at most
  10,000 allocations.
- Full collections walk every tracked object: the modules, the artifact, the translation
  tables, the pools (~40k objects and more), none of them ever garbage; 13 in 4.5 s took
  184-212 ms. `settle` collects once and moves every survivor to the permanent generation
  (`gc.freeze`), so later passes walk only what requests made (7-9 ms for the same load).

Frozen objects are still freed by reference counting; only a reference cycle among them
would outlive its use. A snapshot replaced by a reload has none (it is freed the moment the
last request using it ends), and `settle` runs again after each swap, so the new artifact
joins the frozen set and what the old one left in cycles is collected then.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
"""Allocations (net of frees) between young collections; CPython's default is 700."""


def settle() -> None:
    """Collect everything collectable now, freeze what survived, and space out the young
    collections."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
