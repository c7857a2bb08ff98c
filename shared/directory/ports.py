"""What the directory service needs from the rest of the house."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shared.connectors.model import Connector
from shared.graph.model import Presence, UserPage, UserPageRequest


class DirectoryGraph(Protocol):
    """The two Graph reads of a directory page (shared.graph.ports.GraphGateway has both)."""

    def list_users_page(self, tenant_id: str, request: UserPageRequest) -> UserPage: ...

    def get_presences(self, tenant_id: str, user_ids: Sequence[str]) -> list[Presence]: ...


class ConnectorLookup(Protocol):
    def get(self, tenant_id: str) -> Connector | None: ...


class ServiceAccountIds(Protocol):
    def service_user_ids(self, tenant_id: str) -> frozenset[str]:
        """The object ids of the tenant's sync accounts (service users), which never appear."""
        ...
