"""Build Graph rich-notification `encryptedContent` the way Graph does, with locally generated keys.

The inverse of shared.notifications.decryption: a fresh 32-byte key per notification, AES-256-CBC with
PKCS7 and IV = key[:16], HMAC-SHA256 over the ciphertext, the key wrapped with RSA-OAEP (SHA-1) under the
certificate's public key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

from shared.notifications.decryption import DATA_KEY_PADDING, IV_BYTES, SYMMETRIC_KEY_BYTES
from shared.notifications.encryption_keys import EncryptionCertificate
from shared.notifications.model import EncryptedContent


def generate_certificate(
    key_size: int = 2048,
    common_name: str = "notifications.test.local",
    not_valid_after: datetime | None = None,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A self-signed certificate and its key (Graph does not check the issuer of encryption certificates)."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_valid_after or now + timedelta(days=365))
        .sign(private_key, hashes.SHA256())
    )
    return certificate, private_key


def generate_encryption_certificate(certificate_id: str, key_size: int = 2048) -> EncryptionCertificate:
    certificate, private_key = generate_certificate(key_size=key_size)
    return EncryptionCertificate.from_key_pair(certificate_id, certificate, private_key)


def encrypt_for_notification(
    payload: Mapping[str, Any],
    certificate: x509.Certificate,
    certificate_id: str,
    *,
    symmetric_key: bytes | None = None,
) -> EncryptedContent:
    """Encrypt `payload` as Graph would for a subscription carrying `certificate` and `certificate_id`."""
    key = symmetric_key if symmetric_key is not None else os.urandom(SYMMETRIC_KEY_BYTES)
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("Graph encryption certificates carry RSA keys")
    padder = padding.PKCS7(128).padder()
    plaintext = padder.update(json.dumps(payload).encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:IV_BYTES])).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    signature = hmac.new(key, ciphertext, hashlib.sha256).digest()
    return EncryptedContent(
        data=base64.b64encode(ciphertext).decode("ascii"),
        data_key=base64.b64encode(public_key.encrypt(key, DATA_KEY_PADDING)).decode("ascii"),
        data_signature=base64.b64encode(signature).decode("ascii"),
        encryption_certificate_id=certificate_id,
        encryption_certificate_thumbprint=certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - Graph thumbprints are SHA-1
    )


def encrypted_content_json(content: EncryptedContent) -> dict[str, str]:
    """The wire shape (`changeNotificationEncryptedContent`) of `content`."""
    return {
        "data": content.data,
        "dataSignature": content.data_signature,
        "dataKey": content.data_key,
        "encryptionCertificateId": content.encryption_certificate_id,
        "encryptionCertificateThumbprint": content.encryption_certificate_thumbprint,
    }
