"""Reading definitions: `*.yaml` files in, position-carrying nodes out, each file checked
against the JSON Schema on its own, then sections merged by name across files.

Knows nothing of what a provider or a chain means (that is `resolve`), only files, YAML and
the schema; never reads the environment.
"""
