"""Purpose-bound keys derived from one configured secret, so adding a use needs no new setting and a
key leaked from one use (say, a clientState MAC) says nothing about another (the consent state)."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32


def derive_key(master: bytes, purpose: str) -> bytes:
    """HKDF-SHA256 of `master` for `purpose` (RFC 5869); the same inputs always give the same key."""
    if not purpose:
        raise ValueError("a derived key needs a purpose")
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=b"teams-contact-center-connector",
        info=purpose.encode("utf-8"),
    ).derive(master)
