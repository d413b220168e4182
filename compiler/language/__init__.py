"""The definition language as typed pydantic models: the single source of the shape that
`schemas/relay.schema.json` is generated from and that `resolve` reads.

Pure data and validators: never reads files or the environment, never imports `resolve`
or `emit`.
"""
