"""Speaking to the simulator the way a Webex integration does: the authorization-code flow, bearer
calls to the Contact Center API, and a stand-in destination for subscription deliveries."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from devstack.contact_center_simulator import ContactCenterSimulator
from devstack.contact_center_simulator.webex.store import DEFAULT_ORG_ID
from tests.integration.contact_center_simulator.helpers import HttpResult, http

CLIENT_ID = "C0ffee-integration-id"
CLIENT_SECRET = "integration-secret-0123456789abcdef"
REDIRECT_URI = "http://127.0.0.1:7071/api/contact-center/webex/callback"
ALL_SCOPES = "cjp:config_read cjp:config_write cjp:user spark:people_read"
SUBSCRIPTION_SECRET = "subscription-secret-0123456789abcdef-xyz"
ORG_ID = DEFAULT_ORG_ID
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


@dataclass
class Redirect:
    status: int
    location: str | None
    body: bytes

    def params(self) -> dict[str, str]:
        assert self.location is not None
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}


def authorize(sim: ContactCenterSimulator, **params: str) -> Redirect:
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": ALL_SCOPES,
        "state": "st-1",
        **params,
    }
    url = f"{sim.authorize_url}?{urlencode({k: v for k, v in query.items() if v != ''})}"
    try:
        with _NO_REDIRECT.open(url, timeout=10) as response:
            return Redirect(response.status, response.headers.get("Location"), response.read())
    except urllib.error.HTTPError as error:
        return Redirect(error.code, error.headers.get("Location"), error.read())


def token(sim: ContactCenterSimulator, **form: str) -> HttpResult:
    fields = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
    return http("POST", sim.token_url, headers=FORM, raw=urlencode(fields).encode())


def sign_in(sim: ContactCenterSimulator, scope: str = ALL_SCOPES) -> dict[str, Any]:
    """The whole authorization-code flow; the token response."""
    redirect = authorize(sim, scope=scope)
    assert redirect.status == 302, redirect.body
    code = redirect.params()["code"]
    result = token(sim, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert result.status == 200, result.body
    tokens: dict[str, Any] = result.json()
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def api(
    sim: ContactCenterSimulator, method: str, path: str, tokens: dict[str, Any] | None, body: Any = None
) -> HttpResult:
    return http(method, sim.base_url + path, body, bearer(tokens) if tokens else {})


def webex_control(sim: ContactCenterSimulator, method: str, path: str, body: Any = None) -> HttpResult:
    return http(method, f"{sim.base_url}/_sim/webex{path}", body)


def description(result: HttpResult) -> str:
    payload = result.json()
    return str(payload["error"]["message"][0]["description"])


def subscription_body(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Connector agent events",
        "description": "Teams presence sync",
        "eventTypes": ["agent:login", "agent:logout", "agent:state_change"],
        "destinationUrl": url,
        "secret": SUBSCRIPTION_SECRET,
        **extra,
    }


def events_of(posts: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(post.body) for post in posts]
