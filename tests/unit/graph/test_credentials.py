"""App-only credentials per tenant: one secret or one certificate, https authorities only."""

from __future__ import annotations

import asyncio

import pytest
from azure.identity.aio import CertificateCredential, ClientSecretCredential
from cryptography.hazmat.primitives import serialization

from shared.errors import ConfigurationError
from shared.graph.credentials import app_credential_factory
from tests.support.notification_encryption import generate_certificate


def _certificate_pem() -> bytes:
    certificate, key = generate_certificate(common_name="graph-app")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem + certificate.public_bytes(serialization.Encoding.PEM)


def _close(credential: object) -> None:
    asyncio.run(credential.close())  # type: ignore[attr-defined]


def test_a_secret_gives_one_secret_credential_per_tenant() -> None:
    factory = app_credential_factory("client-id", client_secret="s3cret")
    first, second = factory("11111111-1111-1111-1111-111111111111"), factory("contoso.example")
    try:
        assert isinstance(first, ClientSecretCredential)
        assert isinstance(second, ClientSecretCredential)
        assert first is not second
    finally:
        _close(first)
        _close(second)


def test_a_certificate_gives_certificate_credentials() -> None:
    factory = app_credential_factory(
        "client-id", certificate_pem=_certificate_pem(), authority_host="https://127.0.0.1:7074/"
    )
    credential = factory("11111111-1111-1111-1111-111111111111")
    try:
        assert isinstance(credential, CertificateCredential)
    finally:
        _close(credential)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"client_id": ""}, "client id"),
        ({"client_id": "c"}, "exactly one"),
        ({"client_id": "c", "client_secret": "s", "certificate_pem": b"pem"}, "exactly one"),
        ({"client_id": "c", "client_secret": "s", "authority_host": "http://127.0.0.1:7072"}, "https"),
    ],
)
def test_invalid_configuration_stops_the_app(arguments: dict[str, object], complaint: str) -> None:
    client_id = str(arguments.pop("client_id"))
    with pytest.raises(ConfigurationError, match=complaint):
        app_credential_factory(client_id, **arguments)  # type: ignore[arg-type]
