"""The dashboard's editor, compiler side: round-trip edits of the definition files, and the
check / preview / save of a draft, run by the runtime as `python -m compiler.edit`.

A separate process because the runtime never imports the compiler or ruamel.yaml
(`runtime/README.md`): the editor endpoints hand JSON requests to this package, one a line
on its stdin, and relay its JSON answers, so a running relay's workers stay as small as
they were and the compiler's imports are paid once per editing session.
"""
