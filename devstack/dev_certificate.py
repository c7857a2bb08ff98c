"""The notification-encryption certificate for local runs, generated on first use and kept in
.devstack/ (git-ignored), so no private key is ever committed. Azure uses the Key Vault certificate."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_CERTIFICATE_FILE = REPO_ROOT / ".devstack" / "notification-certificate.pem"
EXAMPLE_SETTINGS_FILE = REPO_ROOT / "local.settings.example.json"
SETTING = "NOTIFICATION_CERTIFICATE"
_VALIDITY = timedelta(days=730)
_RENEW_BEFORE = timedelta(days=30)


def dev_notification_certificate(path: Path = DEV_CERTIFICATE_FILE) -> str:
    """PEM (private key + self-signed certificate, RSA-2048); the file's when still valid, else a new one.
    Concurrent first uses agree: the first file written wins and the others read it."""
    existing = _read_valid(path)
    if existing is not None:
        return existing
    pem = _generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".notification-", suffix=".pem")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(pem)
        if path.exists():
            path.unlink(missing_ok=True)  # expired or unreadable: replace it
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return _read_valid(path) or pem


def example_settings() -> dict[str, str]:
    """local.settings.example.json's values with the dev certificate filled in (tests, benchmarks)."""
    values: dict[str, str] = json.loads(EXAMPLE_SETTINGS_FILE.read_text(encoding="utf-8"))["Values"]
    return with_dev_certificate(values)


def with_dev_certificate(values: dict[str, str]) -> dict[str, str]:
    if not values.get(SETTING, "").strip():
        values = {**values, SETTING: dev_notification_certificate()}
    return values


def _read_valid(path: Path) -> str | None:
    try:
        pem = path.read_text(encoding="ascii")
        certificate = x509.load_pem_x509_certificate(pem.encode())
        serialization.load_pem_private_key(pem.encode(), None)
    except (OSError, ValueError, TypeError):
        return None
    if certificate.not_valid_after_utc - datetime.now(UTC) < _RENEW_BEFORE:
        return None
    return pem


def _generate() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DEV-ONLY graph-notification-encryption")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (key_pem + certificate.public_bytes(serialization.Encoding.PEM)).decode("ascii")
