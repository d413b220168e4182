"""Writing what the compiler found: the build folder (routing table, one module per provider
from `templates/`, manifest written last, `secrets.json` split off from what is committed)
and the diagnostics as text, JSON or GitHub annotations.

The only phase that writes; it never resolves or validates anything itself.
"""
