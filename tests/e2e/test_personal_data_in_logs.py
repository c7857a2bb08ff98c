"""No UPN, display name, mail address or phone number in the logs at INFO and above.

A host of its own (default log level) runs a representative flow with users whose personal data is
distinctive: setup and consent, agents added by user id and by UPN (and one UPN Graph does not know),
a sync-account sign-in, the presence subscription, presence changes both ways, sync-status and
sync-health, and an expert directory search that returns the users' phones. Every record at INFO or
above of the connector's process (`shared.*`, the libraries it calls such as httpx's request lines,
the host's request lines and function failures; not the simulators') is searched, as written and
URL-decoded, for each UPN, display name, mail and phone number (as given, digits only, E.164): 0 hits.
Ids are what the lines carry instead.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_plus

import pytest

from devstack.azurite import Azurite
from tests.e2e.conftest import RunningHost
from tests.e2e.stack import (
    add_user,
    change_agent_state,
    contact_center_simulator,
    graph_presence_writes,
    graph_simulator,
    running_local_host,
    set_teams_presence,
    set_up_synced_tenant,
    wait_for,
    wait_for_applied,
)

pytestmark = pytest.mark.e2e

# One log record: "<date> <time> LEVEL logger: message", continued by lines that do not start a record.
_RECORD = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} (\w+) (\S+): ", re.MULTILINE)
_LOUD = {"INFO", "WARNING", "ERROR", "CRITICAL"}
# The simulators stand for Microsoft and the contact-center vendor: their own logs are not the product's.
_SIMULATOR_LOGGERS = (
    "devstack.graph_simulator",
    "devstack.contact_center_simulator",
    "devstack.simulator_http",
)


@pytest.fixture
def info_host(azurite: Azurite, tmp_path: Path) -> Iterator[RunningHost]:
    with running_local_host(azurite.connection_string, tmp_path / "host.log") as running:
        yield running


def connector_records(log: str) -> list[tuple[str, str, str]]:
    """(level, logger, text incl. continuation lines) of every INFO+ record of the connector's process
    (its code, the libraries it calls, the host) but the simulators', URL-decoded as well."""
    starts = list(_RECORD.finditer(log))
    records = []
    for index, start in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(log)
        level, name = start.group(1), start.group(2)
        if level in _LOUD and not name.startswith(_SIMULATOR_LOGGERS):
            text = log[start.start() : end]
            records.append((level, name, f"{text}\n{unquote_plus(text)}"))
    return records


def test_a_representative_flow_logs_no_upn_name_mail_or_phone(info_host: RunningHost) -> None:
    host = info_host.client
    graph = graph_simulator(info_host)
    contact_center = contact_center_simulator(info_host)
    tenant_id = str(uuid.uuid4())
    prefix = tenant_id[:8]

    # The standard synced tenant (ann, bob, sync account), then distinctive users of that tenant
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ann", "bob"])
    ann, bob = tenant.agent("ann"), tenant.agent("bob")
    people = {
        "zephyrine": {
            "userPrincipalName": f"zephyrine.quillfeather@{prefix}.example",
            "displayName": "Zephyrine Quillfeather",
            "mail": f"zq.inbox.{prefix}@mail-{prefix}.example",
            "businessPhones": ["+1 (425) 555-0187"],
            "mobilePhone": "+44 7700 900461",
            "department": "Support",
            "jobTitle": "Agent",
        },
        "bartholomew": {
            "userPrincipalName": f"bartholomew.vantwillig@{prefix}.example",
            "displayName": "Bartholomew van Twillig",
            "mail": f"bvt.inbox.{prefix}@mail-{prefix}.example",
            "businessPhones": ["+49 30 901820 77"],
            "mobilePhone": "+33 6 12 34 98 76",
            "department": "Support",
            "jobTitle": "Agent",
        },
    }
    for person in people.values():
        extra = {k: v for k, v in person.items() if k not in {"userPrincipalName", "displayName"}}
        add_user(graph, tenant_id, str(person["userPrincipalName"]), str(person["displayName"]), **extra)
    # Agents added by UPN (the connector resolves it at Graph), one by a UPN Graph does not know
    for index, person in enumerate(people.values()):
        put = host.call(
            "PUT",
            f"/api/tenants/{tenant_id}/agents/{prefix}-agent-{index}",
            {"userPrincipalName": person["userPrincipalName"]},
        )
        assert put.status == 201, put.body
    unknown_upn = f"nobody.whatsoever.{prefix}@{prefix}.example"
    missing = host.call(
        "PUT", f"/api/tenants/{tenant_id}/agents/{prefix}-agent-9", {"userPrincipalName": unknown_upn}
    )
    assert 400 <= missing.status < 500, missing.body

    # Presence both ways, the operations views, an expert directory search returning the phones
    set_teams_presence(graph, tenant, ann, "Busy", "InACall")
    wait_for_applied(host, tenant, ann, lambda body: body.get("availability") == "Busy")
    change_agent_state(contact_center, bob, "onCall")
    wait_for("bob's presence set in Teams", lambda: graph_presence_writes(graph, tenant, bob))
    status = host.call("GET", f"/api/tenants/{tenant_id}/agents/{ann.agent_id}/sync-status")
    assert status.status == 200, status.body
    assert host.call("GET", f"/api/tenants/{tenant_id}/sync-health").status == 200
    assert host.call("GET", f"/api/tenants/{tenant_id}/agents").status == 200
    enabled = host.call(
        "PATCH", f"/api/tenants/{tenant_id}/connector", {"settings": {"showUserDetails": True}}
    )
    assert enabled.status == 200, enabled.body
    agent = host.admin_headers(tenant_id, upn=f"searcher.{prefix}@{prefix}.example", wids=[], roles=[])
    found = host.call("GET", f"/api/tenants/{tenant_id}/directory/users?search=Quillfeather", headers=agent)
    assert found.status == 200, found.body
    assert "Zephyrine Quillfeather" in found.body.decode()

    personal: dict[str, str] = {
        "unknown UPN": unknown_upn,
        "searcher UPN": f"searcher.{prefix}@{prefix}.example",
    }
    for name in ("ann", "bob", "sync"):
        personal[f"{name} UPN"] = f"{name}@{prefix}.example"
    personal["sync account name"] = "Presence Sync"
    for name, person in people.items():
        personal[f"{name} UPN"] = str(person["userPrincipalName"])
        personal[f"{name} name"] = str(person["displayName"])
        personal[f"{name} surname"] = str(person["displayName"]).split(" ")[-1]
        personal[f"{name} mail"] = str(person["mail"])
        phones = [*person["businessPhones"], person["mobilePhone"]]
        for index, phone in enumerate(phones):
            personal[f"{name} phone {index}"] = str(phone)
            personal[f"{name} phone {index} digits"] = re.sub(r"\D", "", str(phone))
            personal[f"{name} phone {index} E.164"] = "+" + re.sub(r"\D", "", str(phone))

    log = info_host.log_path.read_text(encoding="utf-8", errors="replace")
    records = connector_records(log)
    # The flow was logged (not a silent log that trivially holds nothing): connector lines with ids
    assert len(records) > 20
    assert any(name.startswith("shared.") and tenant_id in text for _, name, text in records)
    assert any(name == "devstack.host" for _, name, _ in records)
    assert any(name == "httpx" and "/v1.0/users" in text for _, name, text in records)
    leaks = [
        (what, level, name, text.strip()[:300])
        for what, value in personal.items()
        for level, name, text in records
        if value.lower() in text.lower()
    ]
    assert leaks == []
