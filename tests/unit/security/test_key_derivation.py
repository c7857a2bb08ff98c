from __future__ import annotations

import pytest

from shared.security.key_derivation import KEY_BYTES, derive_key

MASTER = b"m" * 48


def test_the_same_purpose_gives_the_same_key() -> None:
    assert derive_key(MASTER, "graph-client-state") == derive_key(MASTER, "graph-client-state")
    assert len(derive_key(MASTER, "graph-client-state")) == KEY_BYTES


def test_purposes_and_masters_give_unrelated_keys() -> None:
    keys = {
        derive_key(MASTER, "graph-client-state"),
        derive_key(MASTER, "sync-account-state"),
        derive_key(b"n" * 48, "graph-client-state"),
    }
    assert len(keys) == 3
    assert MASTER[:KEY_BYTES] not in keys


def test_a_purpose_is_required() -> None:
    with pytest.raises(ValueError, match="purpose"):
        derive_key(MASTER, "")
