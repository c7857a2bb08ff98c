"""getPresencesByUserId answers are read as JSON (not through the SDK's models): the fields the
connector uses, and a clear GraphError for an answer that is not the documented shape."""

from __future__ import annotations

import json

import pytest

from shared.graph.exceptions import GraphError
from shared.graph.model import Presence
from shared.graph.msgraph_operations import presences_from_json

# As documented for POST /communications/getPresencesByUserId (1.0), with a sequence number.
ANSWER = {
    "value": [
        {
            "id": "fa8bf3dc-eca7-46b7-bad1-db199b62afc3",
            "availability": "Busy",
            "activity": "InAMeeting",
            "sequenceNumber": "C1A5F0E53A39E07A",
            "outOfOfficeSettings": {"message": None, "isOutOfOffice": False},
        },
        {"id": "66825e03-7ef5-42da-9069-724602c31f6b", "availability": "Away", "activity": "Away"},
    ]
}


def test_the_presences_are_read_with_their_sequence_numbers() -> None:
    assert presences_from_json(json.dumps(ANSWER).encode()) == [
        Presence("fa8bf3dc-eca7-46b7-bad1-db199b62afc3", "Busy", "InAMeeting", "C1A5F0E53A39E07A"),
        Presence("66825e03-7ef5-42da-9069-724602c31f6b", "Away", "Away", None),
    ]


def test_missing_availability_reads_as_presence_unknown() -> None:
    raw = json.dumps({"value": [{"id": "u1"}]}).encode()
    assert presences_from_json(raw) == [Presence("u1", "PresenceUnknown", "PresenceUnknown", None)]


def test_an_empty_value_is_no_presences() -> None:
    assert presences_from_json(b'{"value": []}') == []


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"value": {}}',
        b"{}",
        b'{"value": [{"availability": "Busy"}]}',
        b'{"value": [3]}',
    ],
)
def test_an_answer_of_another_shape_is_a_graph_error(raw: bytes) -> None:
    with pytest.raises(GraphError):
        presences_from_json(raw)
