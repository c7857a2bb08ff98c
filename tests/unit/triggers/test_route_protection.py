"""Every HTTP route of the app, as the Functions host registers it, refuses a caller it must refuse.

The routes are read from `function_app.app.get_functions()`, so a route any branch adds is checked
without anyone listing it here. Each `tenants/...` route, for every method it accepts, is called with
no token, a malformed one, an expired one, one for another audience, from another issuer, with a
broken signature, an admin token of another tenant and a valid token without an admin role. The
services behind it are a tripwire: a route that touches any service before the caller is verified fails
the test, whatever it answers. Routes that are anonymous on purpose are listed below with their reason;
an entry that no longer matches a registered route fails too.
"""

from __future__ import annotations

import importlib
import inspect
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import azure.functions as func
import pytest

from devstack.function_index import describe_function
from shared.bootstrap import Services, use_services
from shared.http.auth import policy_of
from shared.identity.credentials import Authenticator
from shared.identity.policies import ADMIN
from tests.support.identity import AdminTokens, foreign_signed, tampered

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PARAMETER = re.compile(r"\{\*?(?P<name>\w+)[^}]*\}")

# tenants/... routes that take no bearer token, each with the authentication it has instead.
UNPROTECTED_TENANT_ROUTES: dict[str, str] = {
    # The tenant's contact center cannot hold an Entra token: it signs the body with the tenant's
    # shared secret (X-Connector-Signature, HMAC-SHA256), which the intake verifies.
    "contact_center_events": "signed with the tenant's contact-center secret",
    # Webex allows no query string (so no function key) and sends no credential but its signature.
    "webex_events": "X-WebexCC-Signature: HMAC-SHA256 of the body with the subscription's secret",
}

# Routes outside tenants/ that are anonymous by design, and why. A new route must either declare a
# policy with @authorized(...) or be added here with its reason.
ANONYMOUS_ROUTES: dict[str, str] = {
    "health": "the load balancer's readiness probe",
    "consent_callback": "Microsoft redirects the admin's browser here; the signed state names the admin",
    "sync_account_sign_in_callback": "the identity platform redirects the browser here; signed state",
    "webex_sign_in_callback": "Webex redirects the admin's browser here; the signed state names the admin",
    "graph_notifications": "Graph sends no credential; validation tokens and clientState are checked",
    "graph_lifecycle": "Graph sends no credential; clientState is checked",
    "openapi_document": "the API contract itself; it holds no tenant data",
}


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    methods: tuple[str, ...]
    auth_level: str
    function: Callable[..., Any]


def registered_http_routes() -> list[Route]:
    with pytest.MonkeyPatch.context() as env:
        from devstack.dev_certificate import example_settings

        for name, value in example_settings().items():
            env.setenv(name, value)
        module = importlib.import_module("function_app")
    app: func.FunctionApp = module.app
    # get_functions() refuses names it has seen before; other tests may have indexed this app already.
    app.functions_bindings = None
    routes = []
    for function in app.get_functions():
        trigger: Any = function.get_trigger()
        if trigger is None or str(trigger.type) != "httpTrigger":
            continue
        methods = tuple(str(getattr(m, "value", m)).upper() for m in trigger.methods or ()) or ALL_METHODS
        level = getattr(trigger, "auth_level", None)
        routes.append(
            Route(
                name=str(function.get_function_name()),
                route=str(trigger.route),
                methods=methods,
                auth_level=str(getattr(level, "value", level)).lower(),
                function=function.get_user_function(),
            )
        )
    return routes


ROUTES = registered_http_routes()
TENANT_ROUTES = [r for r in ROUTES if r.route.startswith("tenants/")]
PROTECTED = [r for r in TENANT_ROUTES if r.name not in UNPROTECTED_TENANT_ROUTES]
CALLS = [(r, method) for r in PROTECTED for method in r.methods]
# Routes open to any signed-in user of the tenant have no role to lack: the role check applies to these.
ADMIN_CALLS = [(r, method) for r, method in CALLS if policy_of(r.function) is ADMIN]


