"""JSON the console's own routes answer."""

from __future__ import annotations

from typing import Any

from shared.console.session import ConsoleSession
from shared.identity.policies import is_connector_admin


def session_view(session: ConsoleSession) -> dict[str, Any]:
    principal = session.principal
    return {
        "tenantId": principal.tenant_id,
        "objectId": principal.object_id,
        "userPrincipalName": principal.username,
        "displayName": principal.display_name,
        "isAdmin": is_connector_admin(principal),
        "csrfToken": session.csrf_token,
        "expiresAt": session.expires_at.isoformat().replace("+00:00", "Z"),
    }
