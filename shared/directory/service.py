"""The expert directory: one page of Teams users with presence and a transfer target.

A page costs two Graph calls: the users (an advanced `/users` query, cached for at most 60 s per
tenant and query) and one `getPresencesByUserId` for the whole page (never cached, so presence is
never older than the request). The gate comes first: the tenant's connector must be active with
"Show user details" on.
"""

from __future__ import annotations

import logging

from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import ConnectorStatus
from shared.directory.cache import DirectoryPageCache
from shared.directory.commands import DirectoryRequest
from shared.directory.exceptions import InvalidSkipToken, ShowUserDetailsDisabled
from shared.directory.model import UNKNOWN_PRESENCE, DirectoryPage, Expert, ExpertPresence
from shared.directory.phones import first_e164
from shared.directory.ports import ConnectorLookup, DirectoryGraph, ServiceAccountIds
from shared.directory.query import users_request
from shared.directory.skip_tokens import SkipTokenSigner
from shared.graph.exceptions import GraphBadRequest
from shared.graph.model import DirectoryUser, Presence, UserPage, UserPageRequest

logger = logging.getLogger(__name__)

# What Graph answers (400) for a $skiptoken it no longer honours.
EXPIRED_PAGE_TOKEN = "Directory_ExpiredPageToken"  # noqa: S105 - an error code


def expert_of(user: DirectoryUser, presence: Presence | None, default_region: str) -> Expert:
    return Expert(
        id=user.id,
        display_name=user.display_name,
        department=user.department,
        job_title=user.job_title,
        user_principal_name=user.user_principal_name,
        mail=user.mail,
        business_phone=first_e164((*user.business_phones, user.mobile_phone), default_region),
        presence=UNKNOWN_PRESENCE
        if presence is None
        else ExpertPresence(
            availability=presence.availability,
            activity=presence.activity,
            out_of_office=presence.out_of_office,
            status_message=presence.status_message,
        ),
    )


class DirectoryService:
    def __init__(
        self,
        connectors: ConnectorLookup,
        graph: DirectoryGraph,
        service_accounts: ServiceAccountIds,
        skip_tokens: SkipTokenSigner,
        cache: DirectoryPageCache,
        default_region: str,
    ) -> None:
        self._connectors = connectors
        self._graph = graph
        self._service_accounts = service_accounts
        self._skip_tokens = skip_tokens
        self._cache = cache
        self._default_region = default_region

    def search(self, tenant_id: str, request: DirectoryRequest) -> DirectoryPage:
        """Raise ConnectorNotFound, ConnectorNotActive, ShowUserDetailsDisabled, InvalidSkipToken or a
        GraphError."""
        self._check_open(tenant_id)
        query = request.query
        graph_skip_token = (
            self._skip_tokens.open(request.skip_token, tenant_id, query) if request.skip_token else None
        )
        excluded = self._service_accounts.service_user_ids(tenant_id)
        users_page_request = users_request(query, excluded, graph_skip_token)
        if users_page_request is None:
            logger.info("tenant %s directory search has nothing searchable: no Graph call", tenant_id)
            return DirectoryPage((), None)
        page = self._users_page(tenant_id, users_page_request)
        # Graph filtered them out already; a sync account added since the page was cached is dropped here.
        users = [user for user in page.users if user.id.lower() not in excluded]
        presences: dict[str, Presence] = {}
        if users:
            presences = {
                p.user_id.lower(): p for p in self._graph.get_presences(tenant_id, [u.id for u in users])
            }
        experts = [expert_of(u, presences.get(u.id.lower()), self._default_region) for u in users]
        if query.available:
            experts = [e for e in experts if e.presence.available]
        next_token = (
            self._skip_tokens.issue(tenant_id, query, page.next_skip_token) if page.next_skip_token else None
        )
        logger.info(
            "tenant %s directory page: %d users from Graph, %d answered, next page %s",
            tenant_id,
            len(page.users),
            len(experts),
            "yes" if next_token else "no",
        )
        return DirectoryPage(tuple(experts), next_token)

    def _check_open(self, tenant_id: str) -> None:
        connector = self._connectors.get(tenant_id)
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        if connector.status is not ConnectorStatus.ACTIVE:
            raise ConnectorNotActive(
                tenant_id, connector.status.value, "the expert directory is open only while it is active"
            )
        if not connector.settings.show_user_details:
            raise ShowUserDetailsDisabled(tenant_id)

    def _users_page(self, tenant_id: str, request: UserPageRequest) -> UserPage:
        cached = self._cache.get(tenant_id, request)
        if cached is not None:
            return cached
        try:
            page = self._graph.list_users_page(tenant_id, request)
        except GraphBadRequest as refused:
            if request.skip_token is not None and refused.graph_code == EXPIRED_PAGE_TOKEN:
                raise InvalidSkipToken("skipToken has expired: start the search again") from refused
            raise
        self._cache.put(tenant_id, request, page)
        return page
