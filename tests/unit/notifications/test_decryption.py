from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.notifications.decryption import DATA_KEY_PADDING, decrypt_encrypted_content
from shared.notifications.encryption_keys import EncryptionCertificate, EncryptionKeyRing
from shared.notifications.exceptions import (
    DataSignatureMismatchError,
    DecryptionFailedError,
    EncryptionCertificateThumbprintMismatchError,
    UnknownEncryptionCertificateError,
)
from shared.notifications.model import EncryptedContent, parse_notification_collection, parse_presence_payload
from tests.support.notification_encryption import encrypt_for_notification, encrypted_content_json
from tests.unit.notifications.support import load_fixture

PRESENCE = {
    "@odata.type": "#microsoft.graph.presence",
    "id": "7a1b6e0f-3f6f-4c1e-9a3c-0b6b1a2c3d4e",
    "availability": "DoNotDisturb",
    "activity": "Presenting",
    "sequenceNumber": "C123",
}


def _flip_bit(value: str, byte_index: int = 0) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[byte_index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.fixture
def ring(
    current_certificate: EncryptionCertificate, previous_certificate: EncryptionCertificate
) -> EncryptionKeyRing:
    return EncryptionKeyRing(current_certificate, [previous_certificate])


@pytest.fixture
def content(current_certificate: EncryptionCertificate) -> EncryptedContent:
    return encrypt_for_notification(
        PRESENCE, current_certificate.certificate, current_certificate.certificate_id
    )


def test_microsofts_test_vector_decrypts_to_its_expected_payload() -> None:
    # GIVEN the .NET Graph SDK's rich-notification test vector (certificate expired in 2023)
    vector = load_fixture("rich_notification_vector.json")
    certificate = EncryptionCertificate.from_pkcs12(
        vector["encryptedContent"]["encryptionCertificateId"],
        base64.b64decode(vector["pfxBase64"]),
        vector["pfxPassword"],
    )
    ring = EncryptionKeyRing(certificate)
    collection = parse_notification_collection(
        {
            "value": [
                {
                    "subscriptionId": "76222963-cc7b-42d2-882d-8aaa69cb2ba3",
                    "changeType": "created",
                    "resource": "teams('x')/channels('y')/messages('1625067617497')/replies('1625126194597')",
                    "subscriptionExpirationDateTime": "2021-07-01T08:00:00.0000000Z",
                    "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
                    "encryptedContent": vector["encryptedContent"],
                }
            ]
        }
    )
    encrypted = collection.notifications[0].encrypted_content
    assert encrypted is not None

    # WHEN its encryptedContent is decrypted
    payload = decrypt_encrypted_content(encrypted, ring)

    # THEN it is the chatMessage the vector promises
    assert payload["etag"] == vector["expect"]["etag"]
    assert payload["body"]["content"] == vector["expect"]["body.content"]


def test_a_presence_payload_encrypted_like_graph_round_trips(
    ring: EncryptionKeyRing, content: EncryptedContent
) -> None:
    # GIVEN presence encrypted with the current certificate, as Graph would
    # WHEN decrypted and parsed
    presence = parse_presence_payload(decrypt_encrypted_content(content, ring))

    # THEN the presence comes back intact
    assert (presence.id, presence.availability, presence.activity, presence.sequence_number) == (
        PRESENCE["id"],
        "DoNotDisturb",
        "Presenting",
        "C123",
    )


def test_a_notification_for_an_older_certificate_still_decrypts(
    ring: EncryptionKeyRing, previous_certificate: EncryptionCertificate
) -> None:
    # GIVEN a subscription not yet moved to the new certificate
    content = encrypt_for_notification(
        PRESENCE, previous_certificate.certificate, previous_certificate.certificate_id
    )

    # WHEN / THEN its notification still decrypts
    assert decrypt_encrypted_content(content, ring)["availability"] == "DoNotDisturb"


def test_the_thumbprint_may_arrive_in_lower_case(ring: EncryptionKeyRing, content: EncryptedContent) -> None:
    # GIVEN a lower-case hex thumbprint
    lowered = dataclasses.replace(
        content, encryption_certificate_thumbprint=content.encryption_certificate_thumbprint.lower()
    )

    # WHEN / THEN it still matches
    assert decrypt_encrypted_content(lowered, ring)["id"] == PRESENCE["id"]


def test_an_unknown_certificate_id_is_refused(ring: EncryptionKeyRing, content: EncryptedContent) -> None:
    # GIVEN content naming a certificate id we never issued
    unknown = dataclasses.replace(content, encryption_certificate_id="someone-elses-cert")

    # WHEN / THEN
    with pytest.raises(UnknownEncryptionCertificateError):
        decrypt_encrypted_content(unknown, ring)


def test_a_thumbprint_that_does_not_match_the_certificate_id_is_refused(
    ring: EncryptionKeyRing, content: EncryptedContent, previous_certificate: EncryptionCertificate
) -> None:
    # GIVEN the current certificate's id with the previous certificate's thumbprint
    mismatched = dataclasses.replace(
        content, encryption_certificate_thumbprint=previous_certificate.thumbprint
    )

    # WHEN / THEN
    with pytest.raises(EncryptionCertificateThumbprintMismatchError):
        decrypt_encrypted_content(mismatched, ring)


def test_tampered_data_fails_the_signature_before_decryption(
    ring: EncryptionKeyRing, content: EncryptedContent
) -> None:
    # GIVEN one flipped bit in the ciphertext
    tampered = dataclasses.replace(content, data=_flip_bit(content.data, 5))

    # WHEN / THEN the HMAC check refuses it
    with pytest.raises(DataSignatureMismatchError):
        decrypt_encrypted_content(tampered, ring)


def test_a_tampered_signature_is_refused(ring: EncryptionKeyRing, content: EncryptedContent) -> None:
    # GIVEN one flipped bit in dataSignature
    tampered = dataclasses.replace(content, data_signature=_flip_bit(content.data_signature, 31))

    # WHEN / THEN
    with pytest.raises(DataSignatureMismatchError):
        decrypt_encrypted_content(tampered, ring)


def test_a_truncated_signature_is_refused(ring: EncryptionKeyRing, content: EncryptedContent) -> None:
    # GIVEN a signature cut to 16 bytes
    truncated = base64.b64encode(base64.b64decode(content.data_signature)[:16]).decode()

    # WHEN / THEN
    with pytest.raises(DataSignatureMismatchError):
        decrypt_encrypted_content(dataclasses.replace(content, data_signature=truncated), ring)


def test_a_tampered_data_key_does_not_unwrap(ring: EncryptionKeyRing, content: EncryptedContent) -> None:
    # GIVEN one flipped bit in the wrapped key
    tampered = dataclasses.replace(content, data_key=_flip_bit(content.data_key, 100))

    # WHEN / THEN OAEP refuses it
    with pytest.raises(DecryptionFailedError, match="does not unwrap"):
        decrypt_encrypted_content(tampered, ring)


def test_a_data_key_wrapped_for_another_certificate_does_not_unwrap(
    ring: EncryptionKeyRing, content: EncryptedContent, previous_certificate: EncryptionCertificate
) -> None:
    # GIVEN a data key wrapped for the previous certificate, presented under the current id
    other = encrypt_for_notification(
        PRESENCE, previous_certificate.certificate, content.encryption_certificate_id
    )

    # WHEN / THEN
    with pytest.raises(DecryptionFailedError):
        decrypt_encrypted_content(dataclasses.replace(content, data_key=other.data_key), ring)


@pytest.mark.parametrize("field", ["data", "data_key", "data_signature"])
def test_invalid_base64_is_refused(ring: EncryptionKeyRing, content: EncryptedContent, field: str) -> None:
    # GIVEN a property that is not base64
    broken = dataclasses.replace(content, **{field: "not base64!"})

    # WHEN / THEN
    with pytest.raises(DecryptionFailedError, match="not valid base64"):
        decrypt_encrypted_content(broken, ring)


def _sign_and_encrypt_raw(
    certificate: EncryptionCertificate, plaintext: bytes, key: bytes, *, pad: bool = True
) -> EncryptedContent:
    if pad:
        padder = padding.PKCS7(128).padder()
        plaintext = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key[:32].ljust(32, b"\0")), modes.CBC(key[:16])).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    public_key = certificate.private_key.public_key()
    return EncryptedContent(
        data=base64.b64encode(ciphertext).decode(),
        data_key=base64.b64encode(public_key.encrypt(key, DATA_KEY_PADDING)).decode(),
        data_signature=base64.b64encode(hmac.new(key, ciphertext, hashlib.sha256).digest()).decode(),
        encryption_certificate_id=certificate.certificate_id,
        encryption_certificate_thumbprint=certificate.thumbprint,
    )


