"""The composition root: the one place that builds real adapters from settings and wires services.

Triggers call `services()`; tests call `use_services(...)` with services wired to fakes or to Azurite;
the local host passes its in-process queue as `presence_queue`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from shared.agents.group_policies import CachedGroupPolicies
from shared.agents.group_service import AgentGroupService
from shared.agents.service import AgentService
from shared.agents.user_cache import CachedAgentUsers
from shared.connectors.audit import AdminAudit
from shared.connectors.cache import CachedConnectors
from shared.connectors.consent import ConsentLinks
from shared.connectors.service import ConnectorService
from shared.console.credentials import SessionCookieSource
from shared.console.service import Console
from shared.console.session import CookiePolicy, SessionSealer
from shared.console.sign_in import ConsoleSignIn
from shared.contact_center.clients import DEFAULT_TIMEOUT_SECONDS, USER_AGENT, HttpContactCenterClients
from shared.contact_center.connection_test import ContactCenterConnectionTest
from shared.contact_center.health_reports import RecordedHealthReports
from shared.contact_center.idle_codes import IdleCodeCatalog
from shared.contact_center.intake import ContactCenterEventIntake
from shared.contact_center.messages import SCHEMA as AGENT_STATE_CHANGE
from shared.contact_center.signature_source import ContactCenterSignatureSource
from shared.contact_center.webex.activity import WebexConnectorActivity
from shared.contact_center.webex.oauth import HttpWebexOAuth
from shared.contact_center.webex.receiver import WebexEventReceiver
from shared.contact_center.webex.service import WebexConnectionService
from shared.contact_center.webex.subscriptions_api import HttpWebexSubscriptions
from shared.directory.cache import DirectoryPageCache
from shared.directory.service import DirectoryService
from shared.directory.service_accounts import SyncAccountIds
from shared.directory.skip_tokens import SkipTokenSigner
from shared.graph.credentials import app_credential_factory
from shared.graph.msgraph_gateway import MsGraphGateway
from shared.health import HealthService
from shared.identity.credentials import Authenticator, BearerTokenSource
from shared.identity.policies import CONNECTOR_MANAGE_SCOPE
from shared.identity.verifier import AccessTokenVerifier
from shared.mappings.cache import CachedMappings
from shared.mappings.service import PresenceMappingService
from shared.notifications.client_state import ClientStateSigner
from shared.notifications.encryption_keys import EncryptionCertificate, EncryptionKeyRing
from shared.notifications.intake import NotificationIntake
from shared.notifications.validation_tokens import ValidationTokenVerifier
from shared.operations.recorder import OperationsRecorder
from shared.operations.service import OperationsService
from shared.operations.telemetry import configure_telemetry
from shared.presence.commands import CommandRunner
from shared.presence.first_sync import SCHEMA as FIRST_SYNC
from shared.presence.first_sync import QueuedFirstSync
from shared.presence.messages import SCHEMA as PRESENCE_CHANGE
from shared.presence.ports import PresenceQueue
from shared.presence.reconcile import ReconcileService
from shared.presence.state_cache import SyncStateCache
from shared.presence.status_messages import StatusMessages
from shared.presence.sync_service import PresenceSyncService
from shared.presence.worker import PresenceWorker
from shared.queueing.unconfigured_queue import UnconfiguredPresenceQueue
from shared.security.key_derivation import derive_key
from shared.security.log_redaction import install_log_redaction
from shared.security.secret_box import SecretBox
from shared.security.signed_state import StateSigner
from shared.security.signing_keys import JwksKeySource
from shared.settings import Settings, load_settings
from shared.storage.agent_group_repository import TableAgentGroupRepository
from shared.storage.agent_repository import TableAgentRepository
from shared.storage.agent_sync_state_repository import TableAgentSyncStates
from shared.storage.audit_log import TableAuditLog
from shared.storage.connector_repository import TableConnectorRepository
from shared.storage.contact_center_health_repository import TableContactCenterHealth
from shared.storage.mapping_repository import TableMappingRepository
from shared.storage.operations_stats_repository import TableOperationsStats
from shared.storage.subscription_repository import TableSubscriptionRepository
from shared.storage.sync_account_repository import TableSignInRepository, TableSyncAccountRepository
from shared.storage.table_store import TableStore
from shared.storage.tenant_purge import TableTenantPurger
from shared.storage.webex_authorization_repository import TableWebexAuthorizations
from shared.subscriptions.coalescing import CoalescedRosterSync
from shared.subscriptions.connector_activity import SubscriptionConnectorActivity
from shared.subscriptions.directory import TableSubscriptionDirectory
from shared.subscriptions.service import SubscriptionService
from shared.sync_accounts.oauth import MsalOAuthClient, msal_certificate_credential
from shared.sync_accounts.service import SyncAccountService

logger = logging.getLogger(__name__)

# Process-wide, before any library logs: secrets MSAL writes at DEBUG are masked (log_redaction.py).
install_log_redaction()

CLIENT_STATE_KEY_PURPOSE = "graph-subscription-client-state-v1"
CONSOLE_SESSION_KEY_PURPOSE = "console-session-v1"
DIRECTORY_SKIP_TOKEN_KEY_PURPOSE = "directory-skip-token-v1"  # noqa: S105 - a key purpose, not a key


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    settings: Settings
    connectors: ConnectorService
    health: HealthService
    agents: AgentService
    sync_accounts: SyncAccountService
    subscriptions: SubscriptionService
    notifications: NotificationIntake
    presence_worker: PresenceWorker
    contact_center_events: ContactCenterEventIntake
    presence_mappings: PresenceMappingService
    agent_groups: AgentGroupService
    reconcile: ReconcileService
    contact_center_test: ContactCenterConnectionTest
    # Sync health (GET sync-status / sync-health) and the reporter every area reports to.
    operations: OperationsService
    reporter: OperationsRecorder
    directory: DirectoryService
    # Webex Contact Center: the admin's sign-in, tokens, subscription; and its signed deliveries.
    webex: WebexConnectionService
    webex_events: WebexEventReceiver
    # The contact center's idle codes (what Teams states are mapped to).
    idle_codes: IdleCodeCatalog
    # Who is calling: the credential sources every protected route authenticates with.
    authenticator: Authenticator
    # The admin console's sign-in and session cookie (shared/console); None in tests that need none.
    console: Console | None = None
    # Connections to release when the process stops (Graph clients, HTTP pools, the queue sender).
    closers: tuple[Callable[[], None], ...] = ()

    def close(self) -> None:
        for close in self.closers:
            try:
                close()
            except Exception:
                logger.warning("closing %r failed", close, exc_info=True)


class _SubscriptionsLater:
    """Sync accounts and subscriptions need each other; this forwards to the subscription service once
    it exists (the listener and usage ports of SyncAccountService)."""

    def __init__(self) -> None:
        self.target: SubscriptionService | None = None

    def _service(self) -> SubscriptionService:
        if self.target is None:
            raise RuntimeError("the subscription service is not wired yet")
        return self.target

    def accounts_changed(self, tenant_id: str) -> None:
        self._service().accounts_changed(tenant_id)

    def account_removed(self, tenant_id: str, account_id: str) -> None:
        self._service().account_removed(tenant_id, account_id)

    def used(self, tenant_id: str) -> dict[str, int]:
        return self._service().used(tenant_id)


def notification_key_ring(settings: Settings) -> EncryptionKeyRing:
    """The certificate new subscriptions carry, plus the previous one while a rotation settles. The
    certificate id Graph echoes back is the thumbprint, so it changes exactly when the key does."""

    def load(pem: bytes) -> EncryptionCertificate:
        thumbprint = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA1()).hex()  # noqa: S303 - an identifier, not a signature
        return EncryptionCertificate.from_pem(f"notification-{thumbprint}", pem, pem)

    previous = settings.notification_previous_certificate
    return EncryptionKeyRing(
        load(settings.notification_certificate), [load(previous)] if previous is not None else []
    )


def real_presence_queue(settings: Settings) -> PresenceQueue:
    if settings.service_bus_namespace is None:
        logger.error(
            "ServiceBusConnection__fullyQualifiedNamespace is not set: presence changes cannot be queued"
        )
        return UnconfiguredPresenceQueue()
    from azure.identity import DefaultAzureCredential

    from shared.queueing.service_bus_queue import ServiceBusPresenceQueue

    credential = DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id)
    return ServiceBusPresenceQueue(settings.service_bus_namespace, settings.presence_queue_name, credential)


def signing_key_sources(settings: Settings) -> dict[str, JwksKeySource]:
    """One cached JWKS per URL: in Azure the admins' tokens and Graph's validation tokens are both signed
    with Microsoft's keys, fetched once for both."""
    return {
        url: JwksKeySource(url, min_refresh_interval=settings.signing_keys_min_refresh)
        for url in {settings.notification_jwks_url, settings.token_jwks_url}
    }


