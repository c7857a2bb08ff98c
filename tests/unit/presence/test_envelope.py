"""The reading every queue message shares: size cap, JSON, schema and version."""

from __future__ import annotations

import hashlib
import json

import pytest

from shared.contact_center.messages import AgentStateChange
from shared.presence.envelope import message_digest, read_envelope
from shared.presence.exceptions import InvalidPresenceMessage
from shared.presence.first_sync import FirstSyncRequest
from shared.presence.messages import PresenceChange

READERS = [PresenceChange.from_json, AgentStateChange.from_json, FirstSyncRequest.from_json]


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize(
    "raw",
    [
        b"x" * 5000,
        b"\xff\xfe",
        b"[" * 1500 + b"]" * 1500,
        b"[]",
        b'{"schema": "somethingElse", "version": 1}',
    ],
    ids=["too large", "not UTF-8", "nested deep", "not an object", "another schema"],
)
def test_every_message_kind_refuses_what_it_cannot_read(read: object, raw: bytes) -> None:
    with pytest.raises(InvalidPresenceMessage):
        read(raw)  # type: ignore[operator]


def test_a_known_schema_of_another_version_is_refused() -> None:
    raw = json.dumps({"schema": "presenceChange", "version": 2}).encode()
    with pytest.raises(InvalidPresenceMessage, match="version 2 is not supported"):
        read_envelope(raw, schema="presenceChange", version=1, max_bytes=4096, what="presence change")


def test_the_envelope_is_returned_whole() -> None:
    raw = json.dumps({"schema": "s", "version": 1, "tenantId": "t"}).encode()
    assert read_envelope(raw, schema="s", version=1, max_bytes=100, what="s") == {
        "schema": "s",
        "version": 1,
        "tenantId": "t",
    }


def test_the_digest_joins_the_parts_with_a_bar() -> None:
    # Message ids already in flight (Service Bus duplicate detection) must not change with the helper.
    assert message_digest("a", "b") == hashlib.sha256(b"a|b").hexdigest()
