"""Signed, opaque `skipToken`s: the next page of one tenant's one query, for a while.

A token is `base64url(json claims) "." base64url(HMAC-SHA256(key, payload))` with the claims
`{t: tenant, q: query fingerprint, s: Graph's $skiptoken, e: expiry}`. The connector only ever sends
Graph's `$skiptoken` value to its own configured Graph URL: a client can neither make it follow a URL
of its choosing nor replay a token for another tenant or another query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Final

from shared.directory.exceptions import InvalidSkipToken
from shared.directory.model import DirectoryQuery

# Graph's own page tokens expire after a while too; past this a client starts the search again.
DEFAULT_TOKEN_TTL: Final = timedelta(minutes=15)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def query_fingerprint(query: DirectoryQuery) -> str:
    """Stable for equal queries, different for any other (top and available included)."""
    canonical = json.dumps(asdict(query), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return _b64encode(hashlib.sha256(canonical.encode("ascii")).digest()[:16])


class SkipTokenSigner:
    def __init__(self, key: bytes, clock: Callable[[], datetime], ttl: timedelta = DEFAULT_TOKEN_TTL) -> None:
        if len(key) < 32:
            raise ValueError("the skip token key must be at least 32 bytes")
        self._key = key
        self._clock = clock
        self._ttl = ttl

    def _mac(self, payload: str) -> str:
        return _b64encode(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, tenant_id: str, query: DirectoryQuery, graph_skip_token: str) -> str:
        claims = {
            "t": tenant_id,
            "q": query_fingerprint(query),
            "s": graph_skip_token,
            "e": int((self._clock() + self._ttl).timestamp()),
        }
        payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._mac(payload)}"

    def open(self, token: str, tenant_id: str, query: DirectoryQuery) -> str:
        """Graph's $skiptoken inside `token`; InvalidSkipToken unless it is ours, for them, unexpired."""
        payload, _, mac = token.partition(".")
        if not payload or not mac or not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidSkipToken("skipToken is not a token this connector issued")
        try:
            claims = json.loads(_b64decode(payload))
        except (binascii.Error, ValueError) as error:
            raise InvalidSkipToken("skipToken is not a token this connector issued") from error
        if (
            not isinstance(claims, dict)
            or not isinstance(claims.get("s"), str)
            or not isinstance(claims.get("e"), int)
        ):
            raise InvalidSkipToken("skipToken is not a token this connector issued")
        if claims.get("t") != tenant_id:
            raise InvalidSkipToken("skipToken was issued for another tenant")
        if claims.get("q") != query_fingerprint(query):
            raise InvalidSkipToken(
                "skipToken belongs to another query: send the same search, department, jobTitle, available "
                "and top as the page it came with"
            )
        if claims["e"] < self._clock().timestamp():
            raise InvalidSkipToken("skipToken has expired: start the search again")
        graph_token: str = claims["s"]
        return graph_token
