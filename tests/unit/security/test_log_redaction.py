"""The secrets libraries write to their DEBUG logs are masked before any handler sees them."""

from __future__ import annotations

import json
import logging

import pytest

from shared.security.log_redaction import MASK, install_log_redaction, redact


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
