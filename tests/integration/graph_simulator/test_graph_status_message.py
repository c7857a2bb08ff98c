"""Graph's setStatusMessage in the simulator, over HTTP: the documented body, its strictness, the
permissions, expiry and what presence reads show as statusMessage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.graph_simulator.conftest import SeededTenant
from tests.integration.graph_simulator.helpers import Sim

pytestmark = pytest.mark.integration


def _status(content: str, expiry: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": {"content": content, "contentType": "text"}}
    if expiry is not None:
        body["expiryDateTime"] = expiry
    return {"statusMessage": body}


def _shown(sim: Sim, token: str, user_id: str) -> Any:
    return sim.graph("GET", f"/communications/presences/{user_id}", token).json()["statusMessage"]


def test_a_status_message_with_an_expiry_is_shown_then_cleared(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    later = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    result = sim.graph(
        "POST",
        f"/users/{user['id']}/presence/setStatusMessage",
        token,
        _status("On a customer call", {"dateTime": later, "timeZone": "UTC"}),
    )
    assert result.status == 200
    assert _shown(sim, token, user["id"])["message"] == {
        "content": "On a customer call",
        "contentType": "text",
    }
    # An empty content removes it.
    assert (
        sim.graph("POST", f"/users/{user['id']}/presence/setStatusMessage", token, _status("")).status == 200
    )
    assert _shown(sim, token, user["id"]) is None


def test_an_expired_message_is_no_longer_shown(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    # Local time in New York: UTC now minus 10 minutes is still ahead there only if the zone is ignored.
    local = (datetime.now(UTC) - timedelta(hours=5, minutes=10)).replace(tzinfo=None).isoformat()
    expiry = {"dateTime": local, "timeZone": "America/New_York"}
    sim.graph("POST", f"/users/{user['id']}/presence/setStatusMessage", token, _status("Gone", expiry))
    assert _shown(sim, token, user["id"]) is None
    ahead = (datetime.now(UTC) - timedelta(hours=3)).replace(tzinfo=None).isoformat()
    expiry = {"dateTime": ahead, "timeZone": "America/New_York"}
    sim.graph("POST", f"/users/{user['id']}/presence/setStatusMessage", token, _status("Back", expiry))
    assert _shown(sim, token, user["id"])["message"]["content"] == "Back"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"statusMessage": "On a call"},
        {"statusMessage": {}},
        {"statusMessage": {"message": {"contentType": "text"}}},
        {"statusMessage": {"message": {"content": "x", "contentType": "html"}}},
        {"statusMessage": {"message": {"content": "x"}, "colour": "red"}},
        {"statusMessage": {"message": {"content": "x"}}, "extra": 1},
        {
            "statusMessage": {
                "message": {"content": "x"},
                "expiryDateTime": {"dateTime": "soon", "timeZone": "UTC"},
            }
        },
        {
            "statusMessage": {
                "message": {"content": "x"},
                "expiryDateTime": {"dateTime": "2030-01-01T10:00:00+01:00", "timeZone": "UTC"},
            }
        },
        {
            "statusMessage": {
                "message": {"content": "x"},
                "expiryDateTime": {"dateTime": "2030-01-01T10:00:00", "timeZone": "Mars/Olympus"},
            }
        },
        {
            "statusMessage": {
                "message": {"content": "x"},
                "expiryDateTime": {"dateTime": "2030-01-01T10:00:00"},
            }
        },
    ],
)
def test_bad_bodies_are_refused_with_400_and_change_nothing(
    sim: Sim, tenant: SeededTenant, body: dict[str, Any]
) -> None:
    user = sim.add_user(tenant.tenant_id, statusMessage="Mine")
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    result = sim.graph("POST", f"/users/{user['id']}/presence/setStatusMessage", token, body)
    assert result.status == 400
    assert result.json()["error"]["code"] == "BadRequest"
    assert _shown(sim, token, user["id"])["message"]["content"] == "Mine"


def test_setting_needs_presence_read_write_all(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id, roles=["Presence.Read.All"])
    result = sim.graph("POST", f"/users/{user['id']}/presence/setStatusMessage", token, _status("x"))
    assert result.status == 403