def access_token_verifier(settings: Settings, key_sources: dict[str, JwksKeySource]) -> AccessTokenVerifier:
    return AccessTokenVerifier(settings.api_audiences, key_sources[settings.token_jwks_url])


def authenticator(settings: Settings, key_sources: dict[str, JwksKeySource]) -> Authenticator:
    return Authenticator([BearerTokenSource(access_token_verifier(settings, key_sources))])


def console(
    settings: Settings,
    key_sources: dict[str, JwksKeySource],
    client_credential: str | dict[str, str],
    clock: Callable[[], datetime],
) -> Console:
    """The console's sign-in (its own redirect URI, a token for the connector's API) and its cookie."""
    platform = MsalOAuthClient(
        settings.entra_app_client_id,
        client_credential,
        settings.token_authority_host,
        settings.entra_authority_host,
        settings.console_redirect_uri,
        settings.authority_ca_bundle,
        timeout_seconds=settings.graph_timeout_seconds,
    )
    sealer = SessionSealer(
        SecretBox(derive_key(settings.secrets_encryption_key, CONSOLE_SESSION_KEY_PURPOSE))
    )
    api_scope = (
        f"{settings.api_app_id_uri or f'api://{settings.entra_app_client_id}'}/{CONNECTOR_MANAGE_SCOPE}"
    )
    sign_in = ConsoleSignIn(
        platform, access_token_verifier(settings, key_sources), sealer, clock, api_scope=api_scope
    )
    return Console(sign_in, sealer, CookiePolicy.for_base_url(settings.public_base_url), clock)


