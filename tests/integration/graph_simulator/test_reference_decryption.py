"""The tests' reference decryption reproduces Microsoft's own rich-notification test vector."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.integration.graph_simulator.helpers import reference_decrypt

VECTOR = Path("/work/shared/test-vectors/graph_rich_notification_vector.json")


@pytest.mark.skipif(not VECTOR.exists(), reason="Microsoft's test vector is not available on this machine")
def test_reference_decryption_matches_microsofts_vector() -> None:
    # GIVEN the certificate and encryptedContent from msgraph-sdk-dotnet-core's tests
    vector = json.loads(VECTOR.read_text())
    key, _, _ = pkcs12.load_key_and_certificates(
        base64.b64decode(vector["pfxBase64"]), vector["pfxPassword"].encode()
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    # WHEN it is decrypted the way the simulator's notifications are checked
    payload = reference_decrypt(vector["encryptedContent"], key)
    # THEN it is Microsoft's expected chatMessage
    assert payload["etag"] == vector["expect"]["etag"]
    assert payload["body"]["content"] == vector["expect"]["body.content"]
