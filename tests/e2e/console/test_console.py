"""The admin console in a real browser on the local host: what an admin does, start to end, and who is
refused. The Graph simulator plays Microsoft's sign-in page (pick an account) and admin consent."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import HostClient, RunningHost
from tests.e2e.console.conftest import WAIT_MS
from tests.e2e.stack import ControlApi, activate_connector, contact_center_simulator

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


def new_tenant(graph: ControlApi) -> dict[str, str]:
    """A tenant with a Global Administrator, an agent (no role) and a sync account in the simulator."""
    tenant = str(uuid.uuid4())
    domain = f"t{tenant[:8]}.example"
    people = {
        "admin": ("Ada Admin", [GLOBAL_ADMINISTRATOR]),
        "agent": ("Arne Agent", []),
        "sync": ("Presence Sync", []),
    }
    users = {"tenant": tenant, "domain": domain}
    for alias, (name, roles) in people.items():
        graph.ok(
            "POST",
            f"/_sim/tenants/{tenant}/users",
            {
                "userPrincipalName": f"{alias}@{domain}",
                "displayName": name,
                "department": "Support",
                "jobTitle": "Agent",
                "directoryRoles": roles,
            },
        )
        users[alias] = f"{alias}@{domain}"
    return users


def sign_in(page: Page, host: HostClient, tenant: str, name: str, *, directory: bool = False) -> None:
    page.goto(f"{host.base_url}/api/console/?tenant={tenant}")
    expect(page.get_by_label("Tenant ID")).to_have_value(tenant)
    if directory:
        page.get_by_label("The expert directory").check()
    page.get_by_role("button", name="Sign in with Microsoft").click()
    # The simulator's sign-in page: pick the account.
    page.get_by_role("link", name=re.compile(re.escape(name))).click()
    expect(page.locator("#who-name")).to_have_text(name)


def fetch(page: Page, method: str, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A call from the page's own origin with its cookie, as a script on the page would make it."""
    result: dict[str, Any] = page.evaluate(
        """async ([method, path, headers]) => {
            const r = await fetch(path, {method, headers, credentials: "same-origin"});
            return {status: r.status, body: await r.text()};
        }""",
        [method, path, headers or {}],
    )
    result["json"] = json.loads(result["body"]) if result["body"] else None
    return result


def status(page: Page) -> Any:
    return expect(page.locator("#connector-card .status"))


def shoot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=False)


def open_popup_and_wait(page: Page, link_name: str) -> None:
    """Follow a link that opens in a new window (Microsoft's consent or sign-in page) to its end."""
    with page.context.expect_page() as opened:
        page.get_by_role("link", name=link_name).click()
    popup = opened.value
    popup.wait_for_load_state("load")
    expect(popup.locator("h1")).to_be_visible()
    body = popup.locator("body").inner_text()
    popup.close()
    assert "error" not in body.lower() or "no error" in body.lower(), body


