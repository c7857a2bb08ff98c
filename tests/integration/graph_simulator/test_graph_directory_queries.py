"""The simulator answers directory queries as Graph does: advanced-query operators, accountEnabled,
out of office and status messages in presence, the 400s Graph returns for what it does not support."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.integration.graph_simulator.conftest import SeededTenant
from tests.integration.graph_simulator.helpers import HttpResult, Sim

pytestmark = pytest.mark.integration

EVENTUAL = {"ConsistencyLevel": "eventual"}


def users(
    sim: Sim, tenant: SeededTenant, headers: dict[str, str] | None = None, /, **query: str
) -> HttpResult:
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    return sim.graph("GET", "/users?" + urlencode(query), token, headers=headers)


@pytest.fixture
def directory(sim: Sim, tenant: SeededTenant) -> dict[str, str]:
    ids = {
        "ann": sim.add_user(tenant.tenant_id, displayName="Ann O'Neil", department="Sales", jobTitle="Lead")[
            "id"
        ],
        "off": sim.add_user(
            tenant.tenant_id, displayName="Ann Off", department="Sales", jobTitle="Lead", accountEnabled=False
        )["id"],
        "zoe": sim.add_user(
            tenant.tenant_id,
            displayName="Zoë Núñez",
            department="Support",
            outOfOffice=True,
            outOfOfficeMessage="On leave",
            statusMessage="Back Monday",
        )["id"],
    }
    return ids


def test_ne_and_not_need_advanced_query_parameters(
    sim: Sim, tenant: SeededTenant, directory: dict[str, str]
) -> None:
    ne_id = f"id ne '{directory['ann']}'"
    for query, headers in [
        ({"$filter": ne_id}, None),
        ({"$filter": ne_id}, EVENTUAL),  # ConsistencyLevel alone is not enough: $count=true too
        ({"$filter": ne_id, "$count": "true"}, None),
        ({"$filter": "not(department eq 'Sales')"}, None),
        ({"$filter": "department eq null"}, None),
    ]:
        refused = users(sim, tenant, headers, **query)
        assert refused.status == 400, query
        assert refused.json()["error"]["code"] in {"Request_UnsupportedQuery", "Request_BadRequest"}
    allowed = users(sim, tenant, EVENTUAL, **{"$filter": ne_id, "$count": "true"})
    assert allowed.status == 200
    assert directory["ann"] not in [u["id"] for u in allowed.json()["value"]]
    assert allowed.json()["@odata.count"] == 2


def test_operators_graph_does_not_support_for_a_property_are_refused(sim: Sim, tenant: SeededTenant) -> None:
    for expression in [
        "startswith(id,'0')",
        "startswith(accountEnabled,'t')",
        "businessPhones eq '1'",
        "department gt 'A'",
        "endswith(mail,'x')",
    ]:
        refused = users(sim, tenant, EVENTUAL, **{"$filter": expression, "$count": "true"})
        assert refused.status == 400, expression
        assert refused.json()["error"]["code"] in {"Request_UnsupportedQuery", "BadRequest"}


def test_account_enabled_filters_and_is_returned_only_on_select(
    sim: Sim, tenant: SeededTenant, directory: dict[str, str]
) -> None:
    enabled = users(sim, tenant, **{"$filter": "accountEnabled eq true", "$select": "id,accountEnabled"})
    assert enabled.status == 200
    assert {u["id"] for u in enabled.json()["value"]} == {directory["ann"], directory["zoe"]}
    assert all(u["accountEnabled"] is True for u in enabled.json()["value"])
    plain = users(sim, tenant)
    assert "accountEnabled" not in plain.json()["value"][0]


def test_search_and_startswith_combine_and_quotes_are_doubled(
    sim: Sim, tenant: SeededTenant, directory: dict[str, str]
) -> None:
    found = users(
        sim,
        tenant,
        EVENTUAL,
        **{
            "$search": '"displayName:o\'neil" OR "mail:o\'neil"',
            "$filter": "accountEnabled eq true and startswith(department,'sal')",
            "$count": "true",
        },
    )
    assert found.status == 200, found.body
    assert [u["id"] for u in found.json()["value"]] == [directory["ann"]]
    quoted = users(sim, tenant, **{"$filter": "startswith(displayName,'Ann O''N')"})
    assert [u["id"] for u in quoted.json()["value"]] == [directory["ann"]]
    broken = users(sim, tenant, **{"$filter": "startswith(displayName,'Ann O'N')"})
    assert broken.status == 400


def test_presence_carries_out_of_office_and_the_status_message(
    sim: Sim, tenant: SeededTenant, directory: dict[str, str]
) -> None:
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    result = sim.graph(
        "POST", "/communications/getPresencesByUserId", token, {"ids": [directory["zoe"], directory["ann"]]}
    )
    assert result.status == 200
    zoe, ann = result.json()["value"]
    assert zoe["outOfOfficeSettings"] == {"message": "On leave", "isOutOfOffice": True}
    assert zoe["statusMessage"]["message"] == {"content": "Back Monday", "contentType": "text"}
    assert ann["outOfOfficeSettings"]["isOutOfOffice"] is False
    assert ann["statusMessage"] is None
