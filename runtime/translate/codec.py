"""Module-level msgspec JSON codec shared by every translator (one Encoder/Decoder per process)."""

from __future__ import annotations

from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()

encode = _encoder.encode
decode = _decoder.decode
DecodeError = msgspec.DecodeError


def dumps(value: Any) -> str:
    """JSON text of `value`, for fields that carry JSON inside a string (tool `arguments`)."""
    return _encoder.encode(value).decode()
