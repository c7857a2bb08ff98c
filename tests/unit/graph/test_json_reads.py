"""The SDK-free parsers of a /users page and of getPresencesByUserId, on Graph's documented shapes."""

from __future__ import annotations

import pytest

from shared.graph.exceptions import GraphError
from shared.graph.json_reads import odata_error_of, presences_from_json, skip_token_of, user_page_from_json

USERS_PAGE = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,displayName)",
    "@odata.count": 120,
    "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$select=id&$top=2&$skiptoken=RFNwdAIAAQAAAB8%3d",
    "value": [
        {
            "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
            "displayName": "Adele Vance",
            "department": "Retail",
            "jobTitle": "Retail Manager",
            "userPrincipalName": "AdeleV@contoso.com",
            "mail": "AdeleV@contoso.com",
            "businessPhones": ["+1 425 555 0109"],
            "mobilePhone": None,
        },
        {"id": "5bde3e51-d13b-4db1-9948-fe4b109d11a7", "businessPhones": [], "displayName": None},
    ],
}


def test_a_users_page() -> None:
    page = user_page_from_json(USERS_PAGE)
    adele, bare = page.users
    assert adele.display_name == "Adele Vance"
    assert adele.business_phones == ("+1 425 555 0109",)
    assert adele.mail == "AdeleV@contoso.com"
    assert adele.mobile_phone is None
    assert bare.display_name is None
    assert bare.department is None
    assert bare.business_phones == ()
    # Only Graph's $skiptoken is kept, decoded; the link itself is never followed
    assert page.next_skip_token == "RFNwdAIAAQAAAB8="
    assert user_page_from_json({"value": []}).next_skip_token is None


@pytest.mark.parametrize(
    "body",
    [None, [], {"value": None}, {"value": [{"displayName": "no id"}]}, {"value": ["x"]}],
)
def test_a_body_that_is_not_a_users_page_is_a_graph_error(body: object) -> None:
    with pytest.raises(GraphError):
        user_page_from_json(body)


def test_next_links_without_a_skiptoken_are_refused() -> None:
    with pytest.raises(GraphError, match="skiptoken"):
        skip_token_of("https://graph.microsoft.com/v1.0/users?$top=2")
    with pytest.raises(GraphError):
        skip_token_of(42)


def test_presences_with_out_of_office_and_status_message() -> None:
    body = {
        "value": [
            {
                "id": "fa8bf3dc-eca7-46b7-bad1-db199b62afc3",
                "availability": "Busy",
                "activity": "InAMeeting",
                "sequenceNumber": "C2D4",
                "statusMessage": {
                    "message": {"content": "Back at 3", "contentType": "text"},
                    "expiryDateTime": {"dateTime": "9999-12-31T00:00:00", "timeZone": "UTC"},
                },
                "outOfOfficeSettings": {"message": "Away", "isOutOfOffice": True},
            },
            {"id": "66825e03-7ef5-42da-9069-724602c31f6b", "statusMessage": {"message": {"content": " "}}},
        ]
    }
    busy, bare = presences_from_json(body)
    assert (busy.availability, busy.activity, busy.sequence_number) == ("Busy", "InAMeeting", "C2D4")
    assert busy.out_of_office
    assert busy.status_message == "Back at 3"
    assert (bare.availability, bare.activity, bare.out_of_office, bare.status_message) == (
        "PresenceUnknown",
        "PresenceUnknown",
        False,
        None,
    )
    with pytest.raises(GraphError):
        presences_from_json({"value": [{"availability": "Busy"}]})


def test_odata_errors() -> None:
    assert odata_error_of({"error": {"code": "Request_UnsupportedQuery", "message": "no"}}) == (
        "Request_UnsupportedQuery",
        "no",
    )
    assert odata_error_of("oops") == (None, None)
    assert odata_error_of({"error": "x"}) == (None, None)
