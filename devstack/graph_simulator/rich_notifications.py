"""Change-notification payloads, with resource data encrypted exactly as Graph encrypts it.

A fresh 32-byte key per notification; the key wrapped with RSA-OAEP (SHA-1) under the
subscription's certificate; the resource JSON encrypted with AES-256-CBC, PKCS7 padding and
IV = the key's first 16 bytes; HMAC-SHA256 (keyed with the same key) over the ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asymmetric_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from devstack.graph_simulator.clock import format_graph_datetime
from devstack.graph_simulator.models import PresenceChange, Subscription


def certificate_thumbprint(certificate_b64: str) -> str:
    return hashlib.sha1(base64.b64decode(certificate_b64), usedforsecurity=False).hexdigest().upper()


def encrypt_resource_data(
    payload: dict[str, Any], certificate_b64: str, certificate_id: str
) -> dict[str, str]:
    cert = x509.load_der_x509_certificate(base64.b64decode(certificate_b64))
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("the subscription certificate does not hold an RSA key")
    key = os.urandom(32)
    wrapped = public_key.encrypt(
        key,
        asymmetric_padding.OAEP(
            mgf=asymmetric_padding.MGF1(algorithm=hashes.SHA1()),  # noqa: S303 - Graph's documented choice
            algorithm=hashes.SHA1(),  # noqa: S303
            label=None,
        ),
    )
    padder = padding.PKCS7(128).padder()
    plaintext = padder.update(json.dumps(payload).encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    signature = hmac.new(key, ciphertext, hashlib.sha256).digest()
    return {
        "data": base64.b64encode(ciphertext).decode("ascii"),
        "dataSignature": base64.b64encode(signature).decode("ascii"),
        "dataKey": base64.b64encode(wrapped).decode("ascii"),
        "encryptionCertificateId": certificate_id,
        "encryptionCertificateThumbprint": certificate_thumbprint(certificate_b64),
    }


def presence_resource(user_id: str) -> str:
    return f"communications/presences('{user_id}')"


def presence_notification(change: PresenceChange, subscription: Subscription) -> dict[str, Any]:
    """One changeNotification for one subscription; rich when the subscription asked for resource data."""
    item: dict[str, Any] = {
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": format_graph_datetime(subscription.expiration),
        "changeType": "updated",
        "clientState": subscription.client_state,
        "resource": presence_resource(change.user_id),
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.presence",
            "@odata.id": presence_resource(change.user_id),
            "id": change.user_id,
        },
        "tenantId": change.tenant_id,
    }
    if subscription.include_resource_data and subscription.encryption_certificate:
        item["encryptedContent"] = encrypt_resource_data(
            {
                "@odata.type": "#Microsoft.Graph.presence",
                "id": change.user_id,
                "availability": change.availability,
                "activity": change.activity,
                "sequenceNumber": change.sequence_number,
                "statusMessage": None,
                "outOfOfficeSettings": {
                    "message": change.out_of_office_message,
                    "isOutOfOffice": change.out_of_office,
                },
            },
            subscription.encryption_certificate,
            subscription.encryption_certificate_id or "",
        )
    return item


def lifecycle_notification(subscription: Subscription, event: str) -> dict[str, Any]:
    return {
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": format_graph_datetime(subscription.expiration),
        "tenantId": subscription.tenant_id,
        "clientState": subscription.client_state,
        "lifecycleEvent": event,
    }
