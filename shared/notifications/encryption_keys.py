"""The app's notification encryption certificates: the current one and those kept during rotation.

Graph encrypts each rich notification's data key with the public key of the certificate a subscription
carries, and names that certificate by our `encryptionCertificateId`. Subscriptions are moved to a new
certificate as they are renewed, so older certificates stay in the ring until no notification refers to
them. Keys are parsed once here; decrypting never touches PEM or PKCS#12 again.

Expiry is deliberately not checked: Graph does not check it either, and a notification encrypted with a
certificate that has since expired must still open.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from shared.notifications.exceptions import EncryptionCertificateError

logger = logging.getLogger(__name__)

MIN_SUBSCRIPTION_KEY_BITS = 2048
MAX_SUBSCRIPTION_KEY_BITS = 4096
MAX_CERTIFICATE_ID_LENGTH = 128


def normalize_thumbprint(thumbprint: str) -> str:
    """Upper-case hex without separators, so `4b:95:35...` and `4B9535...` compare equal."""
    return "".join(thumbprint.split()).replace(":", "").upper()


@dataclass(frozen=True)
class EncryptionCertificate:
    certificate_id: str
    certificate: x509.Certificate = field(repr=False)
    private_key: rsa.RSAPrivateKey = field(repr=False)
    thumbprint: str

    @property
    def key_size(self) -> int:
        return self.private_key.key_size

    @property
    def not_valid_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    def public_certificate_base64(self) -> str:
        """Base64 DER of the public certificate: what a subscription's `encryptionCertificate` carries."""
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")

    def ensure_fit_for_subscription(self) -> None:
        """Raise unless Graph would accept this certificate on a subscription (RSA 2048-4096 bits)."""
        if not MIN_SUBSCRIPTION_KEY_BITS <= self.key_size <= MAX_SUBSCRIPTION_KEY_BITS:
            raise EncryptionCertificateError(
                f"certificate {self.certificate_id!r} has a {self.key_size}-bit RSA key; Graph requires "
                f"{MIN_SUBSCRIPTION_KEY_BITS} to {MAX_SUBSCRIPTION_KEY_BITS} bits"
            )

    @classmethod
    def from_key_pair(
        cls, certificate_id: str, certificate: x509.Certificate, private_key: object
    ) -> EncryptionCertificate:
        _check_certificate_id(certificate_id)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise EncryptionCertificateError(f"certificate {certificate_id!r}: the private key must be RSA")
        public_key = certificate.public_key()
        if (
            not isinstance(public_key, rsa.RSAPublicKey)
            or public_key.public_numbers() != private_key.public_key().public_numbers()
        ):
            raise EncryptionCertificateError(
                f"certificate {certificate_id!r}: the private key does not belong to the certificate"
            )
        return cls(
            certificate_id=certificate_id,
            certificate=certificate,
            private_key=private_key,
            thumbprint=certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - Graph's thumbprint is SHA-1 by definition
        )

    @classmethod
    def from_pkcs12(
        cls, certificate_id: str, data: bytes, password: bytes | str | None = None
    ) -> EncryptionCertificate:
        secret = password.encode() if isinstance(password, str) else password
        try:
            private_key, certificate, _chain = pkcs12.load_key_and_certificates(data, secret)
        except (ValueError, TypeError) as exc:
            raise EncryptionCertificateError(
                f"certificate {certificate_id!r}: the PKCS#12 data does not open "
                "(wrong password or not PKCS#12)"
            ) from exc
        if certificate is None or private_key is None:
            raise EncryptionCertificateError(
                f"certificate {certificate_id!r}: the PKCS#12 data must hold "
                "a certificate and its private key"
            )
        return cls.from_key_pair(certificate_id, certificate, private_key)

    @classmethod
    def from_pem(
        cls,
        certificate_id: str,
        certificate_pem: bytes,
        private_key_pem: bytes,
        password: bytes | str | None = None,
    ) -> EncryptionCertificate:
        secret = password.encode() if isinstance(password, str) else password
        try:
            certificate = x509.load_pem_x509_certificate(certificate_pem)
        except ValueError as exc:
            raise EncryptionCertificateError(
                f"certificate {certificate_id!r}: not a PEM X.509 certificate"
            ) from exc
        try:
            private_key = serialization.load_pem_private_key(private_key_pem, secret)
        except (ValueError, TypeError) as exc:
            raise EncryptionCertificateError(
                f"certificate {certificate_id!r}: the PEM private key does not load "
                "(wrong password or format)"
            ) from exc
        return cls.from_key_pair(certificate_id, certificate, private_key)


class EncryptionKeyRing:
    """Certificates by id and by thumbprint. `current` goes on new subscriptions; all of them decrypt."""

    def __init__(
        self, current: EncryptionCertificate, previous: Iterable[EncryptionCertificate] = ()
    ) -> None:
        current.ensure_fit_for_subscription()
        certificates = (current, *previous)
        by_id: dict[str, EncryptionCertificate] = {}
        by_thumbprint: dict[str, EncryptionCertificate] = {}
        for certificate in certificates:
            if certificate.certificate_id in by_id:
                raise EncryptionCertificateError(
                    f"certificate id {certificate.certificate_id!r} is used by more than one certificate"
                )
            by_id[certificate.certificate_id] = certificate
            by_thumbprint[certificate.thumbprint] = certificate
        self._current = current
        self._certificates = certificates
        self._by_id = by_id
        self._by_thumbprint = by_thumbprint
        logger.info(
            "notification encryption key ring loaded: current %s (%s), %s older certificate(s)",
            current.certificate_id,
            current.thumbprint,
            len(certificates) - 1,
        )

    @property
    def current(self) -> EncryptionCertificate:
        return self._current

    @property
    def certificates(self) -> tuple[EncryptionCertificate, ...]:
        return self._certificates

    def by_id(self, certificate_id: str) -> EncryptionCertificate | None:
        return self._by_id.get(certificate_id)

    def by_thumbprint(self, thumbprint: str) -> EncryptionCertificate | None:
        return self._by_thumbprint.get(normalize_thumbprint(thumbprint))


def _check_certificate_id(certificate_id: str) -> None:
    if not certificate_id or len(certificate_id) > MAX_CERTIFICATE_ID_LENGTH:
        raise EncryptionCertificateError(
            f"an encryptionCertificateId must be 1 to {MAX_CERTIFICATE_ID_LENGTH} characters"
        )
