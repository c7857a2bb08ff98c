"""Who may call a route: named policies a route declares (shared/http/auth.py applies them).

Every policy is bound to the route's tenant: the caller's credential must have been issued in the
tenant named by `{tenantId}`. Beyond that a policy names the credential kinds it accepts (a bearer
token, a console session, a contact center's signature) and what the caller must hold.

- `ADMIN`: the tenant's Global Administrator or Privileged Role Administrator (directory role template
  ids in `wids`), or a holder of the connector's `Connector.Admin` app role (`roles`), which a tenant
  assigns to delegate connector administration without a directory role.
- `TENANT_MEMBER`: any signed-in user (or app) of the tenant, no role needed.
- `DIRECTORY_READER`: a tenant member, or the tenant's contact center server to server (a GET signed
  with the tenant's secret): who may search the expert directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.identity.exceptions import AdminRoleRequired, TenantMismatch
from shared.identity.principal import AuthMethod, Principal

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
ADMIN_DIRECTORY_ROLES = frozenset({GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR})
CONNECTOR_ADMIN_ROLE = "Connector.Admin"
# The delegated scope the app registration exposes (scripts/create-app-registration.sh).
CONNECTOR_MANAGE_SCOPE = "Connector.Manage"

SIGNED_IN = frozenset({AuthMethod.BEARER, AuthMethod.SESSION})


def is_connector_admin(principal: Principal) -> bool:
    return bool(principal.directory_roles & ADMIN_DIRECTORY_ROLES) or CONNECTOR_ADMIN_ROLE in principal.roles


def _require_admin(principal: Principal) -> None:
    if not is_connector_admin(principal):
        raise AdminRoleRequired()


def _anyone(principal: Principal) -> None:
    return None


@dataclass(frozen=True)
class Policy:
    # Stable name, shown in the OpenAPI document (`x-policy`) and in log lines.
    name: str
    description: str
    # The credential kinds that may satisfy it, tried in the authenticator's order.
    methods: frozenset[AuthMethod]
    # Raises Forbidden when the (tenant-checked) principal may not call the route.
    requirement: Callable[[Principal], None]

    def authorize(self, principal: Principal, tenant_id: str) -> None:
        """Raise TenantMismatch or the requirement's Forbidden unless `principal` may act in `tenant_id`."""
        if principal.tenant_id != tenant_id.lower():
            raise TenantMismatch(principal.tenant_id, tenant_id)
        self.requirement(principal)


ADMIN = Policy(
    name="admin",
    description="A Global Administrator or Privileged Role Administrator of the route's tenant, or a holder "
    "of the Connector.Admin app role in it.",
    methods=SIGNED_IN,
    requirement=_require_admin,
)

TENANT_MEMBER = Policy(
    name="tenantMember",
    description="Any signed-in user or app of the route's tenant.",
    methods=SIGNED_IN,
    requirement=_anyone,
)

DIRECTORY_READER = Policy(
    name="directoryReader",
    description="Any signed-in user or app of the route's tenant (agents and supervisors, no role needed), "
    "or the tenant's contact center with a request signed with the tenant's secret.",
    methods=SIGNED_IN | {AuthMethod.SIGNATURE},
    requirement=_anyone,
)