def test_an_admin_runs_the_connector_lifecycle_in_the_console(
    page: Page, host: HostClient, graph: ControlApi
) -> None:
    people = new_tenant(graph)
    tenant = people["tenant"]
    api = f"/api/tenants/{tenant}"
    sign_in(page, host, tenant, "Ada Admin")

    # Set up: no connector yet, a webhook contact center, both settings on.
    status(page).to_have_text("Status: not set up")
    page.get_by_label("Webhook URL").fill("https://cc.example.com/hook")
    page.get_by_label("Webhook secret").fill("s" * 32)
    page.get_by_role("button", name="Set up").click()
    status(page).to_have_text("Status: Pending consent")

    # Authorize: Microsoft's admin consent page opens in a new window and sends the admin back.
    page.get_by_role("button", name="Authorize").click()
    open_popup_and_wait(page, "Open Microsoft's admin consent page")
    page.get_by_role("button", name="Check status").click()
    status(page).to_have_text("Status: Active")
    shoot(page, "console-connector.png")

    # Both toggles, each saved with the connector's ETag.
    page.get_by_role("switch", name="Show user details").uncheck()
    expect(page.locator("#notice")).to_have_text("Show user details off.")
    expect(page.get_by_role("switch", name="Show user details")).not_to_be_checked()
    page.get_by_role("switch", name="Presence sync").uncheck()
    expect(page.locator("#notice")).to_have_text("Presence sync off.")
    expect(page.get_by_role("switch", name="Presence sync")).not_to_be_checked()
    connector = fetch(page, "GET", f"{api}/connector")["json"]
    assert connector["settings"] == {"showUserDetails": False, "presenceSync": False}

    # A conflict: someone else edits meanwhile; the save says so and the page shows the new state.
    changed = host.call("PATCH", f"{api}/connector", {"settings": {"presenceSync": True}})
    assert changed.status == 200, changed.body
    # One click, not check(): the refused save re-renders the switch unchecked, and check() would click
    # the new one again, saving with the fresh ETag (seen under load).
    page.get_by_role("switch", name="Show user details").click()
    expect(page.locator("#alert")).to_contain_text("Someone else changed the connector")
    expect(page.get_by_role("switch", name="Presence sync")).to_be_checked()
    expect(page.get_by_role("switch", name="Show user details")).not_to_be_checked()

    # A mapping: the first Teams presence goes to another idle code.
    page.get_by_role("link", name="Presence mappings").click()
    first_code = page.get_by_label("Idle code ID").first
    first_code.fill("lunch-break")
    page.get_by_role("button", name="Save mappings").click()
    expect(page.locator("#notice")).to_have_text("Presence mappings saved.")
    mappings = fetch(page, "GET", f"{api}/presence-mappings")["json"]
    assert mappings["teamsToContactCenter"][0]["idleCodeId"] == "lunch-break"
    shoot(page, "console-mappings.png")

    # A validation error is shown on the row it concerns, and nothing is saved.
    page.get_by_role("button", name="Add a Teams presence").click()
    page.get_by_role("button", name="Save mappings").click()
    error_row = page.locator("tr.row-error")
    expect(error_row).to_contain_text("teamsToContactCenter[")
    rows = len(mappings["teamsToContactCenter"])
    expect(page.locator("tr[aria-invalid='true']")).to_have_count(1)
    assert len(fetch(page, "GET", f"{api}/presence-mappings")["json"]["teamsToContactCenter"]) == rows

    # A sync account signs in (Microsoft's page in a new window), then shows with its capacity.
    page.get_by_role("link", name="Agents").click()
    page.get_by_label("Sync account", exact=True).fill(people["sync"])
    page.get_by_role("button", name="Sign in a sync account").click()
    open_popup_and_wait(page, "Open Microsoft's sign-in page")
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#sync-capacity")).to_have_text("0 agents need 0 sync accounts; 1 signed in")
    expect(page.get_by_role("cell", name=people["sync"], exact=True)).to_be_visible()

    # An agent, added by user principal name, shows on the roster; then removed.
    page.get_by_label("Agent ID", exact=True).fill("agent-7")
    page.get_by_label("Teams user").fill(people["agent"])
    page.get_by_role("button", name="Add agent").click()
    expect(page.locator("#notice")).to_have_text("Agent agent-7 added.")
    expect(page.get_by_role("cell", name="agent-7", exact=True)).to_be_visible()
    expect(page.locator("#sync-capacity")).to_have_text("1 agent needs 1 sync account; 1 signed in")
    shoot(page, "console-agents.png")
    page.get_by_role("button", name="Remove agent agent-7").click()
    expect(page.locator("#notice")).to_have_text("Agent agent-7 removed.")
    expect(page.get_by_role("cell", name="agent-7", exact=True)).to_have_count(0)

    # An import: one agent a line; a user the directory does not know is reported, the rest imported.
    page.get_by_label("One agent a line: agent ID, user principal name").fill(
        f"agent-8, {people['agent']}\nagent-9, nobody@{people['domain']}"
    )
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#notice")).to_contain_text("1 created")
    expect(page.locator("#alert")).to_contain_text("agent-9")
    expect(page.get_by_role("cell", name="agent-8", exact=True)).to_be_visible()
    page.get_by_role("button", name="Remove agent agent-8").click()
    expect(page.get_by_role("cell", name="agent-8", exact=True)).to_have_count(0)

    # Deactivate, reactivate, deactivate, delete; the enterprise-application reminder with `az`.
    page.get_by_role("link", name="Connector").click()
    page.get_by_role("button", name="Deactivate").click()
    status(page).to_have_text("Status: Inactive")
    page.get_by_role("button", name="Reactivate").click()
    status(page).to_have_text("Status: Active")
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    page.get_by_role("button", name="Deactivate").click()
    status(page).to_have_text("Status: Inactive")
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Yes, delete").click()
    steps = page.get_by_role("region", name="Remove the enterprise application")
    expect(steps).to_contain_text("az ad sp delete --id")
    status(page).to_have_text("Status: not set up")

    # The audit trail shows the admin's actions, under his name.
    page.get_by_role("link", name="Audit trail").click()
    expect(page.locator("#audit-body")).to_contain_text("delete")
    expect(page.locator("#audit-body")).to_contain_text(people["admin"])


