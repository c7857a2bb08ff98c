"""The opaque `cursor` of `GET .../agents`: Table Storage's continuation token, bound to the tenant.

It is url-safe base64 of a small JSON document. Binding it to the tenant means a cursor of one tenant
can never steer a query of another; anything that does not decode to exactly that shape is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Final

from shared.agents.exceptions import InvalidCursor
from shared.agents.model import ContinuationToken

MAX_CURSOR_LENGTH: Final = 2048
_MAX_KEY_LENGTH: Final = 1024


def encode_cursor(tenant_id: str, token: ContinuationToken) -> str:
    document = {"t": tenant_id, "pk": token.partition_key, "rk": token.row_key}
    raw = json.dumps(document, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(tenant_id: str, cursor: str) -> ContinuationToken:
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise InvalidCursor()
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        document = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(document, dict) or set(document) != {"t", "pk", "rk"} or document["t"] != tenant_id:
        raise InvalidCursor()
    partition_key, row_key = document["pk"], document["rk"]
    if not (_plausible_key(partition_key) and _plausible_key(row_key)):
        raise InvalidCursor()
    return ContinuationToken(partition_key, row_key)


def _plausible_key(value: object) -> bool:
    # The values travel to Table Storage as request headers: printable ASCII only.
    return (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_KEY_LENGTH
        and value.isascii()
        and value.isprintable()
    )
