"""The identity platform's sign-in page and tokens for an app's own API, as the console's sign-in needs.

Entra ID shows its sign-in page when an authorize request asks for it (`prompt=login`) or names no
account; the simulator's page lists the tenant's users, each a link that continues the same
authorize request with that user as `login_hint` (there are no passwords to check). Without `prompt`
the simulator keeps answering `login_required` for a request with no `login_hint`, as a silent
request does.

A scope of the app's own API (`api://<client id>/Connector.Manage`, or `<client id>/...`) needs no
consent of a Graph permission and is redeemed into an access token for that API (v2.0: `aud` the
client id, `azp` the client), carrying the user's directory roles (`wids`) as Entra puts them in
tokens for an app that asks for them (groupMembershipClaims: DirectoryRole), and the app roles the
user was assigned (`roles`, e.g. Connector.Admin).
"""

from __future__ import annotations

import html
from urllib.parse import parse_qsl, urlencode

from devstack.graph_simulator.http_types import Response
from devstack.graph_simulator.models import User


def own_api_scope(scope: str, client_id: str) -> str | None:
    """The scope's name (`Connector.Manage`) when `scope` names the app's own API, else None."""
    for prefix in (f"api://{client_id}/", f"{client_id}/"):
        if scope.lower().startswith(prefix.lower()) and len(scope) > len(prefix):
            return scope[len(prefix) :]
    return None


def wants_sign_in_page(prompt: str | None, login_hint: str) -> bool:
    return not login_hint and prompt == "login"


def sign_in_page(path: str, raw_query: str, tenant_name: str, users: list[User]) -> Response:
    """Pick an account: one link per user, continuing the authorize request as that user."""
    params = [
        (k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if k not in {"prompt", "login_hint"}
    ]
    items = "".join(
        '<li><a href="{href}">{name} <small>{upn}</small></a></li>'.format(
            href=html.escape(f"{path}?{urlencode([*params, ('login_hint', user.user_principal_name)])}"),
            name=html.escape(user.display_name),
            upn=html.escape(user.user_principal_name),
        )
        for user in sorted(users, key=lambda u: u.display_name.lower())
    )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title>'
        "</head><body><h1>Sign in</h1>"
        f"<p>Graph simulator: pick an account of {html.escape(tenant_name)}.</p>"
        f'<ul aria-label="Accounts">{items}</ul></body></html>'
    )
    return Response(200, body.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})
