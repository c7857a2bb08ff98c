"""Bearer-token verification for the Graph REST surface."""

from __future__ import annotations

import jwt

from devstack.graph_simulator.errors import GraphApiError
from devstack.graph_simulator.http_types import Request
from devstack.graph_simulator.models import GRAPH_APP_ID, GRAPH_RESOURCE, Caller
from devstack.graph_simulator.signing import SigningKeys
from devstack.graph_simulator.state import SimulatorState
from devstack.graph_simulator.tokens import issuer_v1, issuer_v2


def authenticate(request: Request, state: SimulatorState, key: SigningKeys) -> Caller:
    """The caller named by a valid Graph access token; 401 InvalidAuthenticationToken otherwise."""
    authorization = request.header("authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise GraphApiError(401, "InvalidAuthenticationToken", "Access token is empty.")
    try:
        claims = key.verify(token.strip(), [GRAPH_RESOURCE, GRAPH_APP_ID], state.now())
    except jwt.ExpiredSignatureError as error:
        raise GraphApiError(
            401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."
        ) from error
    except jwt.InvalidAudienceError as error:
        raise GraphApiError(
            401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience."
        ) from error
    except jwt.PyJWTError as error:
        raise GraphApiError(
            401, "InvalidAuthenticationToken", f"Access token validation failure: {error}"
        ) from error
    tenant_id = str(claims["tid"])
    if claims.get("iss") not in {issuer_v1(tenant_id), issuer_v2(tenant_id)}:
        raise GraphApiError(
            401, "InvalidAuthenticationToken", "Access token validation failure. Invalid issuer."
        )
    if state.get_tenant(tenant_id) is None:
        raise GraphApiError(
            401, "InvalidAuthenticationToken", "Access token validation failure. Unknown tenant."
        )
    app_id = str(claims.get("appid") or claims.get("azp") or "")
    if claims.get("idtyp") == "app" or "scp" not in claims:
        return Caller(tenant_id, app_id, None, frozenset(), frozenset(claims.get("roles") or ()))
    return Caller(tenant_id, app_id, str(claims["oid"]), frozenset(str(claims["scp"]).split()), frozenset())
