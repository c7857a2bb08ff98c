"""The JSON the API shows for sync accounts (camelCase, never any token material). Pure functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.sync_accounts.model import SignInStart, SyncAccount, SyncAccountListing


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def sync_account_json(account: SyncAccount) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": account.account_id,
        "userPrincipalName": account.user_principal_name,
        "displayName": account.display_name,
        "status": account.status.value,
        "createdAt": iso(account.created_at),
        "lastTokenAt": iso(account.last_token_at),
    }
    if account.last_error is not None:
        body["lastError"] = account.last_error
    return body


def listing_json(listing: SyncAccountListing) -> dict[str, Any]:
    return {
        "syncAccounts": [
            {
                **sync_account_json(account),
                "capacity": {
                    "used": listing.used_by(account.account_id),
                    "limit": listing.agents_per_account,
                },
            }
            for account in listing.accounts
        ],
        "capacity": {"agentsPerAccount": listing.agents_per_account},
    }


def sign_in_start_json(start: SignInStart) -> dict[str, Any]:
    return {"authorizeUrl": start.authorize_url, "expiresAt": iso(start.expires_at)}
