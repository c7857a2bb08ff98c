"""The simulated tenant `make dev` brings up: a consented connector with five agents, a signed-in sync
account and a presence subscription, set up the way an admin would, through public HTTP APIs only: the
demo tenant's Global Administrator gets an access token from the Graph simulator's identity platform
(`POST /_sim/token`) and sends it on every admin call, like `az account get-access-token` in Azure.

The connector's data lives in Azurite (persisted in .azurite/ by default) while both simulators keep
theirs in memory. A second run therefore finds the connector, agents and sync account already stored
but a Graph simulator that knows nothing: the users are created again with the same object ids, the
admin consent is granted again in the simulated tenant, the sync account signs in again because the
simulator forgot every token it issued, and the connector is deactivated and reactivated so that it
replaces the stored subscriptions the new simulator never had.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Final, TypeVar
from urllib.parse import parse_qs, quote, urlencode, urlsplit

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEMO_TENANT_ID: Final = "dec0de00-0000-4000-8000-000000000001"
DEMO_TENANT_NAME: Final = "Contoso (demo)"
DEMO_DOMAIN: Final = "contoso-demo.example"
# The webhook contact center's shared secret for the demo tenant only; the simulator signs with it too.
DEMO_WEBHOOK_SECRET: Final = "DEV-ONLY-demo-webhook-secret-not-a-secret"  # noqa: S105
GRAPH_DEFAULT_SCOPE: Final = "https://graph.microsoft.com/.default"
# The admin's token outlives a working day on the local stack (Entra's live about an hour).
ADMIN_TOKEN_SECONDS: Final = 12 * 3600
DEFAULT_TIMEOUT_SECONDS: Final = 60.0
_POLL_SECONDS: Final = 0.2
_BODY_EXCERPT: Final = 300


# The Teams client the demo users are signed in to (the Graph simulator's client session id).
DEMO_TEAMS_CLIENT: Final = "teams-desktop"


class DemoTenantError(RuntimeError):
    """The demo tenant could not be set up; the message names the request that failed."""


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    user_principal_name: str
    display_name: str
    department: str
    job_title: str
    phone: str

    def as_simulator_user(self) -> dict[str, Any]:
        """The Graph simulator's control API body; the fixed id survives a simulator restart. The user
        is signed in to Teams on his desktop, which shows him Available (a Teams client session)."""
        return {
            "id": self.user_id,
            "userPrincipalName": self.user_principal_name,
            "displayName": self.display_name,
            "department": self.department,
            "jobTitle": self.job_title,
            "businessPhones": [self.phone],
            "presence": {"availability": "Available", "activity": "Available", "clientId": DEMO_TEAMS_CLIENT},
        }


@dataclass(frozen=True)
class DemoAgent:
    agent_id: str
    user: DemoUser


@dataclass(frozen=True)
class DemoTenant:
    tenant_id: str
    agents: tuple[DemoAgent, ...]
    sync_account: DemoUser
    subscription_ids: tuple[str, ...]
    host_url: str
    graph_url: str
    contact_center_url: str
    # The demo admin's access token for the connector's API (what `make dev` prints as TOKEN).
    admin_token: str = field(default="", repr=False)

    def agent_for_user(self, user_id: str) -> DemoAgent | None:
        return next((a for a in self.agents if a.user.user_id == user_id.lower()), None)


def _user(number: int, alias: str, name: str, department: str, job_title: str) -> DemoUser:
    return DemoUser(
        user_id=f"dec0de00-0000-4000-8000-{number:012d}",
        user_principal_name=f"{alias}@{DEMO_DOMAIN}",
        display_name=name,
        department=department,
        job_title=job_title,
        phone=f"+1425555{number:04d}",
    )


DEMO_AGENTS: Final = (
    DemoAgent("agent-001", _user(101, "ann.lee", "Ann Lee", "Customer Support", "Support Agent")),
    DemoAgent("agent-002", _user(102, "bob.chen", "Bob Chen", "Customer Support", "Senior Support Agent")),
    DemoAgent("agent-003", _user(103, "carla.diaz", "Carla Diaz", "Sales", "Inside Sales Representative")),
    DemoAgent("agent-004", _user(104, "david.okafor", "David Okafor", "Billing", "Billing Specialist")),
    DemoAgent("agent-005", _user(105, "eva.novak", "Eva Novak", "Customer Support", "Team Lead")),
)
DEMO_SYNC_ACCOUNT: Final = _user(900, "presence-sync", "Presence Sync", "IT", "Service account")
# The tenant's Global Administrator who sets the connector up.
DEMO_ADMIN: Final = _user(800, "admin", "Megan Admin", "IT", "Global Administrator")


def _expert(
    number: int, alias: str, name: str, department: str, job_title: str, **extra: Any
) -> dict[str, Any]:
    return {
        "id": f"dec0de00-0000-4000-8000-{number:012d}",
        "userPrincipalName": f"{alias}@{DEMO_DOMAIN}",
        "displayName": name,
        "department": department,
        "jobTitle": job_title,
        "businessPhones": [],
        "presence": {"availability": "Available", "activity": "Available", "clientId": DEMO_TEAMS_CLIENT},
        **extra,
    }


# Subject-matter experts (no agents) the expert directory finds, in two departments, with what real
# directories hold: accents and apostrophes, a local-format number, no phone, out of office, disabled.
DEMO_EXPERTS: Final = (
    _expert(
        201,
        "noor.hassan",
        "Noor Al-Hassan",
        "Technical Support",
        "Network Specialist",
        businessPhones=["+1 425 555 0201"],
        statusMessage="Ask me about VPN and Wi-Fi",
    ),
    _expert(
        202,
        "sean.obrien",
        "Seán O'Brien",
        "Technical Support",
        "Escalation Engineer",
        businessPhones=["(425) 555-0202"],
        presence={"availability": "Busy", "activity": "InACall", "clientId": DEMO_TEAMS_CLIENT},
    ),
    _expert(
        203,
        "chloe.martin",
        "Chloé Martin",
        "Billing",
        "Billing Expert",
        businessPhones=["+44 20 7946 0203"],
        outOfOffice=True,
        outOfOfficeMessage="Back on Monday",
    ),
    _expert(204, "raj.patel", "Raj Patel", "Billing", "Refunds Specialist"),
    _expert(
        205,
        "old.account",
        "Olga Former",
        "Billing",
        "Billing Expert",
        businessPhones=["+1 425 555 0205"],
        accountEnabled=False,
    ),
)


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def excerpt(self) -> str:
        return self.body[:_BODY_EXCERPT].decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class JsonHttp:
    """JSON over loopback HTTP, like a browser that shows redirects instead of following them.

    4xx/5xx are answers, not exceptions; a connection failure raises DemoTenantError. Proxies from the
    environment are ignored: every address here is local."""

    def __init__(self, timeout: float = 30.0) -> None:
        self._timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def call(
        self, method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> HttpReply:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={"content-type": "application/json", "accept": "application/json", **(headers or {})},
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return HttpReply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return HttpReply(error.code, error.headers, error.read())
        except (urllib.error.URLError, OSError) as error:
            raise DemoTenantError(f"{method} {_without_query(url)} failed: {error}") from error

    def expect(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        ok: Sequence[int] = (200, 201, 202, 204),
        headers: Mapping[str, str] | None = None,
    ) -> HttpReply:
        reply = self.call(method, url, body, headers)
        if reply.status not in ok:
            raise DemoTenantError(
                f"{method} {_without_query(url)} answered {reply.status}: {reply.excerpt()}"
            )
        return reply

    def redirect_location(self, url: str) -> str:
        """Open `url` like a browser and return where it redirects to (a 302 or 303 is required)."""
        reply = self.call("GET", url, headers={"accept": "text/html"})
        location = reply.headers.get("Location")
        if reply.status not in (302, 303) or not location:
            raise DemoTenantError(
                f"GET {_without_query(url)} should redirect but answered {reply.status}: {reply.excerpt()}"
            )
        return str(location)


def _without_query(url: str) -> str:
    # Consent and sign-in links carry signed state; logs and errors only need where the call went.
    return url.split("?", 1)[0]


def wait_until(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoTenantError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(_POLL_SECONDS)


def desired_contact_center(cc_url: str) -> dict[str, str]:
    return {"type": "webhook", "url": f"{cc_url.rstrip('/')}/webhook", "secret": DEMO_WEBHOOK_SECRET}


class _DemoSeeder:
    def __init__(self, host_url: str, graph_url: str, cc_url: str, http: JsonHttp, timeout: float) -> None:
        self.host = host_url.rstrip("/")
        self.graph = graph_url.rstrip("/")
        self.cc = cc_url.rstrip("/")
        self.http = http
        self.timeout = timeout
        self.tenant = DEMO_TENANT_ID
        self.connector_url = f"{self.host}/api/tenants/{self.tenant}/connector"
        self.admin_token = ""

    def admin(
        self, method: str, url: str, body: Any = None, *, ok: Sequence[int] = (200, 201, 202, 204)
    ) -> HttpReply:
        """A call to the connector's admin API, as the demo tenant's Global Administrator."""
        return self.http.expect(method, url, body, ok=ok, headers=self._bearer())

    def admin_call(self, method: str, url: str, body: Any = None) -> HttpReply:
        return self.http.call(method, url, body, self._bearer())

    def _bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.admin_token}"}

    def sign_in_admin(self) -> None:
        """The admin's access token for the connector's API, from the simulated identity platform."""
        issued = self.http.expect(
            "POST",
            f"{self.graph}/_sim/token",
            {
                "tenantId": self.tenant,
                "upn": DEMO_ADMIN.user_principal_name,
                "expiresInSeconds": ADMIN_TOKEN_SECONDS,
            },
        ).json()
        self.admin_token = str(issued["access_token"])

    def run(self) -> DemoTenant:
        self.create_graph_users()
        self.sign_in_admin()
        consented_now = self.ensure_active_connector()
        self.open_expert_directory()
        pending_authorize_url: str | None = None
        graph_restarted = not consented_now and not self.simulator_has_consent()
        if graph_restarted:
            # Only the simulated tenant forgot the consent (it restarted; the connector is stored in
            # Azurite). The sign-in link names our app id, and a fresh simulator needs a sign-in anyway.
            pending_authorize_url = self.start_sign_in()
            self.grant_consent_in_simulator(_query_value(pending_authorize_url, "client_id"))
        self.put_agents()
        self.register_contact_center_tenant()
        self.make_agents_available()
        if pending_authorize_url is not None or self.sync_account_needs_sign_in():
            self.complete_sign_in(pending_authorize_url or self.start_sign_in())
        if graph_restarted:
            # The stored subscriptions name ones the restarted simulator never had; the connector would
            # only notice at their renewal.
            self.resubscribe()
        subscription_ids = self.wait_for_subscription()
        return DemoTenant(
            tenant_id=self.tenant,
            agents=DEMO_AGENTS,
            sync_account=DEMO_SYNC_ACCOUNT,
            subscription_ids=subscription_ids,
            host_url=self.host,
            graph_url=self.graph,
            contact_center_url=self.cc,
            admin_token=self.admin_token,
        )

    # Graph simulator: the tenant's directory ---------------------------------------------------

    def create_graph_users(self) -> None:
        self.http.expect(
            "POST",
            f"{self.graph}/_sim/tenants/{self.tenant}",
            {"displayName": DEMO_TENANT_NAME, "domains": [DEMO_DOMAIN]},
        )
        people = [
            u.as_simulator_user() for u in (*(a.user for a in DEMO_AGENTS), DEMO_SYNC_ACCOUNT, DEMO_ADMIN)
        ]
        for user in (*people, *DEMO_EXPERTS):
            users_url = f"{self.graph}/_sim/tenants/{self.tenant}/users"
            reply = self.http.call("POST", users_url, user)
            if reply.status == 201:
                continue
            existing = self.http.call("GET", f"{users_url}/{user['id']}")
            if reply.status != 409 or existing.status != 200:
                raise DemoTenantError(
                    f"cannot create the demo user {user['userPrincipalName']} in the Graph simulator: "
                    f"{reply.status} {reply.excerpt()}"
                )
        logger.info(
            "demo tenant %s: %s users in the Graph simulator", self.tenant, len(people) + len(DEMO_EXPERTS)
        )

    def simulator_has_consent(self) -> bool:
        tenant = self.http.expect("GET", f"{self.graph}/_sim/tenants/{self.tenant}").json()
        return bool(tenant.get("consents"))

    def grant_consent_in_simulator(self, client_id: str) -> None:
        query = urlencode(
            {
                "client_id": client_id,
                "scope": GRAPH_DEFAULT_SCOPE,
                "redirect_uri": f"{self.host}/api/consent/callback",
                "state": "demo-tenant-restart",
            },
            quote_via=quote,
        )
        location = self.http.redirect_location(f"{self.graph}/{self.tenant}/v2.0/adminconsent?{query}")
        if _query_value(location, "admin_consent").lower() != "true":
            raise DemoTenantError(
                f"the Graph simulator refused the admin consent: {_without_query(location)}"
            )
        logger.info(
            "demo tenant %s: admin consent granted again in the restarted Graph simulator", self.tenant
        )

    # The connector -----------------------------------------------------------------------------

    def ensure_active_connector(self) -> bool:
        """Bring the connector to `active` from whatever state it is stored in; True if consent was given."""
        current = self.admin_call("GET", self.connector_url)
        if current.status == 404:
            return self.create_connector()
        if current.status != 200:
            raise DemoTenantError(f"GET {self.connector_url} answered {current.status}: {current.excerpt()}")
        connector = current.json()
        status = connector["status"]
        if status == "deleting":
            # A deletion stopped half-way; finishing it is the only way forward.
            self.admin("DELETE", self.connector_url)
            return self.create_connector()
        consented = False
        if status == "pendingConsent":
            consent = self.admin("POST", f"{self.connector_url}/consent").json()
            self.follow_consent(consent["consentUrl"])
            consented = True
        elif status == "inactive":
            self.admin("POST", f"{self.connector_url}/reactivate")
            logger.info("demo tenant %s: connector reactivated", self.tenant)
        self.ensure_contact_center(connector.get("contactCenter"))
        return consented

    def open_expert_directory(self) -> None:
        """ "Show user details" on, so agents can search the demo experts (GET .../directory/users)."""
        connector = self.admin("GET", self.connector_url).json()
        if not connector["settings"]["showUserDetails"]:
            self.admin("PATCH", self.connector_url, {"settings": {"showUserDetails": True}})
            logger.info("demo tenant %s: showUserDetails on (expert directory open)", self.tenant)

    def create_connector(self) -> bool:
        created = self.admin(
            "POST", self.connector_url, {"contactCenter": desired_contact_center(self.cc)}, ok=(201,)
        )
        self.follow_consent(created.json()["consentUrl"])
        logger.info("demo tenant %s: connector created and consented", self.tenant)
        return True

    def follow_consent(self, consent_url: str) -> None:
        callback = self.http.redirect_location(consent_url)
        self.http.expect("GET", callback)
        status = self.admin("GET", self.connector_url).json()["status"]
        if status != "active":
            raise DemoTenantError(f"the connector is {status} after the admin consent, not active")

    def ensure_contact_center(self, stored: Any) -> None:
        """The contact-center simulator may listen on another port than last time."""
        wanted = desired_contact_center(self.cc)
        if (
            isinstance(stored, dict)
            and stored.get("type") == wanted["type"]
            and stored.get("url") == wanted["url"]
        ):
            return
        self.admin("PATCH", self.connector_url, {"contactCenter": wanted})
        logger.info("demo tenant %s: contact center pointed at %s", self.tenant, wanted["url"])

    def resubscribe(self) -> None:
        """What an admin does to make the connector subscribe again at once: off and on."""
        self.admin("POST", f"{self.connector_url}/deactivate")
        self.admin("POST", f"{self.connector_url}/reactivate")
        logger.info("demo tenant %s: connector deactivated and reactivated to subscribe again", self.tenant)

    def put_agents(self) -> None:
        for agent in DEMO_AGENTS:
            self.admin(
                "PUT",
                f"{self.host}/api/tenants/{self.tenant}/agents/{agent.agent_id}",
                {"userId": agent.user.user_id},
                ok=(200, 201),
            )

    # The contact-center simulator --------------------------------------------------------------

    def register_contact_center_tenant(self) -> None:
        self.http.expect(
            "POST",
            f"{self.cc}/_sim/tenants/{self.tenant}",
            {
                "connectorUrl": f"{self.host}/api/tenants/{self.tenant}/contact-center/events",
                "secret": DEMO_WEBHOOK_SECRET,
                "agentIds": [agent.agent_id for agent in DEMO_AGENTS],
            },
            ok=(200, 201),
        )

    def make_agents_available(self) -> None:
        """Every agent makes himself available, so the connector learns his state from the event (it
        puts an agent in an idle code only while it knows him available)."""
        event_ids: set[str] = set()
        for agent in DEMO_AGENTS:
            changed = self.http.expect(
                "POST", f"{self.cc}/_sim/agents/{agent.agent_id}/state", {"state": "available"}
            ).json()
            if changed["delivery"] != "queued":
                raise DemoTenantError(
                    f"the contact-center simulator cannot send agent events: {changed['delivery']}"
                )
            event_ids.add(str(changed["event"]["eventId"]))
        wait_until(
            "the connector to take the agents' events", lambda: self.events_taken(event_ids), self.timeout
        )

    def events_taken(self, event_ids: set[str]) -> bool:
        deliveries = self.http.expect("GET", f"{self.cc}/_sim/deliveries").json()["deliveries"]
        taken = {d["eventId"] for d in deliveries if d["status"] is not None and 200 <= d["status"] < 300}
        return event_ids <= taken

    # The sync account and its subscription -----------------------------------------------------

    def sync_account_needs_sign_in(self) -> bool:
        listing = self.admin("GET", f"{self.host}/api/tenants/{self.tenant}/sync-accounts").json()
        healthy = any(
            account["id"] == DEMO_SYNC_ACCOUNT.user_id and account["status"] == "healthy"
            for account in listing["syncAccounts"]
        )
        return not (healthy and self.covering_subscriptions())

    def start_sign_in(self) -> str:
        started = self.admin(
            "POST",
            f"{self.host}/api/tenants/{self.tenant}/sync-accounts",
            {"loginHint": DEMO_SYNC_ACCOUNT.user_principal_name},
            ok=(201,),
        )
        return str(started.json()["authorizeUrl"])

    def complete_sign_in(self, authorize_url: str) -> None:
        callback = self.http.redirect_location(authorize_url)
        if urlsplit(callback).path != "/api/auth/callback":
            raise DemoTenantError(
                f"the sign-in did not come back to the connector: {_without_query(callback)}"
            )
        self.http.expect("GET", callback, ok=(200, 201))
        logger.info("demo tenant %s: sync account %s signed in", self.tenant, DEMO_SYNC_ACCOUNT.user_id)

    def covering_subscriptions(self) -> tuple[str, ...]:
        """The Graph subscriptions of the tenant, if together they cover every demo agent."""
        reply = self.http.expect("GET", f"{self.graph}/_sim/tenants/{self.tenant}/subscriptions")
        subscriptions = reply.json()["value"]
        covered = {user_id.lower() for s in subscriptions for user_id in s["userIds"]}
        if not {agent.user.user_id for agent in DEMO_AGENTS} <= covered:
            return ()
        return tuple(str(s["id"]) for s in subscriptions)

    def all_agents_subscribed(self) -> bool:
        listing = self.admin("GET", f"{self.host}/api/tenants/{self.tenant}/agents").json()
        subscribed = {a["agentId"] for a in listing["agents"] if a["subscribed"]}
        return {agent.agent_id for agent in DEMO_AGENTS} <= subscribed

    def wait_for_subscription(self) -> tuple[str, ...]:
        ids = wait_until("the presence subscription in Graph", self.covering_subscriptions, self.timeout)
        wait_until("every demo agent to be subscribed", self.all_agents_subscribed, self.timeout)
        return ids


def _query_value(url: str, name: str) -> str:
    values = parse_qs(urlsplit(url).query).get(name)
    if not values:
        raise DemoTenantError(f"{_without_query(url)} carries no {name}")
    return values[0]


def seed_demo_tenant(
    host_url: str,
    graph_url: str,
    cc_url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    http: JsonHttp | None = None,
) -> DemoTenant:
    """Set up (or bring back) the demo tenant; idempotent. Raise DemoTenantError naming what failed."""
    seeder = _DemoSeeder(host_url, graph_url, cc_url, http or JsonHttp(), timeout)
    try:
        demo = seeder.run()
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        # An answer of an unexpected shape (another app on the port, an older simulator).
        raise DemoTenantError(f"an answer did not have the expected shape: {error!r}") from error
    logger.info(
        "demo tenant %s ready: %s agents, subscription(s) %s",
        demo.tenant_id,
        len(demo.agents),
        ", ".join(demo.subscription_ids),
    )
    return demo
