"""App-only credentials per tenant: one secret or one certificate, https authorities only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from azure.identity.aio import CertificateCredential, ClientSecretCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared.errors import ConfigurationError
from shared.graph.credentials import app_credential_factory


def _certificate_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "graph-app")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
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
