"""The Graph resource string of a presence shard, and the user-id normalisation it relies on."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from shared.subscriptions.sharding import MAX_IDS_PER_SUBSCRIPTION

logger = logging.getLogger(__name__)

PRESENCES = "/communications/presences"


def presence_resource(user_ids: Iterable[str]) -> str:
    """`/communications/presences?$filter=id in ('id1','id2')`: Graph's syntax for a bulk presence
    subscription. The ids must be GUIDs, so quoting cannot be broken out of."""
    ids = sorted({canonical_user_id(user_id) for user_id in user_ids})
    if not ids:
        raise ValueError("a presence subscription needs at least one user id")
    if len(ids) > MAX_IDS_PER_SUBSCRIPTION:
        raise ValueError(f"a presence subscription covers at most {MAX_IDS_PER_SUBSCRIPTION} users")
    quoted = ",".join(f"'{user_id}'" for user_id in ids)
    return f"{PRESENCES}?$filter=id in ({quoted})"


def canonical_user_id(user_id: str) -> str:
    """The lower-case hyphenated form of an Entra object id; ValueError when it is no GUID."""
    return str(uuid.UUID(user_id.strip()))


def normalized_user_ids(tenant_id: str, user_ids: Iterable[str]) -> frozenset[str]:
    """Canonical ids, duplicates removed; anything that is no GUID is left out (and logged), since it
    could never be subscribed to."""
    result: set[str] = set()
    for user_id in user_ids:
        try:
            result.add(canonical_user_id(user_id))
        except ValueError:
            logger.warning("tenant %s: roster user id %r is not a GUID; not subscribed", tenant_id, user_id)
    return frozenset(result)
