"""Input parsing: the start body, account ids and the redirect's query string."""

from __future__ import annotations

import pytest

from shared.sync_accounts.commands import (
    MAX_ERROR_DESCRIPTION_LENGTH,
    parse_account_id,
    parse_callback,
    parse_start_sign_in,
)
from shared.sync_accounts.exceptions import InvalidSignInCallback, InvalidSyncAccountInput


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        (None, None),
        ({}, None),
        ({"loginHint": None}, None),
        ({"loginHint": "sync1@contoso.example"}, "sync1@contoso.example"),
        (
            {"loginHint": "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com"},
            "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com",
        ),
    ],
)
def test_start_body_accepts_an_optional_upn(body: object, hint: str | None) -> None:
    assert parse_start_sign_in(body).login_hint == hint


@pytest.mark.parametrize(
    "body",
    [
        "text",
        [{"loginHint": "a@b.c"}],
        {"loginhint": "a@b.c"},
        {"loginHint": ["a@b.c"]},
        {"loginHint": ""},
        {"loginHint": "@contoso.example"},
        {"loginHint": "sync1@"},
        {"loginHint": " sync1@contoso.example"},
        {"loginHint": "sync1@contoso.example\u0000"},
    ],
)
def test_start_body_is_strict(body: object) -> None:
    with pytest.raises(InvalidSyncAccountInput):
        parse_start_sign_in(body)


def test_account_ids_are_canonical_guids() -> None:
    assert parse_account_id("5F0C2A4E-9D1B-4C3A-8E7F-6A5B4C3D2E1F") == "5f0c2a4e-9d1b-4c3a-8e7f-6a5b4c3d2e1f"
    for bad in (None, "", "sync1@contoso.example", "5f0c2a4e-9d1b-4c3a-8e7f-6a5b4c3d2e1f\n", "../x"):
        with pytest.raises(InvalidSyncAccountInput):
            parse_account_id(bad)


def test_callback_text_from_the_identity_platform_is_cut_and_cleaned() -> None:
    callback = parse_callback(
        {
            "state": "s.t",
            "error": "access_denied",
            "error_description": "AADSTS65004: declined.\r\nTrace ID: x" + "y" * 2000,
        }
    )
    assert callback.state == "s.t"
    assert callback.code is None
    assert callback.error == "access_denied"
    assert callback.error_description is not None
    assert len(callback.error_description) == MAX_ERROR_DESCRIPTION_LENGTH
    assert "\r" not in callback.error_description
    assert "\n" not in callback.error_description


def test_callback_refuses_oversized_values() -> None:
    with pytest.raises(InvalidSignInCallback):
        parse_callback({"state": "s.t", "code": "c" * 10_000})
