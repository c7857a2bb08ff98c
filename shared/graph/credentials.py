"""Per-tenant app-only credentials (azure-identity, async) for the Graph gateway.

The multi-tenant app authenticates in each customer tenant with the same client id and secret or
certificate; only the tenant in the token endpoint changes. azure-identity's async credentials call
`{authority_host}/{tenant}/oauth2/v2.0/token` directly (no instance discovery) and refuse anything
but https, so a local identity simulator must serve TLS; `ca_bundle_path` then names the only CA
trusted for that endpoint (it is not added to the system store, and the SSL_CERT_FILE /
REQUESTS_CA_BUNDLE environment variables do not change it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.errors import ConfigurationError

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

logger = logging.getLogger(__name__)

AppCredentialFactory = Callable[[str], "AsyncTokenCredential"]

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"


def app_credential_factory(
    client_id: str,
    *,
    client_secret: str | None = None,
    certificate_pem: bytes | None = None,
    certificate_password: str | None = None,
    authority_host: str = DEFAULT_AUTHORITY_HOST,
    ca_bundle_path: str | None = None,
) -> AppCredentialFactory:
    """A factory of app-only credentials, one per tenant id; exactly one of secret / certificate.

    `certificate_pem` holds the private key and the certificate (PEM); `ca_bundle_path` replaces the
    trusted CAs for the token endpoint (the local simulator's self-signed certificate).
    """
    if not client_id:
        raise ConfigurationError("the Graph app client id is missing")
    if (client_secret is None) == (certificate_pem is None):
        raise ConfigurationError("give the Graph app exactly one of a client secret or a certificate")
    if not authority_host.startswith("https://"):
        raise ConfigurationError(f"the authority host must be an https URL, not {authority_host!r}")
    authority = authority_host.rstrip("/")
    transport_options: dict[str, Any] = {}
    if ca_bundle_path is not None:
        transport_options["connection_verify"] = ca_bundle_path

    def credential_for(tenant_id: str) -> AsyncTokenCredential:
        from azure.identity.aio import CertificateCredential, ClientSecretCredential

        logger.debug("creating the app-only Graph credential for tenant %s at %s", tenant_id, authority)
        if client_secret is not None:
            return ClientSecretCredential(
                tenant_id, client_id, client_secret, authority=authority, **transport_options
            )
        return CertificateCredential(
            tenant_id,
            client_id,
            certificate_data=certificate_pem,
            password=certificate_password,
            authority=authority,
            **transport_options,
        )

    return credential_for