def test_a_state_changing_call_without_the_csrf_token_is_refused(
    page: Page, host: HostClient, graph: ControlApi
) -> None:
    people = new_tenant(graph)
    tenant = people["tenant"]
    sign_in(page, host, tenant, "Ada Admin")
    status(page).to_have_text("Status: not set up")
    refused = fetch(page, "POST", f"/api/tenants/{tenant}/connector")
    assert refused["status"] == 403
    assert refused["json"]["error"]["code"] == "csrfTokenInvalid"
    forged = fetch(page, "POST", f"/api/tenants/{tenant}/connector", {"x-csrf-token": "forged"})
    assert forged["json"]["error"]["code"] == "csrfTokenInvalid"
    # Reading needs no token; nothing was created by the refused calls.
    assert fetch(page, "GET", f"/api/tenants/{tenant}/connector")["status"] == 404


def test_the_session_cookie_is_http_only_and_same_site(
    page: Page, host: HostClient, graph: ControlApi
) -> None:
    people = new_tenant(graph)
    sign_in(page, host, people["tenant"], "Ada Admin")
    cookies = [c for c in page.context.cookies() if c["name"] == "connector-console"]
    assert len(cookies) == 1
    cookie = cookies[0]
    # Loopback over http: not Secure (the deployed app's cookie is __Host-, Secure, SameSite=None).
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Lax", "/")
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("Object.keys(localStorage).length + Object.keys(sessionStorage).length") == 0


def test_a_non_admin_sees_no_admin_page_and_the_api_refuses_him(
    page: Page, host: HostClient, graph: ControlApi
) -> None:
    people = new_tenant(graph)
    tenant = people["tenant"]
    sign_in(page, host, tenant, "Arne Agent")
    # An agent lands on the directory; the admin pages are not offered, and refused when opened.
    expect(page.get_by_role("link", name="Expert directory")).to_be_visible()
    expect(page.get_by_role("link", name="Connector")).to_be_hidden()
    page.goto(f"{host.base_url}/api/console/#/connector")
    expect(page.locator("#forbidden-text")).to_contain_text("is not an administrator of this tenant")
    refused = fetch(page, "GET", f"/api/tenants/{tenant}/connector")
    assert refused["status"] == 403
    assert refused["json"]["error"]["code"] == "adminRoleRequired"


def test_a_holder_of_the_connector_admin_app_role_manages_the_connector(
    page: Page, host: HostClient, graph: ControlApi
) -> None:
    people = new_tenant(graph)
    tenant = people["tenant"]
    graph.ok(
        "POST",
        f"/_sim/tenants/{tenant}/users",
        {
            "userPrincipalName": f"delegate@{people['domain']}",
            "displayName": "Dana Delegate",
            "appRoles": ["Connector.Admin"],
        },
    )
    sign_in(page, host, tenant, "Dana Delegate")
    status(page).to_have_text("Status: not set up")
    expect(page.get_by_role("link", name="Audit trail")).to_be_visible()


def test_an_admin_of_another_tenant_is_refused(page: Page, host: HostClient, graph: ControlApi) -> None:
    ours, theirs = new_tenant(graph), new_tenant(graph)
    sign_in(page, host, theirs["tenant"], "Ada Admin")
    refused = fetch(page, "GET", f"/api/tenants/{ours['tenant']}/connector")
    assert refused["status"] == 403
    assert refused["json"]["error"]["code"] == "tenantMismatch"


