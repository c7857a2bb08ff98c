"""The secrets libraries write to their DEBUG logs are masked before any handler sees them."""

from __future__ import annotations

import json
import logging

import pytest

from shared.security.log_redaction import MASK, install_log_redaction, redact, without_personal_data


def test_msal_token_cache_events_lose_the_code_and_the_pkce_verifier() -> None:
    # What msal.token_cache writes at DEBUG for an authorization-code redemption (it masks the rest)
    event = {
        "client_id": "c",
        "data": {"code": "0.AXo-code", "code_verifier": "pkce-verifier-1234", "redirect_uri": "http://h/cb"},
        "response": {"access_token": "********", "scope": "Presence.Read.All"},
    }
    cleaned = redact("event=" + json.dumps(event, indent=4))
    assert "0.AXo-code" not in cleaned
    assert "pkce-verifier-1234" not in cleaned
    assert '"redirect_uri": "http://h/cb"' in cleaned
    assert cleaned.count(MASK) >= 3


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("grant_type=authorization_code&code=abc123&code_verifier=xyz789", "abc123"),
        ("grant_type=authorization_code&code=abc123&code_verifier=xyz789", "xyz789"),
        ("client_secret=s3cr3t&scope=x", "s3cr3t"),
        ("{'refresh_token': 'rt-1', 'x': 1}", "rt-1"),
        ('"client_assertion": "eyJhbGciOi.x.y"', "eyJhbGciOi.x.y"),
    ],
)
def test_form_json_and_dict_forms_are_masked(line: str, secret: str) -> None:
    assert secret not in redact(line)


def test_text_without_secret_parameters_is_unchanged() -> None:
    line = "GET /v1.0/users?$filter=startswith(displayName,'code') HTTP/1.1 200 postcode=12345"
    assert redact(line) == line


def test_the_filter_masks_records_of_the_library_loggers(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent
    library = logging.getLogger("msal.token_cache")
    assert len([f for f in library.filters if type(f).__name__ == "SecretRedactingFilter"]) == 1
    with caplog.at_level(logging.DEBUG, logger="msal.token_cache"):
        library.debug("event=%s", json.dumps({"data": {"code_verifier": "never-logged"}}))
    assert "never-logged" not in caplog.text
    assert MASK in caplog.text


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        (
            "https://graph.microsoft.com/v1.0/users/ann.oneil%40contoso.com?$select=id,displayName",
            "https://graph.microsoft.com/v1.0/users/" + MASK,
        ),
        (
            "https://graph.microsoft.com/v1.0/users/ann@contoso.com/presence",
            "https://graph.microsoft.com/v1.0/users/" + MASK + "/presence",
        ),
        (
            'https://graph.microsoft.com/v1.0/users?$search="displayName:Quillfeather"&$top=25',
            "https://graph.microsoft.com/v1.0/users",
        ),
        (
            "https://graph.microsoft.com/v1.0/users/7bb7286e-5a58-4e65-b9af-24ff08ff5978/presence/setPresence",
            "https://graph.microsoft.com/v1.0/users/7bb7286e-5a58-4e65-b9af-24ff08ff5978/presence/setPresence",
        ),
    ],
)
def test_request_urls_keep_ids_and_lose_upns_and_queries(url: str, kept: str) -> None:
    assert without_personal_data(url) == kept


def test_httpx_request_lines_carry_no_upn_or_search(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent
    client = logging.getLogger("httpx")
    assert len([f for f in client.filters if type(f).__name__ == "RequestUrlFilter"]) == 1
    with caplog.at_level(logging.INFO, logger="httpx"):
        # httpx's own format and arguments (method, URL, HTTP version, status, reason)
        client.info(
            'HTTP Request: %s %s "%s %d %s"',
            "GET",
            "https://graph.microsoft.com/v1.0/users/zephyrine%40contoso.com?$select=mobilePhone",
            "HTTP/1.1",
            200,
            "OK",
        )
    assert "zephyrine" not in caplog.text
    assert "mobilePhone" not in caplog.text
    assert (
        "HTTP Request: GET https://graph.microsoft.com/v1.0/users/" + MASK + ' "HTTP/1.1 200 OK"'
        in caplog.text
    )
