"""Open the `encryptedContent` of a Graph rich notification.

Graph's scheme (learn.microsoft.com/graph/change-notifications-with-resource-data): a fresh symmetric key
per notification, wrapped with our certificate's public key (RSA/ECB/OAEPWithSHA1AndMGF1Padding) in
`dataKey`; `dataSignature` is HMAC-SHA256(key, data bytes); `data` is AES-256-CBC with PKCS7 padding and
an IV equal to the first 16 bytes of the key. The HMAC is checked before any decryption so tampered
ciphertext never reaches the CBC/padding code (no padding oracle).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asymmetric_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.notifications.encryption_keys import EncryptionKeyRing, normalize_thumbprint
from shared.notifications.exceptions import (
    DataSignatureMismatchError,
    DecryptionFailedError,
    EncryptionCertificateThumbprintMismatchError,
    UnknownEncryptionCertificateError,
)
from shared.notifications.model import EncryptedContent

SYMMETRIC_KEY_BYTES = 32
IV_BYTES = 16
AES_BLOCK_BITS = 128

# Graph wraps the data key with OAEP over SHA-1 (Java name: RSA/ECB/OAEPWithSHA1AndMGF1Padding).
DATA_KEY_PADDING = asymmetric_padding.OAEP(
    mgf=asymmetric_padding.MGF1(algorithm=hashes.SHA1()),  # noqa: S303 - fixed by Graph's protocol
    algorithm=hashes.SHA1(),  # noqa: S303 - fixed by Graph's protocol
    label=None,
)


def decrypt_encrypted_content(content: EncryptedContent, ring: EncryptionKeyRing) -> dict[str, Any]:
    """Return the resource JSON object carried by `content`, or raise a `NotificationError` subclass."""
    certificate = ring.by_id(content.encryption_certificate_id)
    if certificate is None:
        raise UnknownEncryptionCertificateError(
            f"no notification encryption certificate with id {content.encryption_certificate_id!r}"
        )
    if normalize_thumbprint(content.encryption_certificate_thumbprint) != certificate.thumbprint:
        raise EncryptionCertificateThumbprintMismatchError(
            f"certificate {certificate.certificate_id!r} has thumbprint {certificate.thumbprint}, "
            f"the notification names {content.encryption_certificate_thumbprint!r}"
        )

    wrapped_key = _b64decode(content.data_key, "dataKey")
    try:
        key = certificate.private_key.decrypt(wrapped_key, DATA_KEY_PADDING)
    except ValueError as exc:
        raise DecryptionFailedError("dataKey does not unwrap with the certificate's private key") from exc
    if len(key) != SYMMETRIC_KEY_BYTES:
        raise DecryptionFailedError(
            f"the unwrapped data key has {len(key)} bytes, expected {SYMMETRIC_KEY_BYTES}"
        )

    ciphertext = _b64decode(content.data, "data")
    expected_signature = _b64decode(content.data_signature, "dataSignature")
    actual_signature = hmac.new(key, ciphertext, hashlib.sha256).digest()
    if not hmac.compare_digest(actual_signature, expected_signature):
        raise DataSignatureMismatchError("dataSignature does not match the HMAC-SHA256 of data")

    return _decrypt_json(key, ciphertext)


def _decrypt_json(key: bytes, ciphertext: bytes) -> dict[str, Any]:
    if not ciphertext or len(ciphertext) % (AES_BLOCK_BITS // 8):
        raise DecryptionFailedError("data is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:IV_BYTES])).decryptor()
    unpadder = padding.PKCS7(AES_BLOCK_BITS).unpadder()
    try:
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        plaintext = unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise DecryptionFailedError("data has invalid PKCS7 padding") from exc
    try:
        document = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DecryptionFailedError("decrypted data is not UTF-8 JSON") from exc
    if not isinstance(document, dict):
        raise DecryptionFailedError("decrypted data is not a JSON object")
    return document


def _b64decode(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptionFailedError(f"{name} is not valid base64") from exc