def test_signing_in_to_a_tenant_with_an_account_of_another_is_refused(
    page: Page, host: HostClient, graph: ControlApi
) -> None:
    ours, theirs = new_tenant(graph), new_tenant(graph)
    page.goto(f"{host.base_url}/api/console/sign-in?tenant={ours['tenant']}&page=admin")
    # The sign-in page lists our tenant's accounts only; a hint of the other tenant's admin is refused.
    expect(page.get_by_role("link", name=re.compile("Ada Admin"))).to_be_visible()
    query = page.url.split("?", 1)[1]
    page.goto(f"{page.url.split('?', 1)[0]}?{query.replace('prompt=login', 'login_hint=' + theirs['admin'])}")
    expect(page.locator("body")).to_contain_text("Sign-in failed")
    expect(page.locator("body")).to_contain_text("does not exist in the")
    page.goto(f"{host.base_url}/api/console/")
    expect(page.get_by_role("button", name="Sign in with Microsoft")).to_be_visible()
    assert fetch(page, "GET", "/api/console/session")["status"] == 401


def test_sign_out_ends_the_session(page: Page, host: HostClient, graph: ControlApi) -> None:
    people = new_tenant(graph)
    sign_in(page, host, people["tenant"], "Ada Admin")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#notice")).to_have_text("You are signed out.")
    expect(page.get_by_role("button", name="Sign in with Microsoft")).to_be_visible()
    assert fetch(page, "GET", "/api/console/session")["status"] == 401
    assert fetch(page, "GET", f"/api/tenants/{people['tenant']}/connector")["status"] == 401


def test_the_console_is_usable_at_phone_width(
    context: BrowserContext, host: HostClient, graph: ControlApi
) -> None:
    page = context.new_page()
    page.set_viewport_size({"width": 375, "height": 800})
    people = new_tenant(graph)
    sign_in(page, host, people["tenant"], "Ada Admin")
    status(page).to_have_text("Status: not set up")
    # Nothing is wider than the screen: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # Keyboard only: the skip link, then the navigation.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_the_page_carries_a_strict_content_security_policy(host: HostClient) -> None:
    reply = host.call("GET", "/api/console")
    headers = {name.lower(): value for name, value in reply.headers.items()}
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "unsafe-eval" not in policy
    assert headers["x-content-type-options"] == "nosniff"


def directory_route_registered() -> bool:
    """The expert-directory API ships as its own blueprint (shared/triggers/directory_api.py)."""
    return importlib.util.find_spec("shared.triggers.directory_api") is not None


