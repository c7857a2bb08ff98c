"""The expert directory over the production Graph gateway, against the Graph simulator over HTTP.

The simulator is strict where Graph is (advanced queries need ConsistencyLevel and $count, ne needs
them, unsupported operators are 400s), so these pin that what the connector sends is what Graph takes.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from devstack.graph_simulator import GraphSimulator
from shared.directory.cache import DirectoryPageCache
from shared.directory.commands import DirectoryRequest, parse_directory_request
from shared.directory.exceptions import DirectoryError
from shared.directory.service import DirectoryService
from shared.directory.skip_tokens import SkipTokenSigner
from shared.directory.views import page_json
from shared.graph.exceptions import GraphAuthenticationFailed, GraphBadRequest, GraphThrottled
from shared.graph.model import UserPageRequest
from shared.graph.msgraph_gateway import MsGraphGateway
from tests.fakes import FakeClock
from tests.integration.graph.conftest import Tenant
from tests.integration.graph.helpers import control
from tests.unit.directory.fakes import FakeConnectors, FakeServiceAccounts, connector

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "graph" / "directory_users.json"


def seed(simulator: GraphSimulator, tenant_id: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    for entry in json.loads(FIXTURE.read_text(encoding="utf-8"))["users"]:
        body = {k: v for k, v in entry.items() if k != "key"}
        # A unique prefix of digits only: hex letters would be words a search such as "a:b:c" can match.
        body["userPrincipalName"] = f"{uuid.uuid4().int % 10**8:08d}.{body['userPrincipalName']}"
        status, created = control(simulator.base_url, "POST", f"/tenants/{tenant_id}/users", body)
        assert status == 201, created
        ids[entry["key"]] = created["id"]
    return ids


class Directory:
    def __init__(
        self, gateway: MsGraphGateway, tenant: Tenant, ids: dict[str, str], simulator: GraphSimulator
    ):
        self.tenant_id = tenant.tenant_id
        self.ids = ids
        self.simulator = simulator
        self.clock = FakeClock()
        self.service = DirectoryService(
            FakeConnectors({tenant.tenant_id: connector(tenant_id=tenant.tenant_id)}),
            gateway,
            FakeServiceAccounts(frozenset({ids["sync"]})),
            SkipTokenSigner(b"s" * 32, self.clock),
            DirectoryPageCache(self.clock),
            "GB",
        )

    def search(self, **params: str) -> dict[str, Any]:
        return page_json(self.service.search(self.tenant_id, parse_directory_request(params)))

    def names(self, **params: str) -> list[str]:
        return [e["displayName"] for e in self.search(**params)["value"]]

    def graph_requests(self) -> list[dict[str, Any]]:
        status, body = control(self.simulator.base_url, "GET", "/requests")
        assert status == 200
        return [r for r in body["value"] if r["kind"] == "graph" and r["tenant"] == self.tenant_id]


@pytest.fixture
def directory(simulator: GraphSimulator, tenant: Tenant, gateway: MsGraphGateway) -> Directory:
    return Directory(gateway, tenant, seed(simulator, tenant.tenant_id), simulator)


def test_search_by_name_department_and_role(directory: Directory) -> None:
    # Tokenized: "ann" matches the start of a word of the display name (or the mail)
    assert directory.names(search="ann") == ["Ann O'Neil", "Sam Annand"]
    assert directory.names(search="o'neil") == ["Ann O'Neil"]
    assert directory.names(search="Zoë") == ["Zoë Núñez"]
    assert directory.names(department="customer s") == ["Ann O'Neil", "Sam Annand", "Zoë Núñez"]
    assert directory.names(department="Billing", jobTitle="Billing Team") == ["Omar Haddad"]
    assert directory.names(search="ann", department="Customer Success") == ["Sam Annand"]


def test_disabled_and_sync_accounts_never_appear(directory: Directory) -> None:
    everyone = directory.names(top="50")
    assert "Ann Gone" not in everyone
    assert "Presence Sync" not in everyone
    assert len(everyone) == 6


def test_the_answer_carries_e164_phones_presence_and_transfer_targets(directory: Directory) -> None:
    by_name = {e["displayName"]: e for e in directory.search(top="50")["value"]}
    ann, zoe, dara, omar, li = (
        by_name[n] for n in ("Ann O'Neil", "Zoë Núñez", "Dara D'Arcy", "Omar Haddad", "Li Wei")
    )
    assert ann["businessPhone"] == "+14255550100"
    assert ann["transferTarget"] == {"type": "pstn", "number": "+14255550100"}
    assert ann["presence"] == {
        "availability": "Available",
        "activity": "Available",
        "outOfOffice": False,
        "statusMessage": "Ask me about refunds",
    }
    # A national number takes the default region (GB here)
    assert zoe["businessPhone"] == "+442079460018"
    # No business phone: the mobile phone; a US national number is not valid in GB
    assert dara["businessPhone"] is None
    assert dara["transferable"] is False
    assert dara["presence"]["activity"] == "InACall"
    # An extension is no direct number; out of office comes from outOfOfficeSettings
    assert omar["businessPhone"] is None
    assert omar["presence"]["outOfOffice"] is True
    assert li["department"] is None
    assert li["transferTarget"] is None


def test_available_keeps_available_people_who_are_not_out_of_office(directory: Directory) -> None:
    assert directory.names(available="true", top="50") == ["Ann O'Neil", "Zoë Núñez"]


def test_paging_is_two_graph_calls_a_page_and_follows_only_our_tokens(directory: Directory) -> None:
    control(directory.simulator.base_url, "DELETE", "/requests")
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params = {"top": "2", **({"skipToken": token} if token else {})}
        page = directory.search(**params)
        seen += [e["id"] for e in page["value"]]
        pages += 1
        token = page["nextSkipToken"]
        if token is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 6
    requests = directory.graph_requests()
    assert [r["path"] for r in requests] == ["/v1.0/users", "/v1.0/communications/getPresencesByUserId"] * 3
    assert all(r["status"] == 200 for r in requests)


@pytest.mark.parametrize(
    "params",
    [
        {"search": "' or 1 eq 1 or '"},
        {"department": "') or startswith(displayName,'"},
        {"department": "x' or accountEnabled eq false or department eq '"},
        {"jobTitle": "' or id ne '"},
        {"search": '" OR "displayName:'},
        {"search": '"'},
        {"search": "\\"},
        {"search": "&$top=999"},
        {"department": "%27"},
        {"search": "a:b:c"},
        {"department": "Billing'", "jobTitle": "''"},
    ],
)
def test_injection_attempts_neither_fail_nor_widen(directory: Directory, params: dict[str, str]) -> None:
    try:
        value = directory.search(**params)["value"]
    except DirectoryError:
        return
    assert len(value) <= 1, value
    for expert in value:
        assert expert["displayName"] not in {"Ann Gone", "Presence Sync"}


def test_a_graph_skip_token_is_sent_to_the_configured_graph_only(
    directory: Directory, gateway: MsGraphGateway
) -> None:
    page = gateway.list_users_page(
        directory.tenant_id, UserPageRequest(select=("id",), top=1, filter="accountEnabled eq true")
    )
    assert page.next_skip_token is not None
    assert "://" not in page.next_skip_token
    again = gateway.list_users_page(
        directory.tenant_id,
        UserPageRequest(
            select=("id",), top=1, filter="accountEnabled eq true", skip_token=page.next_skip_token
        ),
    )
    assert again.users != page.users


def test_a_foreign_skip_token_is_refused_before_graph(directory: Directory) -> None:
    request = DirectoryRequest(parse_directory_request({}).query, "aHR0cHM6Ly9ldmlsLmV4YW1wbGU.c2ln")
    with pytest.raises(DirectoryError, match="not a token"):
        directory.service.search(directory.tenant_id, request)


def test_graph_throttling_and_refusals_reach_the_caller_mapped(
    directory: Directory, gateway: MsGraphGateway, unconsented_tenant: Tenant, simulator: GraphSimulator
) -> None:
    # Throttled users read: GraphThrottled with Graph's Retry-After (503 graphThrottled at the route)
    fault = {"pathPrefix": "/v1.0/users", "status": 429, "count": 1, "retryAfterSeconds": 7}
    assert control(simulator.base_url, "POST", "/faults", fault)[0] == 201
    with pytest.raises(GraphThrottled) as throttled:
        directory.search(search="zoë")
    assert throttled.value.retry_after == 7
    # Throttled presence read: nothing is answered without presence
    fault = {"pathPrefix": "/v1.0/communications/getPresencesByUserId", "status": 503, "count": 1}
    assert control(simulator.base_url, "POST", "/faults", fault)[0] == 201
    with pytest.raises(GraphThrottled):
        directory.search(search="zoë")
    assert directory.names(search="zoë") == ["Zoë Núñez"]
    # A query Graph does not support is Graph's 400, with its code
    with pytest.raises(GraphBadRequest) as refused:
        gateway.list_users_page(
            directory.tenant_id, UserPageRequest(select=("id",), top=1, filter="startswith(id,'0')")
        )
    assert refused.value.graph_code == "Request_UnsupportedQuery"
    # A tenant that never consented gives the app no token
    with pytest.raises(GraphAuthenticationFailed):
        gateway.list_users_page(unconsented_tenant.tenant_id, UserPageRequest(select=("id",), top=1))
