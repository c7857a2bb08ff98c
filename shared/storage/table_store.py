"""One place that owns the Table Storage client: credentials, retry policy, tables created on first use,
and the translation of transport failures into StorageUnavailable."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableClient, TableServiceClient

from shared.settings import Settings
from shared.storage.exceptions import StorageUnavailable

logger = logging.getLogger(__name__)

# A few quick retries: an admin is waiting on the other end, and Graph expects answers within seconds.
_CLIENT_OPTIONS = {
    "retry_total": 3,
    "retry_backoff_factor": 0.3,
    "retry_backoff_max": 4,
    "connection_timeout": 5,
    "read_timeout": 15,
}


# The queue function runs up to 32 sessions at once (host.json); urllib3's default pool of 10
# connections per host would open and discard a connection for most table calls under that load.
_POOL_SIZE = 64


def table_transport(endpoint: str) -> object:
    """A requests session for the one table endpoint. requests looks the proxy, no_proxy and CA bundle
    environment variables (and ~/.netrc) up again on every request, for the request's URL: 9% of a
    point read's CPU. The store only ever talks to `endpoint`, so they are looked up once, here, with
    requests' own rules, and the session stops reading the environment."""
    import requests
    from azure.core.pipeline.transport import RequestsTransport
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    environment = session.merge_environment_settings(endpoint, {}, None, None, None)
    session.proxies = environment["proxies"]
    session.verify = environment["verify"]
    session.trust_env = False
    return RequestsTransport(session=session, session_owner=True)


class TableStore:
    def __init__(self, service: TableServiceClient) -> None:
        self._service = service
        self._tables: dict[str, TableClient] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **client_options: object) -> TableStore:
        if settings.tables_connection_string:
            endpoint = TableServiceClient.from_connection_string(settings.tables_connection_string).url
        else:
            endpoint = settings.tables_endpoint or ""
        options: dict[str, object] = {
            **_CLIENT_OPTIONS,
            "transport": table_transport(endpoint),
            **client_options,
        }
        if settings.tables_connection_string:
            service = TableServiceClient.from_connection_string(settings.tables_connection_string, **options)
        else:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id)
            service = TableServiceClient(
                endpoint=settings.tables_endpoint or "",
                credential=credential,
                **options,  # type: ignore[arg-type]
            )
        return cls(service)

    def table(self, name: str) -> TableClient:
        """The client of `name`, creating the table the first time this process asks for it."""
        client = self._tables.get(name)
        if client is not None:
            return client
        with self._lock:
            client = self._tables.get(name)
            if client is None:
                with storage_errors():
                    try:
                        self._service.create_table(name)
                        logger.info("created table %s", name)
                    except ResourceExistsError:
                        pass
                client = self._service.get_table_client(name)
                self._tables[name] = client
        return client

    def forget(self, name: str) -> None:
        """Drop the cached client so the next use re-creates the table (after it was deleted)."""
        with self._lock:
            self._tables.pop(name, None)

    def ping(self) -> None:
        """One cheap round trip; raises StorageUnavailable when the service does not answer."""
        with storage_errors():
            next(iter(self._service.list_tables(results_per_page=1).by_page()), None)


@contextmanager
def storage_errors() -> Iterator[None]:
    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise StorageUnavailable(f"Table Storage is unreachable: {type(exc).__name__}") from exc
    except HttpResponseError as exc:
        if exc.status_code is not None and (exc.status_code >= 500 or exc.status_code == 429):
            raise StorageUnavailable(f"Table Storage answered {exc.status_code}") from exc
        raise
