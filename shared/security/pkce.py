"""PKCE (RFC 7636) for the authorization-code flows the connector starts (sync accounts, the console)."""

from __future__ import annotations

import base64
import hashlib


def code_challenge(code_verifier: str) -> str:
    """S256: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
