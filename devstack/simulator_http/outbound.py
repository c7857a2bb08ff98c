"""HTTP calls a simulator makes to the connector, proxy-free; never raise for HTTP or network failures.

`post` opens a connection per call; `KeepAliveSender` keeps one connection per origin and thread open,
as a real webhook sender does between deliveries."""

from __future__ import annotations

import http.client
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_NETWORK_ERRORS = (TimeoutError, urllib.error.URLError, ConnectionError, ssl.SSLError, OSError)


@dataclass(frozen=True)
class OutboundResult:
    status: int | None
    body: bytes
    content_type: str
    latency_seconds: float
    error: str | None
    timed_out: bool

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(
    url: str, body: bytes, content_type: str, timeout: float, headers: dict[str, str] | None = None
) -> OutboundResult:
    """POST and report what happened."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type, **(headers or {})}
    )
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
    except _NETWORK_ERRORS as error:
        return _failure(error, started)


def _failure(error: BaseException, started: float) -> OutboundResult:
    reason = getattr(error, "reason", error)
    timed_out = isinstance(error, TimeoutError) or isinstance(reason, TimeoutError)
    return OutboundResult(None, b"", "", time.monotonic() - started, repr(reason), timed_out)


class KeepAliveSender:
    """POSTs over persistent HTTP/1.1 connections, one per (thread, origin).

    A connection the receiver closed while idle is reopened once before the request is sent again;
    any other failure closes it and is reported."""

    def __init__(self, timeout: float, tls_context: ssl.SSLContext | None = None) -> None:
        self._timeout = timeout
        self._tls = tls_context
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[http.client.HTTPConnection] = []
        self.connections_opened = 0

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> OutboundResult:
        split = urlsplit(url)
        target = split.path or "/"
        if split.query:
            target += "?" + split.query
        origin = (split.scheme, split.hostname or "", split.port)
        started = time.monotonic()
        for attempt in (1, 2):
            connection, reused = self._connection(origin)
            try:
                connection.request("POST", target, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                if (response.getheader("Connection") or "").lower() == "close":
                    self._drop(origin)
                return OutboundResult(
                    response.status,
                    payload,
                    response.getheader("Content-Type") or "",
                    time.monotonic() - started,
                    None,
                    False,
                )
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                self._drop(origin)
                if not reused or attempt == 2:
                    return _failure(error, started)
            except (http.client.HTTPException, *_NETWORK_ERRORS) as error:
                self._drop(origin)
                return _failure(error, started)
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            for connection in self._all:
                connection.close()
            self._all.clear()

    def _pool(self) -> dict[tuple[str, str, int | None], http.client.HTTPConnection]:
        pool: dict[tuple[str, str, int | None], http.client.HTTPConnection] | None = getattr(
            self._local, "pool", None
        )
        if pool is None:
            pool = {}
            self._local.pool = pool
        return pool

    def _connection(self, origin: tuple[str, str, int | None]) -> tuple[http.client.HTTPConnection, bool]:
        pool = self._pool()
        existing = pool.get(origin)
        if existing is not None:
            return existing, True
        scheme, host, port = origin
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=self._timeout, context=self._tls or ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self._timeout)
        pool[origin] = connection
        with self._lock:
            self._all.append(connection)
            self.connections_opened += 1
        return connection, False

    def _drop(self, origin: tuple[str, str, int | None]) -> None:
        connection = self._pool().pop(origin, None)
        if connection is not None:
            connection.close()
            with self._lock:
                if connection in self._all:
                    self._all.remove(connection)
