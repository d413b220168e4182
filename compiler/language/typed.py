"""Turn the merged, expanded definition data into typed pydantic objects.

The data already passed the JSON Schema generated from these same models, so a failure
here means the two disagree: it is reported as R199 (a relay bug), never raised.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from compiler import codes
from compiler.diagnostics import Diagnostic, make
from compiler.language.model import DefinitionFile
from compiler.source.merge import DefinitionSet


def build(ds: DefinitionSet, data: dict[str, Any]) -> tuple[DefinitionFile | None, list[Diagnostic]]:
    try:
        return DefinitionFile.model_validate(data), []
    except ValidationError as exc:
        return None, [
            make(codes.MODEL_MISMATCH, ds.where(list(err["loc"])), err["msg"], "please report this relay bug")
            for err in exc.errors()
        ]
