"""HTTP calls the simulator makes to the connector (handshakes and notifications), proxy-free."""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class OutboundResult:
    status: int | None
    body: bytes
    content_type: str
    latency_seconds: float
    error: str | None
    timed_out: bool


def post(url: str, body: bytes, content_type: str, timeout: float) -> OutboundResult:
    """POST and report what happened; never raises for HTTP or network failures."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    started = time.monotonic()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            payload = response.read()
            return OutboundResult(
                response.status,
                payload,
                response.headers.get("Content-Type", ""),
                time.monotonic() - started,
                None,
                False,
            )
    except urllib.error.HTTPError as error:
        payload = error.read()
        return OutboundResult(
            error.code,
            payload,
            error.headers.get("Content-Type", ""),
            time.monotonic() - started,
            None,
            False,
        )
    except (TimeoutError, urllib.error.URLError, ConnectionError, ssl.SSLError, OSError) as error:
        reason = getattr(error, "reason", error)
        timed_out = isinstance(error, TimeoutError) or isinstance(reason, TimeoutError)
        return OutboundResult(None, b"", "", time.monotonic() - started, repr(reason), timed_out)