@pytest.mark.skipif(
    not directory_route_registered(),
    reason="the expert-directory API (GET directory/users) is not in this build",
)
def test_an_agent_searches_the_expert_directory(
    context: BrowserContext, host: HostClient, graph: ControlApi
) -> None:
    people = new_tenant(graph)
    tenant = people["tenant"]
    graph.ok(
        "POST",
        f"/_sim/tenants/{tenant}/users",
        {
            "userPrincipalName": f"zoe.okeefe@{people['domain']}",
            "displayName": "Zoë O'Keefe",
            "department": "Billing",
            "jobTitle": "Billing Expert",
            "businessPhones": ["+1 (425) 555-0100"],
            "presence": {"availability": "Available", "activity": "Available"},
        },
    )
    activate_connector(host, tenant)
    shown = host.call("PATCH", f"/api/tenants/{tenant}/connector", {"settings": {"showUserDetails": True}})
    assert shown.status == 200, shown.body
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=host.base_url)
    page = context.new_page()
    sign_in(page, host, tenant, "Arne Agent", directory=True)
    expect(page.get_by_role("search", name="Find an expert")).to_be_visible()
    page.get_by_label("Department").fill("Bill")
    page.get_by_role("button", name="Search").click()
    expert = page.get_by_role("listitem").filter(has_text="Zoë O'Keefe")
    expect(expert).to_contain_text("Billing Expert")
    expect(expert).to_contain_text("+14255550100")
    expect(expert.get_by_role("img", name=re.compile("Available"))).to_be_visible()
    expect(expert.get_by_role("link", name="Transfer to Zoë O'Keefe")).to_have_attribute(
        "href", "tel:+14255550100"
    )
    expert.get_by_role("button", name="Copy Zoë O'Keefe's number").click()
    expect(expert.get_by_role("button", name="Copy Zoë O'Keefe's number")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "+14255550100"
    # A name that matches nobody says so.
    page.get_by_label("Department").fill("")
    page.get_by_label("Name").fill("Nobody-by-this-name")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#directory-results")).to_contain_text("Nobody matches.")


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll("input, select, textarea, button")]
    .filter((el) => el.offsetParent !== null)
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
        && !(el.tagName === "BUTTON" && el.textContent.trim()))
    .map((el) => el.outerHTML.slice(0, 120))"""


def test_every_page_is_labelled_and_works_by_keyboard(
    page: Page, host: HostClient, graph: ControlApi
) -> None:
    people = new_tenant(graph)
    tenant = people["tenant"]
    activate_connector(host, tenant)
    # Keyboard only: the tenant field, the page choice, the sign-in button, the account on Microsoft's page.
    page.goto(f"{host.base_url}/api/console/?tenant={tenant}")
    expect(page.get_by_label("Tenant ID")).to_have_value(tenant)
    page.get_by_label("Tenant ID").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("The admin console")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in with Microsoft")).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_role("link", name=re.compile("Ada Admin")).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#who-name")).to_have_text("Ada Admin")
    status(page).to_have_text("Status: Active")
    switch = page.get_by_role("switch", name="Presence sync")
    switch.focus()
    page.keyboard.press("Space")
    expect(page.locator("#notice")).to_have_text("Presence sync off.")
    for link, ready in (
        ("Connector", "#connector-card .status"),
        ("Presence mappings", "#mappings-body table"),
        ("Agents", "#sync-capacity"),
        ("Sync health", "#health-in-sync"),
        ("Audit trail", "#audit-body table"),
    ):
        page.get_by_role("link", name=link, exact=True).click()
        expect(page.locator(ready).first).to_be_visible()
        expect(page.get_by_role("link", name=link, exact=True)).to_have_attribute("aria-current", "page")
        expect(page.locator("main h1:visible")).to_have_count(1)
        assert page.evaluate(UNLABELLED_CONTROLS) == [], link


def test_another_site_cannot_frame_the_console(browser: Browser, host: HostClient) -> None:
    # Clickjacking: only the console itself and the Teams clients may show it in a frame.
    context = browser.new_context()
    try:
        page = context.new_page()
        with page.expect_console_message(lambda message: "frame-ancestors" in message.text) as refused:
            page.set_content(f'<iframe title="console" src="{host.base_url}/api/console/"></iframe>')
        assert "The request has been blocked" in refused.value.text
        framed = page.frame_locator("iframe").get_by_role("button", name="Sign in with Microsoft")
        expect(framed).to_have_count(0)
    finally:
        context.close()


def test_a_webex_contact_center_is_set_up_with_what_the_api_takes(
    page: Page, host: HostClient, graph: ControlApi, local_host: RunningHost
) -> None:
    # The console reads the deployment's OpenAPI document: it asks for the Webex fields the API takes.
    webex_input = host.call("GET", "/api/openapi.json", auth=False).json()["components"]["schemas"][
        "WebexContactCenterInput"
    ]["properties"]
    webex_url = contact_center_simulator(local_host).base_url
    people = new_tenant(graph)
    tenant = people["tenant"]
    sign_in(page, host, tenant, "Ada Admin")
    status(page).to_have_text("Status: not set up")
    page.get_by_label("Contact center", exact=True).select_option("webexcc")
    expect(page.get_by_label("Webhook URL")).to_be_hidden()
    page.get_by_label("Organization ID").fill("7b0d0e8c-1a2b-4c3d-8e9f-0a1b2c3d4e5f")
    page.get_by_label("API base URL").fill(webex_url)
    client_id = page.get_by_label("Integration client ID")
    if "clientId" in webex_input:
        client_id.fill("integration-client")
        page.get_by_label("Integration client secret").fill("integration-secret-0123456789")
    else:
        expect(client_id).to_have_count(0)
    page.get_by_role("button", name="Set up").click()
    status(page).to_have_text("Status: Pending consent")
    stored = fetch(page, "GET", f"/api/tenants/{tenant}/connector")["json"]["contactCenter"]
    document = host.call("GET", "/api/openapi.json", auth=False).json()
    if "/tenants/{tenantId}/contact-center/webex/authorize" in document["paths"]:
        expect(page.get_by_role("button", name="Connect Webex Contact Center")).to_be_visible()
        expect(page.locator("#webex-status")).to_contain_text("Webex: Not connected yet")
    assert (stored["type"], stored["orgId"], stored["baseUrl"]) == (
        "webexcc",
        "7b0d0e8c-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
        webex_url,
    )
