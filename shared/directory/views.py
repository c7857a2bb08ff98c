"""The directory page as JSON (camelCase, every documented field present, null when unknown)."""

from __future__ import annotations

from typing import Any

from shared.directory.model import DirectoryPage, Expert


def expert_json(expert: Expert) -> dict[str, Any]:
    target = expert.transfer_target
    return {
        "id": expert.id,
        "displayName": expert.display_name,
        "department": expert.department,
        "jobTitle": expert.job_title,
        "userPrincipalName": expert.user_principal_name,
        "mail": expert.mail,
        "businessPhone": expert.business_phone,
        "transferable": expert.transferable,
        "transferTarget": None if target is None else {"type": target.type, "number": target.number},
        "presence": {
            "availability": expert.presence.availability,
            "activity": expert.presence.activity,
            "outOfOffice": expert.presence.out_of_office,
            "statusMessage": expert.presence.status_message,
        },
    }


def page_json(page: DirectoryPage) -> dict[str, Any]:
    return {"value": [expert_json(e) for e in page.experts], "nextSkipToken": page.next_skip_token}
