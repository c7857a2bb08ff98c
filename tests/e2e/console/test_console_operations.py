"""The console's operations views in a real browser: the tenant's sync health, each agent's sync status
with its problems, and the agent groups on the Agents page. Every value is the API's own answer,
shown as text (hostile display names included)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import HostClient
from tests.e2e.console.conftest import WAIT_MS
from tests.e2e.console.test_console import fetch, new_tenant, shoot, sign_in
from tests.e2e.stack import ControlApi, activate_connector

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)

HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=1</script>'


def add_agent(host: HostClient, tenant: str, agent_id: str, upn: str) -> None:
    added = host.call("PUT", f"/api/tenants/{tenant}/agents/{agent_id}", {"userPrincipalName": upn})
    assert added.status == 201, added.body


def test_the_sync_health_page_shows_the_tenants_counts_problems_and_last_hour(
    page: Page, host: HostClient, graph: ControlApi
) -> None:
    people = new_tenant(graph)
    tenant = people["tenant"]
    activate_connector(host, tenant)
    add_agent(host, tenant, "agent-1", people["agent"])
    sign_in(page, host, tenant, "Ada Admin")
    page.get_by_role("link", name="Sync health").click()
    expect(page.get_by_role("link", name="Sync health")).to_have_attribute("aria-current", "page")
    expect(page.locator("#health-in-sync")).to_be_visible()
    health = fetch(page, "GET", f"/api/tenants/{tenant}/sync-health")["json"]
    agents = health["agents"]
    assert agents["total"] == 1
    expect(page.locator("#health-in-sync")).to_have_text(f"{agents['inSync']} of 1 agent in sync")
    # No sync account: the agent is not subscribed; each problem with a count shows with its sentence.
    problems = {code: count for code, count in agents["withProblem"].items() if count}
    assert problems.get("notSubscribed") == 1, agents
    rows = page.locator("#health-problems tbody tr")
    expect(rows).to_have_count(len(problems))
    for code, count in problems.items():
        row = page.locator(f"#health-problems tr[data-problem='{code}']")
        expect(row.locator("td").nth(0)).to_have_text(code)
        expect(row.locator("td").nth(1)).to_have_text(str(count))
        expect(row.locator("td").nth(2)).not_to_be_empty()
    expect(page.locator("#health-problems tr[data-problem='notSubscribed'] td").nth(2)).to_contain_text(
        "No live presence subscription"
    )
    facts = page.get_by_role("region", name="Last hour")
    expect(facts).to_contain_text(f"Changes applied{health['lastHour']['changes']['applied']}")
    expect(facts).to_contain_text(f"Dead-lettered{health['lastHour']['deadLettered']}")
    expect(facts).to_contain_text("Sync delay p50 / p99")
    accounts = page.get_by_role("region", name="Subscriptions and sync accounts")
    expect(accounts).to_contain_text(f"Subscriptions active{health['subscriptions']['active']}")
    expect(accounts).to_contain_text("Sync accounts signed in0")
    shoot(page, "console-sync-health.png")
    # A change shows after Refresh: a second agent.
    graph.ok(
        "POST",
        f"/_sim/tenants/{tenant}/users",
        {
            "userPrincipalName": f"bo@{people['domain']}",
            "displayName": "Bo",
            "department": "x",
            "jobTitle": "y",
        },
    )
    add_agent(host, tenant, "agent-2", f"bo@{people['domain']}")
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#health-in-sync")).to_have_text(re.compile(r"^\d+ of 2 agents in sync$"))
    # Phone width: one column, no horizontal scrolling.
    page.set_viewport_size({"width": 375, "height": 800})
    expect(page.locator("#health-problems")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_agents_page_shows_groups_and_each_agents_sync_status_with_its_problems(
    page: Page, host: HostClient, graph: ControlApi
) -> None:
    people = new_tenant(graph)
    tenant = people["tenant"]
    api = f"/api/tenants/{tenant}"
    activate_connector(host, tenant)
    graph.ok(
        "POST",
        f"/_sim/tenants/{tenant}/users",
        {
            "userPrincipalName": f"eve@{people['domain']}",
            "displayName": HOSTILE,
            "department": "x",
            "jobTitle": "y",
        },
    )
    group = host.call("PUT", f"{api}/agent-groups/billing", {"displayName": HOSTILE, "presenceSync": True})
    assert group.status == 201, group.body
    sign_in(page, host, tenant, "Ada Admin")
    page.get_by_role("link", name="Agents").click()
    expect(page.locator("#sync-capacity")).to_be_visible()

    # Added into a group picked from the tenant's groups (default first).
    picker = page.get_by_label("Agent group", exact=True)
    expect(picker.locator("option")).to_have_count(2)
    expect(picker.locator("option").nth(0)).to_have_attribute("value", "default")
    page.get_by_label("Agent ID", exact=True).fill("agent-eve")
    page.get_by_label("Teams user").fill(f"eve@{people['domain']}")
    picker.select_option("billing")
    page.get_by_role("button", name="Add agent").click()
    expect(page.locator("#notice")).to_have_text("Agent agent-eve added.")
    roster = fetch(page, "GET", f"{api}/agents")["json"]["agents"]
    assert [(a["agentId"], a["groupId"]) for a in roster] == [("agent-eve", "billing")], roster
    row = page.locator("#agents-body tbody tr").filter(
        has=page.get_by_role("cell", name="agent-eve", exact=True)
    )
    # Hostile names are text: the group's and the user's display names as typed, nothing run.
    expect(row.locator("td").nth(1)).to_have_text(HOSTILE)
    expect(row.locator("td").nth(3)).to_have_text(f"{HOSTILE} (billing)")
    expect(page.get_by_role("columnheader", name="Group")).to_be_visible()

    # A default-group agent by import: agent ID, UPN and no group.
    page.get_by_label("One agent a line").fill(f"agent-arne, {people['agent']}")
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#notice")).to_contain_text("1 created")
    arne = page.locator("#agents-body tbody tr").filter(
        has=page.get_by_role("cell", name="agent-arne", exact=True)
    )
    expect(arne.locator("td").nth(3)).to_have_text("Default (default)")

    # Sync details: the agent's GET sync-status, problems with their sentences, by keyboard.
    status = fetch(page, "GET", f"{api}/agents/agent-eve/sync-status")["json"]
    assert status["problems"], status
    details = page.get_by_role("button", name="Sync details of agent agent-eve")
    details.focus()
    page.keyboard.press("Enter")
    expect(details).to_have_attribute("aria-expanded", "true")
    problems = page.get_by_role("list", name="Problems of agent agent-eve")
    expect(problems.get_by_role("listitem")).to_have_count(len(status["problems"]))
    for problem in status["problems"]:
        expect(problems.locator(f"li[data-problem='{problem['code']}']")).to_have_text(
            f"{problem['code']}: {problem['message']}"
        )
    expect(page.locator("#sync-details-agent-eve")).to_contain_text("Not in sync.")
    expect(page.locator("#sync-details-agent-eve")).to_contain_text("Subscription")
    page.keyboard.press("Enter")
    expect(details).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#sync-details-agent-eve")).to_have_count(0)

    assert page.evaluate("window.pwned") is None
    expect(page.locator("#agents-body img, #agents-body script")).to_have_count(0)
    page.set_viewport_size({"width": 375, "height": 800})
    details.click()
    expect(problems).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_sync_health_page_of_a_tenant_without_a_connector_says_so(
    page: Page, host: HostClient, graph: ControlApi
) -> None:
    people = new_tenant(graph)
    sign_in(page, host, people["tenant"], "Ada Admin")
    page.get_by_role("link", name="Sync health").click()
    expect(page.locator("#health-none")).to_have_text(
        "No connector is set up for this tenant yet: set it up on the Connector page."
    )
    expect(page.locator("#alert")).to_be_hidden()
