"""Canonical JSON and the hashes a case rests on: rows, audit entries, findings and packages.

One canonical form everywhere (sorted keys, no spaces, UTF-8, no NaN), so a
hash computed by another agency, another database or a later release over the
same facts is the same hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64   # the "previous hash" of the first audit entry


def canonical(obj: Any) -> bytes:
    """Sorted-key, compact, UTF-8 JSON; floats that are not finite are refused."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(obj: Any) -> str:
    """SHA-256 of ``obj``'s canonical JSON."""
    return sha256_hex(canonical(obj))


def dumps(obj: Any) -> str:
    """Canonical JSON as text, for the JSON columns (their exact bytes are what the row hash covers)."""
    return canonical(obj).decode()


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _plain(value: Any) -> Any:
    # Binary columns enter a row hash as the SHA-256 of their bytes, so a changed byte still changes it.
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        return {"sha256": sha256_hex(bytes(value)), "size": len(value)}
    return value


def row_hash(table: str, row: Mapping[str, Any]) -> str:
    """The hash of one stored row: every column but ``row_hash`` itself, with the table's name."""
    cols = {k: _plain(v) for k, v in row.items() if k != "row_hash"}
    return digest({"table": table, "row": cols})


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The hash of one audit entry: every field but ``entry_hash``; ``prev_hash`` chains it to the last."""
    return digest({k: v for k, v in entry.items() if k != "entry_hash"})