class Tripwire:
    """Services where only the authenticator may be used: anything else records the touch and fails."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        self.touched: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.touched.append(name)
        raise AssertionError(f"services().{name} was used before the caller was verified")


@pytest.fixture
def tripwire(admin_tokens: AdminTokens) -> Iterator[Tripwire]:
    wire = Tripwire(admin_tokens.authenticator())
    use_services(cast(Services, wire))
    try:
        yield wire
    finally:
        use_services(None)


def request_for(route: Route, method: str, authorization: str | None) -> func.HttpRequest:
    params = {
        m.group("name"): TENANT if m.group("name") == "tenantId" else "x1"
        for m in _PARAMETER.finditer(route.route)
    }
    path = _PARAMETER.sub(lambda m: params[m.group("name")], route.route)
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    return func.HttpRequest(
        method,
        f"http://127.0.0.1:7071/api/{path}",
        headers=headers,
        params={},
        route_params=params,
        body=b"{}" if method in {"POST", "PUT", "PATCH"} else b"",
    )


def bearer(token: str) -> str:
    return f"Bearer {token}"


# (case, how to build the Authorization header, the status, the error code)
REFUSALS: list[tuple[str, Callable[[AdminTokens], str | None], int, str]] = [
    ("no token", lambda t: None, 401, "missingCredentials"),
    ("not a bearer token", lambda t: "Basic YWRtaW46YWRtaW4=", 401, "invalidToken"),
    ("not a JWT", lambda t: "Bearer not-a-jwt", 401, "invalidToken"),
    ("expired", lambda t: bearer(t.token(TENANT, expires_in=timedelta(minutes=-5))), 401, "invalidToken"),
    ("wrong audience", lambda t: bearer(t.token(TENANT, audience="api://someone-else")), 401, "invalidToken"),
    (
        "wrong issuer",
        lambda t: bearer(t.with_claims(TENANT, lambda c: c.update(iss="https://evil.example/v2.0"))),
        401,
        "invalidToken",
    ),
    ("tampered signature", lambda t: bearer(tampered(t.token(TENANT))), 401, "invalidToken"),
    ("untrusted signing key", lambda t: bearer(foreign_signed(TENANT)), 401, "invalidToken"),
    ("other tenant's admin", lambda t: bearer(t.token(OTHER_TENANT)), 403, "tenantMismatch"),
]


@pytest.mark.parametrize(("route", "method"), CALLS, ids=[f"{m} {r.route}" for r, m in CALLS])
@pytest.mark.parametrize(
    ("case", "authorization", "status", "code"), REFUSALS, ids=[case for case, *_ in REFUSALS]
)
def test_every_tenant_route_refuses_a_caller_without_a_valid_token_of_its_tenant(
    tripwire: Tripwire,
    admin_tokens: AdminTokens,
    route: Route,
    method: str,
    case: str,
    authorization: Callable[[AdminTokens], str | None],
    status: int,
    code: str,
) -> None:
    # GIVEN a request to the route with a refused credential
    req = request_for(route, method, authorization(admin_tokens))
    # WHEN the registered function handles it
    response: func.HttpResponse = route.function(req)
    # THEN it is refused with the error envelope, and no service was touched (nothing changed)
    assert tripwire.touched == [], f"{method} {route.route} ({case}) reached services before auth"
    assert response.status_code == status, response.get_body()
    assert f'"code":"{code}"' in response.get_body().decode()
    if status == 401:
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="')
        assert 'error="invalid_token"' in challenge


@pytest.mark.parametrize(("route", "method"), ADMIN_CALLS, ids=[f"{m} {r.route}" for r, m in ADMIN_CALLS])
def test_admin_routes_refuse_a_signed_in_user_without_an_admin_role(
    tripwire: Tripwire, admin_tokens: AdminTokens, route: Route, method: str
) -> None:
    # GIVEN a valid token of the tenant, without a directory role or the Connector.Admin app role
    token = admin_tokens.token(TENANT, wids=[], roles=["Some.Other.Role"])
    response: func.HttpResponse = route.function(request_for(route, method, bearer(token)))
    # THEN 403, nothing touched
    assert tripwire.touched == []
    assert response.status_code == 403
    assert '"code":"adminRoleRequired"' in response.get_body().decode()


def test_tenant_routes_exist_and_declare_a_policy_without_function_keys() -> None:
    # GIVEN the registered tenants/ routes / THEN there are some (an empty list would make this vacuous)
    assert len(PROTECTED) >= 15
    assert ADMIN_CALLS, "no admin route found: the role check would test nothing"
    for route in PROTECTED:
        # every one declares its policy, and the Entra token is the authentication (no function key)
        assert policy_of(route.function) is not None, f"{route.name} has no @authorized(...) policy"
        assert route.auth_level == "anonymous", f"{route.name} still asks for a function key"


def test_the_allow_lists_name_registered_routes_only() -> None:
    names = {route.name: route for route in ROUTES}
    for name in UNPROTECTED_TENANT_ROUTES:
        assert name in names, f"stale entry {name}"
        assert names[name].route.startswith("tenants/"), name
        assert policy_of(names[name].function) is None
    for name in ANONYMOUS_ROUTES:
        assert name in names, f"stale entry {name}"
        assert not names[name].route.startswith("tenants/"), name


def test_every_route_outside_tenants_is_protected_or_anonymous_on_purpose() -> None:
    for route in ROUTES:
        if route.route.startswith("tenants/"):
            continue
        assert policy_of(route.function) is not None or route.name in ANONYMOUS_ROUTES, (
            f"{route.name} ({route.route}) declares no policy and is not listed in ANONYMOUS_ROUTES"
        )


def test_protected_functions_keep_the_signature_the_worker_binds() -> None:
    # The Python worker binds parameters by name: it reads inspect.signature() and get_type_hints(),
    # and refuses a parameter that has no binding. A protected function must show only `req`.
    for route in PROTECTED:
        signature = inspect.signature(route.function)
        assert list(signature.parameters) == ["req"], route.name
        hints = typing.get_type_hints(route.function)
        assert hints["req"] is func.HttpRequest
        assert hints["return"] is func.HttpResponse
    # AND the local host, which indexes functions like the worker, loads every one of them
    app = importlib.import_module("function_app").app
    app.functions_bindings = None
    for function in app.get_functions():
        describe_function(function.get_function_name(), function)
