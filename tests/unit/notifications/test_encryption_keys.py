from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from shared.notifications.encryption_keys import EncryptionCertificate, EncryptionKeyRing
from shared.notifications.exceptions import EncryptionCertificateError
from tests.support.notification_encryption import generate_certificate
from tests.unit.notifications.support import load_fixture

VECTOR_THUMBPRINT = "4B95353E086AD37196606ACF834A14532F03E6DB"


def _vector_certificate() -> EncryptionCertificate:
    vector = load_fixture("rich_notification_vector.json")
    return EncryptionCertificate.from_pkcs12(
        "custom-id-for-testing", base64.b64decode(vector["pfxBase64"]), vector["pfxPassword"]
    )


def test_microsofts_expired_pkcs12_certificate_loads_with_its_thumbprint() -> None:
    # GIVEN Microsoft's test PKCS#12, whose certificate expired in 2023
    # WHEN it is loaded
    certificate = _vector_certificate()

    # THEN it loads anyway, with the SHA-1 thumbprint Graph puts in notifications
    assert certificate.thumbprint == VECTOR_THUMBPRINT
    assert certificate.not_valid_after < datetime(2024, 1, 1, tzinfo=UTC)
    assert certificate.key_size == 4096


def test_a_pkcs12_with_the_wrong_password_is_refused() -> None:
    # GIVEN the right PKCS#12 and a wrong password
    vector = load_fixture("rich_notification_vector.json")

    # WHEN / THEN loading fails with a configuration-grade error
    with pytest.raises(EncryptionCertificateError, match="does not open"):
        EncryptionCertificate.from_pkcs12("x", base64.b64decode(vector["pfxBase64"]), "wrong")


def test_a_pem_pair_loads_and_publishes_the_public_certificate_only() -> None:
    # GIVEN a certificate and its (password-protected) private key in PEM
    certificate, private_key = generate_certificate()
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )

    # WHEN loaded
    loaded = EncryptionCertificate.from_pem("presence-2025", certificate_pem, key_pem, "secret")

    # THEN the subscription value is the base64 DER of the public certificate, with no private key in it
    published = loaded.public_certificate_base64()
    assert x509.load_der_x509_certificate(base64.b64decode(published)) == certificate
    assert b"PRIVATE" not in base64.b64decode(published)
    assert loaded.thumbprint == certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303


def test_a_private_key_of_another_certificate_is_refused() -> None:
    # GIVEN a certificate and an unrelated key
    certificate, _ = generate_certificate()
    _, other_key = generate_certificate()

    # WHEN / THEN the pair is refused
    with pytest.raises(EncryptionCertificateError, match="does not belong"):
        EncryptionCertificate.from_key_pair("x", certificate, other_key)


def test_a_non_rsa_key_is_refused() -> None:
    # GIVEN an EC key (Graph only encrypts with RSA)
    certificate, _ = generate_certificate()
    ec_key = ec.generate_private_key(ec.SECP256R1())

    # WHEN / THEN it is refused
    with pytest.raises(EncryptionCertificateError, match="must be RSA"):
        EncryptionCertificate.from_key_pair("x", certificate, ec_key)


def test_a_pkcs12_without_a_key_is_refused() -> None:
    # GIVEN a PKCS#12 holding only a certificate
    certificate, _ = generate_certificate()
    data = pkcs12.serialize_key_and_certificates(b"c", None, certificate, None, serialization.NoEncryption())

    # WHEN / THEN loading fails
    with pytest.raises(EncryptionCertificateError, match="must hold a certificate and its private key"):
        EncryptionCertificate.from_pkcs12("x", data)


@pytest.mark.parametrize("certificate_id", ["", "x" * 129])
def test_certificate_ids_must_fit_graphs_limit(certificate_id: str) -> None:
    # GIVEN an id Graph would refuse (empty or over 128 characters)
    certificate, key = generate_certificate()

    # WHEN / THEN
    with pytest.raises(EncryptionCertificateError, match="1 to 128 characters"):
        EncryptionCertificate.from_key_pair(certificate_id, certificate, key)


def test_a_ring_refuses_a_current_key_graph_would_not_accept() -> None:
    # GIVEN a 1024-bit certificate
    certificate, key = generate_certificate(key_size=1024)
    weak = EncryptionCertificate.from_key_pair("weak", certificate, key)

    # WHEN / THEN it cannot be the certificate new subscriptions carry
    with pytest.raises(EncryptionCertificateError, match="1024-bit"):
        EncryptionKeyRing(weak)


def test_an_older_certificate_only_needs_to_decrypt(
    current_certificate: EncryptionCertificate,
) -> None:
    # GIVEN a weak (or expired) older certificate kept for rotation
    certificate, key = generate_certificate(key_size=1024)
    old = EncryptionCertificate.from_key_pair("old", certificate, key)

    # WHEN the ring is built
    ring = EncryptionKeyRing(current_certificate, [old])

    # THEN both are found
    assert ring.by_id("old") is old
    assert ring.current is current_certificate
    assert ring.certificates == (current_certificate, old)


def test_lookup_by_thumbprint_ignores_case_and_separators(
    current_certificate: EncryptionCertificate, previous_certificate: EncryptionCertificate
) -> None:
    # GIVEN a ring with two certificates
    ring = EncryptionKeyRing(current_certificate, [previous_certificate])
    thumbprint = previous_certificate.thumbprint

    # WHEN looked up by lower-case or colon-separated thumbprint
    lower = ring.by_thumbprint(thumbprint.lower())
    separated = ring.by_thumbprint(":".join(thumbprint[i : i + 2] for i in range(0, len(thumbprint), 2)))

    # THEN the same certificate comes back, and unknown ones are None
    assert lower is previous_certificate
    assert separated is previous_certificate
    assert ring.by_thumbprint("00" * 20) is None
    assert ring.by_id("unknown") is None


def test_duplicate_certificate_ids_are_refused(current_certificate: EncryptionCertificate) -> None:
    # GIVEN the same id twice
    # WHEN / THEN the ring refuses the ambiguity
    with pytest.raises(EncryptionCertificateError, match="more than one"):
        EncryptionKeyRing(current_certificate, [current_certificate])
