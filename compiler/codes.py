"""The table of diagnostic codes. Codes are stable: tools and CI filters match on them.

One `Code` per kind of problem, with its default severity. `R0xx` come from reading files,
`R1xx` from the schema, `R2xx` from checks across the whole definition set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: Severity
    title: str


NO_DIR = Code("R001", "error", "definition folder missing or not a folder")
UNREADABLE = Code("R002", "error", "file cannot be read")
NO_YAML = Code("R003", "error", "no *.yaml or *.yml file in the folder")
TOO_LARGE = Code("R004", "error", "file larger than the size cap")
NOT_TEXT = Code("R005", "error", "file is not UTF-8 text")
EMPTY = Code("R006", "error", "file holds no definitions")
TAB = Code("R007", "error", "tab character in indentation")
SYNTAX = Code("R008", "error", "YAML syntax error")
DUPLICATE_KEY = Code("R009", "error", "same key twice in one mapping")
ALIAS_BOMB = Code("R010", "error", "aliases expand too far, recurse, or nest too deep")
KEY_TYPE = Code("R011", "error", "mapping key is not a string")

WRONG_TYPE = Code("R100", "error", "value has the wrong type")
UNKNOWN_KEY = Code("R101", "error", "unknown key")
MISSING_KEY = Code("R102", "error", "required key missing")
BAD_CHOICE = Code("R103", "error", "value not among the allowed choices")
BAD_DURATION = Code("R104", "error", "malformed duration")
BAD_URL = Code("R105", "error", "malformed URL")
BAD_FORMAT = Code("R106", "error", "value does not have the required form")
OUT_OF_RANGE = Code("R107", "error", "number out of range")
BAD_VERSION = Code("R108", "error", "unsupported definition format version")
SCHEMA_OTHER = Code("R109", "error", "value rejected by the schema")
MODEL_MISMATCH = Code("R199", "error", "schema and typed model disagree (a relay bug)")

DUPLICATE_NAME = Code("R200", "error", "same name defined in two places")
UNKNOWN_PROVIDER = Code("R201", "error", "step names an unknown provider")
ALIAS_NO_PROVIDER = Code("R202", "error", "model alias has no mapping for the step's provider")
MISSING_ENV = Code("R203", "warning", "environment variable not set (error in build)")
LITERAL_SECRET = Code("R204", "error", "secret written literally instead of from the environment")
AMBIGUOUS_MATCH = Code("R205", "error", "two chains' match patterns can claim the same model")
EMPTY_CHAIN = Code("R206", "error", "chain has no steps")
DUPLICATE_STEP = Code("R207", "error", "same step twice in one chain")
UNUSED_PROVIDER = Code("R208", "warning", "provider used by no chain")
UNUSED_MODEL = Code("R209", "warning", "model alias used by no chain")
OPEN_LISTEN = Code("R210", "error", "non-loopback listen address without client keys")
PLAIN_HTTP = Code("R211", "warning", "plain http to a non-loopback host")
NO_TOOLS = Code("R212", "warning", "Claude chain step whose model lacks the tools capability")
PROVIDER_DISABLED = Code("R213", "warning", "provider disabled: none of its keys is set")
RAW_MODEL = Code("R214", "info", "step uses a raw model id, passed verbatim")
NOT_SERVED = Code("R215", "warning", "wire format or setting accepted but not served by this runtime yet")
UNKNOWN_CHAIN = Code("R216", "error", "default_chain names an unknown chain")
BAD_ENV_REF = Code("R217", "error", "malformed environment reference")
NO_ENABLED_STEP = Code("R218", "warning", "every step of the chain is on a disabled provider")
MISSING_BASE_URL = Code("R219", "error", "base_url missing")
FIELD_NOT_APPLICABLE = Code("R220", "warning", "field has no effect for this wire format")
MODULE_CLASH = Code("R221", "error", "two providers map to the same generated module name")
NO_DEFINITIONS = Code("R222", "error", "definition set has no providers or no chains")
BAD_LISTEN = Code("R223", "error", "malformed listen address, or a host name instead of an address")
WEAK_CLIENT_KEY = Code("R224", "error", "client or admin key empty, with whitespace, or too short")
UNKNOWN_REFERENCE = Code("R225", "error", "reference price names no chain and no model")
RULE_UNKNOWN_CHAIN = Code("R226", "error", "routing rule names an unknown chain")
RULE_SHADOWED = Code("R227", "error", "routing rule can never match: an earlier rule matches all it would")
RULE_NEVER_KNOWN = Code("R228", "error", "routing rule condition relay cannot know or no request can satisfy")

CLOUD_MISSING = Code("R240", "error", "cloud provider setting missing (region, project)")
CLOUD_BAD_SETTING = Code("R241", "error", "malformed cloud provider setting")
CLOUD_FROM_ENV = Code("R242", "error", "cloud setting taken from the environment")
NO_DEPLOYMENT = Code("R243", "error", "model missing from an Azure deployment map")
CLOUD_CREDENTIALS = Code("R244", "warning", "cloud credentials not found where relay builds")
CLOUD_CREDENTIAL_SOURCE = Code("R245", "info", "where a cloud provider's credentials come from")
MISSING_EXTRA = Code("R246", "error", "setting needs an optional part of relay that is not installed")
ACCOUNT_CLASH = Code("R247", "warning", "one key declared in two accounts")

ALL: tuple[Code, ...] = tuple(v for v in globals().values() if isinstance(v, Code))
IO_CODES = frozenset({NO_DIR.code, UNREADABLE.code})
"""Errors that make the command exit 2 (I/O) rather than 1 (bad definitions)."""
