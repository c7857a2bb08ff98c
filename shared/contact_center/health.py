"""Is the tenant's contact center reachable? What the connector last saw, from two kinds of evidence.

- `test`: the admin's connection test (POST /tenants/{tenantId}/contact-center/test), one signed,
  harmless request through the adapter's `probe()`.
- `sync`: the presence engine's own calls (state changes, status reads), reported as they happen.

GET connector shows the newer of the two, so it never calls the contact center itself. Evidence about
another destination (the URL before the last change, or a call made with a cached older configuration)
or older than the connector's last contact-center change is not shown. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from shared.connectors.model import ContactCenterConfig, WebexContactCenter
from shared.contact_center.exceptions import (
    ContactCenterAuthFailed,
    ContactCenterError,
    ContactCenterRejected,
)

MAX_REASON_LENGTH: Final = 500


class CheckSource(StrEnum):
    TEST = "test"
    SYNC = "sync"


def destination_of(config: ContactCenterConfig) -> str:
    """Where a configuration sends requests (never a secret): what a check is about."""
    if isinstance(config, WebexContactCenter):
        return f"{config.base_url} ({config.org_id})"
    return config.url


@dataclass(frozen=True)
class ContactCenterCheck:
    """One observation of the contact center."""

    source: CheckSource
    at: datetime
    # destination_of() the configuration the request went to.
    destination: str
    # An HTTP answer came back (whatever its status).
    reachable: bool
    # The answer was a 2xx: the contact center took the request.
    accepted: bool
    # The contact center's HTTP status; None when it did not answer.
    status: int | None
    reason: str
    latency_ms: float | None = None

    @property
    def outcome(self) -> tuple[str, bool, bool]:
        return self.destination, self.reachable, self.accepted


@dataclass(frozen=True)
class ContactCenterHealth:
    """The latest check of each source; either may be missing."""

    last_test: ContactCenterCheck | None = None
    last_sync: ContactCenterCheck | None = None

    def current(self, config: ContactCenterConfig, since: datetime | None) -> ContactCenterCheck | None:
        """The newest check of `config`'s destination made at or after `since` (the last
        contact-center change), if any."""
        destination = destination_of(config)
        candidates = [
            check
            for check in (self.last_test, self.last_sync)
            if check is not None and check.destination == destination and (since is None or check.at >= since)
        ]
        return max(candidates, key=lambda check: check.at, default=None)


def accepted_check(
    source: CheckSource,
    at: datetime,
    config: ContactCenterConfig,
    status: int | None,
    latency_ms: float | None = None,
) -> ContactCenterCheck:
    """A 2xx answer; `status` None when the adapter does not say which one."""
    what = "the signed test request" if source is CheckSource.TEST else "the connector's last request"
    return ContactCenterCheck(
        source=source,
        at=at,
        destination=destination_of(config),
        reachable=True,
        accepted=True,
        status=status,
        reason=f"the contact center accepted {what}" + ("" if status is None else f" (HTTP {status})"),
        latency_ms=latency_ms,
    )


def failed_check(
    source: CheckSource,
    at: datetime,
    config: ContactCenterConfig,
    error: ContactCenterError,
    latency_ms: float | None = None,
) -> ContactCenterCheck:
    """What a failure says about the contact center. `status` None means no HTTP answer came back,
    except for a URL the adapter refused to call (then the contact center was never tried)."""
    reachable = error.status is not None
    reason = error.message
    if isinstance(error, ContactCenterAuthFailed) and error.status in (401, 403):
        reason += " - check that the secret (or client credentials) match on both sides"
    elif isinstance(error, ContactCenterRejected) and error.status is None:
        reason += " - change the contact center's URL"
    return ContactCenterCheck(
        source=source,
        at=at,
        destination=destination_of(config),
        reachable=reachable,
        accepted=False,
        status=error.status,
        reason=reason[:MAX_REASON_LENGTH],
        latency_ms=latency_ms,
    )
