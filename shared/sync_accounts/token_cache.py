"""How a sync account's MSAL token cache is kept at rest.

The serialized cache holds refresh tokens, so it is sealed (AES-256-GCM) and bound to its tenant and
account: a sealed cache copied into another account's row does not open. Table Storage caps a string
property at 32K characters, so the sealed text is split over numbered parts. One account's cache
(access, refresh and ID token) seals to about 10K characters: one part in practice.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.security.secret_box import SecretBox
from shared.sync_accounts.exceptions import TokenCacheTooLarge

# Below Table Storage's 32K-character string limit, with room to spare.
PART_LENGTH = 30_000
# A cache this large is not one account's tokens any more; the entity limit (1 MB) is far beyond.
MAX_PARTS = 8


def token_cache_context(tenant_id: str, account_id: str) -> str:
    return f"sync-account-token-cache|{tenant_id}|{account_id}"


def seal_token_cache(box: SecretBox, tenant_id: str, account_id: str, token_cache: str) -> list[str]:
    sealed = box.seal(token_cache, token_cache_context(tenant_id, account_id))
    parts = [sealed[start : start + PART_LENGTH] for start in range(0, len(sealed), PART_LENGTH)]
    if len(parts) > MAX_PARTS:
        raise TokenCacheTooLarge(
            f"the token cache of sync account {account_id} seals to {len(sealed)} characters, more than "
            f"{MAX_PARTS * PART_LENGTH}"
        )
    return parts


def open_token_cache(box: SecretBox, tenant_id: str, account_id: str, parts: Sequence[str]) -> str:
    """Raises SecretDecryptionFailed when a part is missing, reordered, altered or from another account."""
    return box.open("".join(parts), token_cache_context(tenant_id, account_id))
