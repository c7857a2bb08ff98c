"""PartitionKey / RowKey rules that Table Storage enforces (and Azurite only partly)."""

from __future__ import annotations

from shared.storage.exceptions import InvalidTableKey

_FORBIDDEN = frozenset("/\\#?")
MAX_KEY_BYTES = 1024


def checked_key(value: str, what: str = "key") -> str:
    if not value:
        raise InvalidTableKey(f"{what} must not be empty")
    if len(value.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidTableKey(f"{what} must be at most {MAX_KEY_BYTES} bytes")
    for char in value:
        if char in _FORBIDDEN or ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F:
            raise InvalidTableKey(f"{what} must not contain / \\ # ? or control characters")
    return value


def odata_string(value: str) -> str:
    """Quote a value for an OData filter literal."""
    return "'" + value.replace("'", "''") + "'"
