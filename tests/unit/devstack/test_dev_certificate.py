from __future__ import annotations

from pathlib import Path

from cryptography import x509

from devstack.dev_certificate import dev_notification_certificate, with_dev_certificate
from shared.notifications.encryption_keys import EncryptionCertificate


def test_the_dev_certificate_is_generated_once_and_reused(tmp_path: Path) -> None:
    # GIVEN no certificate file yet
    path = tmp_path / "dev" / "notification-certificate.pem"
    # WHEN it is asked for twice
    first = dev_notification_certificate(path)
    second = dev_notification_certificate(path)
    # THEN the same usable key pair comes back, kept in the file
    assert first == second == path.read_text()
    certificate = EncryptionCertificate.from_pem("dev", first.encode(), first.encode())
    certificate.ensure_fit_for_subscription()


def test_an_unreadable_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "notification-certificate.pem"
    path.write_text("not a certificate")
    pem = dev_notification_certificate(path)
    assert x509.load_pem_x509_certificate(pem.encode())
    assert path.read_text() == pem


def test_a_configured_certificate_is_kept() -> None:
    assert with_dev_certificate({"NOTIFICATION_CERTIFICATE": "configured"}) == {
        "NOTIFICATION_CERTIFICATE": "configured"
    }
