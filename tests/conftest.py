"""Hypothesis in CI runs the same examples every time (derandomized, no example database):
a property that fails there fails on every run and can be reproduced; outside CI each run
explores new examples, which is where new counterexamples are found."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
