"""relay's compiler: YAML chain definitions in, a frozen routing artifact out.

Phases, one module each: `load` (files and YAML with positions) → `validate` (JSON Schema)
→ `merge` (one definition set across files) → `model` (typed pydantic objects) →
`resolve` (environment, aliases, steps, routes) → `checks` (semantic lint) → `emit`.
Every phase reports `Diagnostic` records instead of raising, so one run shows every problem.
The compiler imports `runtime.artifact` for the output types; the runtime never imports this.
"""
