"""Generate the JSON Schema of the definition language from the pydantic models.

`relay check` validates against `schema()`, generated in memory, so an installed relay needs
no data file beside its code. The repository commits the same text as
`schemas/relay.schema.json` for editors (`# yaml-language-server: $schema=…`);
`python -m compiler.schema` rewrites it, `--check` exits 1 when it is stale, and a test
holds the two equal. `relay schema` prints it for installs without the repository. The
generator trims pydantic's output into what editors and jsonschema want: no per-field
titles, optional fields not nullable (omit them instead of writing null), and constrained
mapping keys as `propertyNames` so a bad name gets its own error instead of "unknown key".
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from compiler.language.model import DefinitionFile

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "relay.schema.json"
SCHEMA_ID = "https://relay.invalid/schemas/relay.schema.json"


class _Generator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        result = super().default_schema(schema)
        if result.get("default", 0) is None:
            del result["default"]
        return result

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        result = super().dict_schema(schema)
        patterns = result.pop("patternProperties", None)
        if patterns:
            ((pattern, values),) = patterns.items()
            result["propertyNames"] = {"pattern": pattern}
            result["additionalProperties"] = values
        return result


def generate() -> dict[str, Any]:
    body = DefinitionFile.model_json_schema(schema_generator=_Generator)
    body.pop("title", None)
    head = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "relay definitions",
        "description": "One relay definition file (chains/*.yaml). Generated from compiler/model*.py.",
    }
    return head | body


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@cache
def schema() -> dict[str, Any]:
    """The schema the compiler validates against: the committed file's content (a test
    holds them equal), generated once per process."""
    return generate()


def main(argv: list[str]) -> int:
    text = render(generate())
    if "--check" in argv:
        stale = not SCHEMA_PATH.exists() or SCHEMA_PATH.read_text(encoding="utf-8") != text
        if stale:
            print(f"{SCHEMA_PATH} is stale: run `python -m compiler.schema`", file=sys.stderr)
        return 1 if stale else 0
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
