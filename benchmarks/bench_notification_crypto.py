"""Cost of the notification security core per batch: parse, validation tokens, clientState, decryption.

Run from the repository root:  .venv/bin/python -m benchmarks.bench_notification_crypto [--rounds 200]

Each round handles one batch of `--batch-size` rich presence notifications for one tenant, as Graph
delivers them: a fresh RSA-wrapped key per notification (2048-bit certificate by default) and one
validation token for the batch. Graph reuses a token across deliveries, so steady-state batches hit the
verified-token cache; the uncached cost of one token is printed separately.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.notifications.client_state import ClientStateSigner
from shared.notifications.decryption import decrypt_encrypted_content
from shared.notifications.encryption_keys import EncryptionKeyRing
from shared.notifications.model import parse_notification_collection, parse_presence_payload
from shared.notifications.validation_tokens import GRAPH_CHANGE_TRACKING_APP_ID, ValidationTokenVerifier
from shared.security.signing_keys import StaticKeySource
from tests.support.notification_encryption import (
    encrypt_for_notification,
    encrypted_content_json,
    generate_encryption_certificate,
)

APP_ID = "8e460676-ae3f-4b1e-8790-ee0fb5d6148f"
TENANT_ID = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
DISTINCT_BATCHES = 10


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _token(key: rsa.RSAPrivateKey, kid: str, now: datetime) -> str:
    claims = {
        "aud": APP_ID,
        "iss": f"https://sts.windows.net/{TENANT_ID}/",
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
        "appid": GRAPH_CHANGE_TRACKING_APP_ID,
        "tid": TENANT_ID,
        "uti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _batch_body(
    ring: EncryptionKeyRing, client_states: ClientStateSigner, token: str, batch_size: int
) -> bytes:
    certificate = ring.current
    value: list[dict[str, Any]] = []
    for index in range(batch_size):
        user_id = str(uuid.uuid4())
        presence = {
            "@odata.type": "#microsoft.graph.presence",
            "@odata.id": f"users/{user_id}/presence",
            "id": user_id,
            "availability": "Busy",
            "activity": "InACall",
            "sequenceNumber": f"C{index:032d}",
        }
        encrypted = encrypt_for_notification(presence, certificate.certificate, certificate.certificate_id)
        value.append(
            {
                "subscriptionId": str(uuid.uuid4()),
                "clientState": client_states.issue(TENANT_ID),
                "changeType": "updated",
                "tenantId": TENANT_ID,
                "resource": f"communications/presences/{user_id}",
                "subscriptionExpirationDateTime": "2030-01-01T00:00:00.0000000Z",
                "resourceData": {
                    "@odata.id": f"users/{user_id}/presence",
                    "@odata.type": "#microsoft.graph.presence",
                    "id": user_id,
                },
                "encryptedContent": encrypted_content_json(encrypted),
            }
        )
    return json.dumps({"value": value, "validationTokens": [token]}).encode()


def _handle_batch(
    body: bytes, ring: EncryptionKeyRing, verifier: ValidationTokenVerifier, client_states: ClientStateSigner
) -> int:
    collection = parse_notification_collection(body)
    verifier.verify_all(collection.validation_tokens, collection.tenant_ids)
    accepted = 0
    for notification in collection.notifications:
        if notification.encrypted_content is None:
            continue
        if not client_states.verify(notification.client_state, notification.tenant_id):
            continue
        parse_presence_payload(decrypt_encrypted_content(notification.encrypted_content, ring))
        accepted += 1
    return accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--key-size", type=int, default=2048, help="encryption certificate RSA key size")
    args = parser.parse_args()

    ring = EncryptionKeyRing(generate_encryption_certificate("bench", key_size=args.key_size))
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(RSAAlgorithm.to_jwk(signing_key.public_key())), "kid": "bench", "use": "sig"}
    now = datetime.now(UTC)
    verifier = ValidationTokenVerifier(APP_ID, StaticKeySource({"keys": [jwk]}), lambda: now)
    client_states = ClientStateSigner(secrets.token_bytes(32))

    token = _token(signing_key, "bench", now)
    bodies = [_batch_body(ring, client_states, token, args.batch_size) for _ in range(DISTINCT_BATCHES)]

    uncached: list[float] = []
    for _ in range(50):
        fresh = _token(signing_key, "bench", now)
        started = time.perf_counter()
        verifier.verify(fresh)
        uncached.append((time.perf_counter() - started) * 1000)

    _handle_batch(bodies[0], ring, verifier, client_states)  # warm-up: imports, caches
    per_batch: list[float] = []
    for round_number in range(args.rounds):
        body = bodies[round_number % DISTINCT_BATCHES]
        started = time.perf_counter()
        accepted = _handle_batch(body, ring, verifier, client_states)
        per_batch.append((time.perf_counter() - started) * 1000)
        if accepted != args.batch_size:
            raise SystemExit(f"only {accepted} of {args.batch_size} notifications were accepted")

    total_seconds = sum(per_batch) / 1000
    print(
        f"notification security core: {args.rounds} batches x {args.batch_size} notifications, "
        f"RSA-{args.key_size} encryption certificate"
    )
    print(
        f"  per batch (ms): p50 {statistics.median(per_batch):.2f}  p99 {_percentile(per_batch, 0.99):.2f}  "
        f"max {max(per_batch):.2f}"
    )
    print(f"  per notification (ms): {statistics.mean(per_batch) / args.batch_size:.3f} mean")
    print(f"  throughput: {args.rounds * args.batch_size / total_seconds:,.0f} notifications/s on one thread")
    print(
        f"  one uncached validation token (ms): p50 {statistics.median(uncached):.3f}  "
        f"p99 {_percentile(uncached, 0.99):.3f}"
    )


if __name__ == "__main__":
    main()
