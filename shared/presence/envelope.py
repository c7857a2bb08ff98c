"""What every message on the presence queue shares: a versioned JSON body read with a size cap, and a
message id that is a digest of what identifies the change (Service Bus duplicate detection drops a
re-delivery with the same id)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shared.presence.exceptions import InvalidPresenceMessage


def read_envelope(raw: bytes, *, schema: str, version: int, max_bytes: int, what: str) -> dict[str, Any]:
    """The message's JSON object; InvalidPresenceMessage (dead-letter it) for anything this version of
    `schema` cannot read. `what` names the message in the error ("presence message")."""
    if len(raw) > max_bytes:
        raise InvalidPresenceMessage(f"the {what} is too large")
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidPresenceMessage(f"the {what} is not JSON") from exc
    if not isinstance(body, dict) or body.get("schema") != schema:
        raise InvalidPresenceMessage(f"the message is not a {what}")
    if body.get("version") != version:
        raise InvalidPresenceMessage(f"{what} version {body.get('version')!r} is not supported")
    return body


def message_digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()
