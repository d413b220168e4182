"""Value types shared by the definition models: durations, URLs, names, and their schemas.

Each type carries the JSON Schema that `schemas/relay.schema.json` shows for it, with a
`title` (`Duration`, `URL`) that the validator uses to give the specific diagnostic code.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, WithJsonSchema

DURATION_RE = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h|d)$"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
ENV_INSIDE = r"\$\{[^}]*\}"
URL_RE = rf"^(https?://[^\s/?#]+[^\s]*|\S*{ENV_INSIDE}\S*)$"
LISTEN_RE = rf"^((\[[0-9A-Fa-f:.]+\]|[^\s:\[\]/]+):[0-9]{{1,5}}|\S*{ENV_INSIDE}\S*)$"
STATE_RE = rf"^(memory|rediss?://\S+|\S*{ENV_INSIDE}\S*)$"
USAGE_RE = rf"^(off|sqlite|sqlite:///\S+|postgres(ql)?://\S+|\S*{ENV_INSIDE}\S*)$"
HOST_RE = rf"^((\*\.)?[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?|\S*{ENV_INSIDE}\S*)$"
"""A host name as a browser sends it in `Host` (no scheme, no port); `*.` for any subdomain."""
ORIGIN_RE = rf"^(https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:[0-9]{{1,5}})?|\S*{ENV_INSIDE}\S*)$"
"""An origin as a browser sends it in `Origin`: scheme, host, optional port, nothing else."""
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
STEP_RE = r"^[^/\s]+/\S.*$"
NAME_RE = r"^[A-Za-z][A-Za-z0-9_-]*$"
"""Provider and key names: they become Python module names and `provider/model` prefixes."""


def parse_duration(value: Any) -> Any:
    """`250ms`, `30s`, `5m`, `1h`, `1d` or a number of seconds, as float seconds."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(DURATION_RE, value):
        number = re.match(r"[0-9.]+", value)
        assert number is not None
        return float(number.group()) * _UNITS[value[number.end() :]]
    return value


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "title": "Duration",
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": DURATION_RE},
            ],
        }
    ),
]
Url = Annotated[str, WithJsonSchema({"title": "URL", "type": "string", "pattern": URL_RE})]
Name = Annotated[str, StringConstraints(pattern=NAME_RE)]
StepRef = Annotated[str, StringConstraints(pattern=STEP_RE)]


class Strict(BaseModel):
    """Base of every definition model: unknown keys are errors, values are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
