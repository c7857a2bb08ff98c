"""One HTTP exchange with a contact center, and its failures in our own terms.

No retries here: the presence worker's Service Bus redelivery retries, with back-off that honours the
Retry-After we pass up in ContactCenterThrottled / ContactCenterUnavailable.
"""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import ssl
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from shared.contact_center.exceptions import (
    ContactCenterAuthFailed,
    ContactCenterRejected,
    ContactCenterThrottled,
    ContactCenterUnavailable,
)
from shared.operations import telemetry

logger = logging.getLogger(__name__)

_MAX_DETAIL_LENGTH: Final = 300
# A Retry-After beyond this is a misconfiguration on their side; the message retries sooner anyway.
_MAX_RETRY_AFTER_SECONDS: Final = 3600.0


def send(
    client: httpx.Client, what: str, method: str, url: httpx.URL | str, **options: Any
) -> httpx.Response:
    """Build and send one request (`options` as for httpx.Client.build_request).

    A URL that cannot work (bad syntax, unsupported scheme) is ContactCenterRejected: the tenant's
    configuration must change. Transport failures and timeouts are ContactCenterUnavailable.
    """
    try:
        request = client.build_request(method, url, **options)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ContactCenterRejected(f"{what}: the contact center URL cannot be used ({exc})") from exc
    # One change is one trace: the contact center (and our simulator) sees the W3C trace context.
    telemetry.inject(request.headers)
    where = _host_of(request.url)
    try:
        return client.send(request)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ContactCenterRejected(f"{what}: the contact center URL cannot be used ({exc})") from exc
    except httpx.ConnectTimeout as exc:
        raise ContactCenterUnavailable(
            f"{what}: the contact center at {where} cannot be reached: the connection timed out"
        ) from exc
    except httpx.TimeoutException as exc:
        raise ContactCenterUnavailable(
            f"{what}: the contact center at {where} did not answer in time"
        ) from exc
    except httpx.TransportError as exc:
        raise ContactCenterUnavailable(
            f"{what}: the contact center at {where} cannot be reached: {describe_transport_failure(exc)}"
        ) from exc


def describe_transport_failure(error: BaseException) -> str:
    """What went wrong below HTTP, in words an admin can act on (the cause chain holds the OS error)."""
    cause: BaseException | None = error
    seen = 0
    while cause is not None and seen < 10:
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused (nothing accepts connections on that port)"
        if isinstance(cause, socket.gaierror):
            return "its host name does not resolve (DNS)"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"its TLS certificate is not trusted ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake failed ({cause.reason or type(cause).__name__})"
        if isinstance(cause, ConnectionResetError):
            return "the connection was reset"
        if isinstance(cause, httpx.RemoteProtocolError):
            return "the connection closed without an HTTP answer"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[0].lower() + cause.strerror[1:]
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return str(error) or type(error).__name__


def _host_of(url: httpx.URL) -> str:
    """host:port, never the path or query (webhook URLs may carry a token there)."""
    port = url.port or (443 if url.scheme == "https" else 80)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{port}"


def raise_for_status(response: httpx.Response, what: str, now: datetime) -> None:
    """Nothing for 2xx; otherwise the failure that says whether trying again can help."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = error_detail(response)
    message = f"{what}: the contact center answered {status}" + (f": {detail}" if detail else "")
    retry_after = retry_after_seconds(response.headers.get("Retry-After"), now)
    if status == 429:
        raise ContactCenterThrottled(message, retry_after=retry_after, status=status)
    if status >= 500 or status == 408:
        raise ContactCenterUnavailable(message, retry_after=retry_after, status=status)
    if status in (401, 403):
        raise ContactCenterAuthFailed(message, status=status)
    raise ContactCenterRejected(message, status=status)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds to wait: delta-seconds or an HTTP date (RFC 9110); None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    seconds: float
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = max((moment - now).total_seconds(), 0.0)
    return min(seconds, _MAX_RETRY_AFTER_SECONDS)


def error_detail(response: httpx.Response) -> str:
    """A short, printable summary of the error body (Webex's `error.message[].description` when present)."""
    try:
        body: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    texts: list[str] = []
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            messages = error.get("message")
            if isinstance(messages, list):
                texts = [str(m.get("description")) for m in messages if isinstance(m, dict)]
            elif isinstance(messages, str):
                texts = [messages]
        elif isinstance(error, str):
            texts = [error, str(body.get("error_description") or "")]
    if not texts:
        texts = [response.text if body is None else json.dumps(body)]
    detail = " ".join(t for t in texts if t).strip()
    printable = "".join(c if c.isprintable() else " " for c in detail)
    return printable[:_MAX_DETAIL_LENGTH]


def json_body(response: httpx.Response, what: str) -> Any:
    """The body of a 2xx answer as JSON; an unreadable one counts as a passing fault on their side."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ContactCenterUnavailable(
            f"{what}: the contact center answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
        ) from exc