@pytest.mark.parametrize(
    ("plaintext", "pad", "message"),
    [
        (b"\x00" * 16, False, "invalid PKCS7 padding"),
        (b"\xff\xfe not utf-8", True, "not UTF-8 JSON"),
        (b"[1, 2, 3]", True, "not a JSON object"),
    ],
)
def test_correctly_signed_but_unusable_content_is_refused(
    ring: EncryptionKeyRing,
    current_certificate: EncryptionCertificate,
    plaintext: bytes,
    pad: bool,
    message: str,
) -> None:
    # GIVEN content whose signature is right but whose plaintext is not a JSON object
    content = _sign_and_encrypt_raw(current_certificate, plaintext, os.urandom(32), pad=pad)

    # WHEN / THEN
    with pytest.raises(DecryptionFailedError, match=message):
        decrypt_encrypted_content(content, ring)


def test_a_data_key_of_the_wrong_length_is_refused(
    ring: EncryptionKeyRing, current_certificate: EncryptionCertificate
) -> None:
    # GIVEN a 16-byte key where Graph uses AES-256
    content = _sign_and_encrypt_raw(current_certificate, b"{}", os.urandom(16))

    # WHEN / THEN
    with pytest.raises(DecryptionFailedError, match="16 bytes"):
        decrypt_encrypted_content(content, ring)


def test_each_encryption_uses_a_fresh_key(current_certificate: EncryptionCertificate) -> None:
    # GIVEN the same payload encrypted twice
    first = encrypt_for_notification(PRESENCE, current_certificate.certificate, "a")
    second = encrypt_for_notification(PRESENCE, current_certificate.certificate, "a")

    # THEN nothing repeats (the test helper mirrors Graph's per-notification key)
    assert first.data != second.data
    assert first.data_key != second.data_key


def test_the_wire_shape_of_the_helper_parses_back(current_certificate: EncryptionCertificate) -> None:
    # GIVEN encrypted content in wire shape inside a notification
    content = encrypt_for_notification(
        PRESENCE, current_certificate.certificate, current_certificate.certificate_id
    )
    document: dict[str, Any] = load_fixture("presence_rich_notification_collection.json")
    document["value"][0]["encryptedContent"] = encrypted_content_json(content)

    # WHEN parsed
    parsed = parse_notification_collection(json.dumps(document).encode())

    # THEN the typed content is exactly what was encrypted
    assert parsed.notifications[0].encrypted_content == content
