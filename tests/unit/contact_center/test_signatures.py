"""HMAC-SHA256 signatures: the only authentication of inbound agent events."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from shared.contact_center.events import verify_signature
from shared.contact_center.signatures import get_request_payload, signature_for

BODY = b'{"events":[{"eventId":"evt-1"}]}'
SECRET = "webhook-secret-0123456789abcdef"


def reference(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_the_signature_is_the_hex_hmac_of_the_raw_body() -> None:
    assert signature_for(BODY, SECRET) == reference(BODY, SECRET)


def test_a_correct_signature_verifies() -> None:
    assert verify_signature(BODY, reference(BODY, SECRET), SECRET)


def test_upper_case_hex_and_surrounding_spaces_are_tolerated() -> None:
    header = "SHA256=" + reference(BODY, SECRET)[len("sha256=") :].upper()
    assert verify_signature(BODY, f"  {header} ", SECRET)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        reference(BODY + b" ", SECRET),  # signature of another body
        reference(BODY, SECRET + "x"),  # signed with another secret
        reference(BODY, SECRET)[len("sha256=") :],  # no scheme
        "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest(),
        reference(BODY, SECRET) + "00",
        "sha256=" + "é" * 64,
    ],
)
def test_missing_wrong_or_foreign_signatures_fail(header: str | None) -> None:
    assert not verify_signature(BODY, header, SECRET)


def test_a_tampered_body_fails() -> None:
    header = reference(BODY, SECRET)
    assert not verify_signature(BODY.replace(b"evt-1", b"evt-2"), header, SECRET)


def test_an_empty_secret_never_verifies() -> None:
    assert not verify_signature(BODY, reference(BODY, ""), "")


def test_a_get_signs_its_path_and_timestamp() -> None:
    payload = get_request_payload("/hook/agents/a%2Fb", "1795251600")
    assert payload == b"GET /hook/agents/a%2Fb\n1795251600"