def directory_service(
    settings: Settings,
    connectors: TableConnectorRepository,
    graph: MsGraphGateway,
    sync_accounts: TableSyncAccountRepository,
    clock: Callable[[], datetime],
) -> DirectoryService:
    return DirectoryService(
        connectors,
        graph,
        SyncAccountIds(sync_accounts),
        SkipTokenSigner(derive_key(settings.state_signing_key, DIRECTORY_SKIP_TOKEN_KEY_PURPOSE), clock),
        DirectoryPageCache(clock, timedelta(seconds=settings.directory_cache_seconds)),
        settings.directory_default_phone_region,
    )


def build_services(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    presence_queue: PresenceQueue | None = None,
    reporter: OperationsRecorder | None = None,
) -> Services:
    """`reporter`: the operations recorder to report to (a test's, flushing only when asked)."""
    store = TableStore.from_settings(settings)
    stats = TableOperationsStats(store)
    if reporter is None:
        reporter = OperationsRecorder(stats, clock)
    # The probe must answer fast when storage is down, so it gets its own client without retries.
    probe_store = TableStore.from_settings(settings, retry_total=0, connection_timeout=3, read_timeout=5)
    queue = presence_queue if presence_queue is not None else real_presence_queue(settings)
    secrets = SecretBox(settings.secrets_encryption_key)
    state_signer = StateSigner(settings.state_signing_key, clock)
    connector_repository = TableConnectorRepository(store, secrets)
    agent_repository = TableAgentRepository(store, clock=clock)
    graph = MsGraphGateway(
        app_credential_factory(
            settings.entra_app_client_id,
            client_secret=settings.app_client_secret,
            certificate_pem=settings.app_certificate_pem,
            authority_host=settings.token_authority_host,
            ca_bundle_path=settings.authority_ca_bundle,
        ),
        settings.graph_base_url,
        timeout_seconds=settings.graph_timeout_seconds,
    )
    key_sources = signing_key_sources(settings)
    client_states = ClientStateSigner(derive_key(settings.state_signing_key, CLIENT_STATE_KEY_PURPOSE))
    key_ring = notification_key_ring(settings)

    audit = TableAuditLog(store)
    # Agents and sync accounts check a tenant has a connector before recording a failure.
    admin_audit = AdminAudit(audit, clock, connector_repository)
    subscriptions_later = _SubscriptionsLater()
    client_credential = (
        settings.app_client_secret
        if settings.app_client_secret is not None
        else msal_certificate_credential(settings.app_certificate_pem or b"")
    )
    oauth = MsalOAuthClient(
        settings.entra_app_client_id,
        client_credential,
        settings.token_authority_host,
        settings.entra_authority_host,
        settings.sign_in_redirect_uri,
        settings.authority_ca_bundle,
        timeout_seconds=settings.graph_timeout_seconds,
    )
    sync_account_repository = TableSyncAccountRepository(store, secrets)
    sync_accounts = SyncAccountService(
        sync_account_repository,
        TableSignInRepository(store, secrets),
        connector_repository,
        oauth,
        state_signer,
        subscriptions_later,
        clock,
        usage=subscriptions_later,
        audit=admin_audit,
        reporter=reporter,
    )
    subscription_repository = TableSubscriptionRepository(store)
    directory = TableSubscriptionDirectory(subscription_repository, clock)
    subscriptions = SubscriptionService(
        subscription_repository,
        graph,
        agent_repository,
        sync_accounts,
        connector_repository,
        queue,
        client_states,
        key_ring,
        settings.notification_url,
        settings.lifecycle_notification_url,
        clock,
        active_tenants=connector_repository,
        directory=directory,
        reporter=reporter,
    )
    subscriptions_later.target = subscriptions

    contact_center_health = TableContactCenterHealth(store)
    webex_http = httpx.Client(
        timeout=httpx.Timeout(DEFAULT_TIMEOUT_SECONDS),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )
    webex_authorizations = TableWebexAuthorizations(store, secrets)
    webex = WebexConnectionService(
        webex_authorizations,
        TableSignInRepository(store, secrets),
        connector_repository,
        HttpWebexOAuth(
            webex_http,
            authorize_url=settings.webex_authorize_url,
            token_url=settings.webex_token_url,
            client_id=settings.webex_client_id,
            client_secret=settings.webex_client_secret,
            redirect_uri=settings.webex_redirect_uri,
            clock=clock,
        ),
        HttpWebexSubscriptions(webex_http, clock),
        state_signer,
        settings.webex_events_url,
        clock,
        audit=admin_audit,
        active_tenants=connector_repository,
    )
    links = ConsentLinks(
        state_signer,
        authority_host=settings.entra_authority_host,
        client_id=settings.entra_app_client_id,
        redirect_uri=settings.consent_redirect_uri,
        ttl=settings.consent_state_ttl,
    )
    connectors = ConnectorService(
        connector_repository,
        audit,
        TableTenantPurger(store),
        links,
        app_client_id=settings.entra_app_client_id,
        clock=clock,
        activity=WebexConnectorActivity(SubscriptionConnectorActivity(subscriptions), webex),
        contact_center_authorizations=webex,
        contact_center_health=contact_center_health,
    )
    notifications = NotificationIntake(
        directory,
        client_states,
        ValidationTokenVerifier(settings.entra_app_client_id, key_sources[settings.notification_jwks_url]),
        key_ring,
        queue,
        clock,
        reporter=reporter,
    )
    mapping_repository = TableMappingRepository(store)
    mappings = CachedMappings(mapping_repository, clock)
    group_repository = TableAgentGroupRepository(store)
    policies = CachedGroupPolicies(group_repository, mappings, clock)
    connector_cache = CachedConnectors(connector_repository, clock)
    contact_centers = HttpContactCenterClients(settings.public_base_url, webex_tokens=webex, clock=clock)
    sync_states = TableAgentSyncStates(store)
    sync = PresenceSyncService(
        connector_cache,
        policies,
        sync_states,
        CommandRunner(
            contact_centers,
            graph,
            settings.entra_app_client_id,
            health=RecordedHealthReports(contact_center_health),
            reporter=reporter,
        ),
        agent_repository,
        # Agent logins come in bursts: one roster sync per tenant per few seconds covers them all.
        CoalescedRosterSync(subscriptions),
        clock,
        statuses=contact_centers,
        reporter=reporter,
        status_messages=StatusMessages(graph),
        state_cache=SyncStateCache(),
    )
    reconcile = ReconcileService(
        connector_repository,
        connector_cache,
        policies,
        sync_states,
        graph,
        contact_centers,
        # A timer run never waits out a Retry-After: the agent is simply looked at again next run.
        CommandRunner(
            contact_centers,
            graph,
            settings.entra_app_client_id,
            max_inline_wait=0,
            retried_by="the reconcile timer's next run looks at the agent again",
            reporter=reporter,
        ),
        subscriptions,
        clock,
    )
    intake = ContactCenterEventIntake(
        connector_cache, CachedAgentUsers(agent_repository, clock), queue, clock
    )
    idle_codes = IdleCodeCatalog(connector_repository, contact_centers)
    console_pages = console(settings, key_sources, client_credential, clock)
    return Services(
        settings=settings,
        connectors=connectors,
        health=HealthService({"tableStorage": probe_store.ping}),
        agents=AgentService(
            agent_repository,
            graph,
            connector_repository,
            subscriptions,
            subscriptions,
            clock,
            audit=admin_audit,
            groups=group_repository,
            first_sync=QueuedFirstSync(queue),
        ),
        sync_accounts=sync_accounts,
        subscriptions=subscriptions,
        notifications=notifications,
        presence_worker=PresenceWorker(
            {
                PRESENCE_CHANGE: sync.teams_change,
                AGENT_STATE_CHANGE: sync.agent_event,
                FIRST_SYNC: sync.first_sync,
            },
            reporter=reporter,
        ),
        contact_center_events=intake,
        webex=webex,
        webex_events=WebexEventReceiver(connector_cache, webex_authorizations, intake),
        presence_mappings=PresenceMappingService(
            mapping_repository,
            connector_repository,
            mappings,
            audit,
            clock,
            idle_codes=idle_codes,
            policies=policies,
        ),
        agent_groups=AgentGroupService(
            group_repository, agent_repository, connector_repository, policies, audit, clock
        ),
        idle_codes=idle_codes,
        reconcile=reconcile,
        contact_center_test=ContactCenterConnectionTest(
            connector_repository, contact_centers, contact_center_health, audit, clock
        ),
        directory=directory_service(settings, connector_repository, graph, sync_account_repository, clock),
        operations=OperationsService(
            connector_repository,
            agent_repository,
            sync_states,
            subscription_repository,
            sync_accounts,
            contact_center_health,
            stats,
            clock,
            unflushed=reporter,
        ),
        reporter=reporter,
        # The recorder last but one: its final flush may follow the last messages handled.
        closers=_closers(
            graph.close,
            contact_centers.close,
            webex_http.close,
            reporter.close,
            getattr(queue, "close", None),
        ),
        # The console's session cookie (shared/console), then the contact center's signed GET of the
        # expert directory, beside the users' tokens.
        authenticator=authenticator(settings, key_sources)
        .with_source(SessionCookieSource(console_pages.sealer, console_pages.cookies, clock))
        .with_source(ContactCenterSignatureSource(connector_repository, clock)),
        console=console_pages,
    )


def _closers(*closers: Callable[[], None] | None) -> tuple[Callable[[], None], ...]:
    """What holds connections, in the order to close them (the queue sender last: it may flush)."""
    return tuple(close for close in closers if close is not None)


_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    global _services  # noqa: PLW0603 - the process-wide container, built once on first use
    if _services is None:
        with _lock:
            if _services is None:
                settings = load_settings()
                configure_telemetry(settings.application_insights_connection_string)
                _services = build_services(settings)
                logger.info("services wired (app %s)", _services.settings.entra_app_client_id)
    return _services


def use_services(replacement: Services | None) -> None:
    """Install services built by a test or the local host (None: rebuild from settings on next use)."""
    global _services  # noqa: PLW0603
    with _lock:
        _services = replacement


def shutdown_services() -> None:
    """Release the current services' connections (the local host calls this when it stops)."""
    global _services
    with _lock:
        current, _services = _services, None
    if current is not None:
        current.close()


def check_settings() -> Settings:
    """Fail at start, naming every missing or invalid setting, rather than on the first request."""
    return load_settings()
