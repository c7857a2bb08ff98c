"""Secrets sealed at rest with AES-256-GCM.

The associated data binds a sealed value to where it belongs (for instance tenant id and field name), so
a ciphertext copied into another tenant's row does not open.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.security.exceptions import SecretDecryptionFailed

_PREFIX = "v1:"
_NONCE_BYTES = 12


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the secrets encryption key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str, context: str) -> str:
        if not sealed.startswith(_PREFIX):
            raise SecretDecryptionFailed("the sealed secret has an unknown format")
        try:
            raw = base64.b64decode(sealed[len(_PREFIX) :], validate=True)
            plaintext = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode("utf-8"))
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise SecretDecryptionFailed("the sealed secret does not open with the configured key") from exc
        return plaintext.decode("utf-8")
