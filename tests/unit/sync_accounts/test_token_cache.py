"""Token caches at rest: sealed, bound to tenant and account, split into property-sized parts."""

from __future__ import annotations

import json
import os

import pytest

from shared.security.exceptions import SecretDecryptionFailed
from shared.security.secret_box import SecretBox
from shared.sync_accounts.exceptions import TokenCacheTooLarge
from shared.sync_accounts.token_cache import MAX_PARTS, PART_LENGTH, open_token_cache, seal_token_cache

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ACCOUNT = "5f0c2a4e-9d1b-4c3a-8e7f-6a5b4c3d2e1f"
OTHER = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d"
CACHE = json.dumps({"RefreshToken": {"k": {"secret": "1.AVEA-refresh-token-secret"}}})


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(os.urandom(32))


def test_a_sealed_cache_shows_nothing_and_opens_for_its_account(box: SecretBox) -> None:
    parts = seal_token_cache(box, TENANT, ACCOUNT, CACHE)
    assert len(parts) == 1
    assert "refresh-token-secret" not in parts[0]
    assert "RefreshToken" not in parts[0]
    assert open_token_cache(box, TENANT, ACCOUNT, parts) == CACHE


@pytest.mark.parametrize(("tenant", "account"), [(TENANT, OTHER), (OTHER, ACCOUNT)])
def test_a_cache_moved_to_another_account_or_tenant_does_not_open(
    box: SecretBox, tenant: str, account: str
) -> None:
    parts = seal_token_cache(box, TENANT, ACCOUNT, CACHE)
    with pytest.raises(SecretDecryptionFailed):
        open_token_cache(box, tenant, account, parts)


def test_a_cache_sealed_with_another_key_or_altered_does_not_open(box: SecretBox) -> None:
    parts = seal_token_cache(box, TENANT, ACCOUNT, CACHE)
    with pytest.raises(SecretDecryptionFailed):
        open_token_cache(SecretBox(os.urandom(32)), TENANT, ACCOUNT, parts)
    altered = parts[0][:-6] + ("A" if parts[0][-6] != "A" else "B") + parts[0][-5:]
    with pytest.raises(SecretDecryptionFailed):
        open_token_cache(box, TENANT, ACCOUNT, [altered])


def test_a_large_cache_is_split_below_the_string_limit_and_joined_in_order(box: SecretBox) -> None:
    # GIVEN a cache that seals to more than one table property can hold
    large = json.dumps({"blob": "x" * 50_000})
    # WHEN it is sealed
    parts = seal_token_cache(box, TENANT, ACCOUNT, large)
    # THEN each part fits a property, and only the parts in order open
    assert len(parts) == 3
    assert all(len(part) <= PART_LENGTH < 32_768 for part in parts)
    assert open_token_cache(box, TENANT, ACCOUNT, parts) == large
    with pytest.raises(SecretDecryptionFailed):
        open_token_cache(box, TENANT, ACCOUNT, list(reversed(parts)))
    with pytest.raises(SecretDecryptionFailed):
        open_token_cache(box, TENANT, ACCOUNT, parts[:-1])


def test_a_cache_too_large_for_one_entity_is_refused(box: SecretBox) -> None:
    with pytest.raises(TokenCacheTooLarge):
        seal_token_cache(box, TENANT, ACCOUNT, "x" * (MAX_PARTS * PART_LENGTH))
