"""A local stand-in for the Azure Functions host (`func start`) serving a `func.FunctionApp`.

HTTP triggers are served by a stdlib threading HTTP server, requests and responses converted the
way the Python worker converts them; timer triggers run on their NCRONTAB schedules; Service Bus
queue triggers are exposed for an in-process dispatcher to call. Like `func start`, function keys
are not checked. `async def` functions run on one event loop in a dedicated thread, as the worker
runs them on its own loop. Paths under `/_devstack/` belong to the local stack itself (diagnostics
of its simulated services), never to the app's functions, whatever the route prefix.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
from azure.functions.timer import TimerRequest

from devstack.function_index import (
    FunctionIndex,
    HttpFunction,
    ServiceBusQueueFunction,
    TimerFunction,
    index_functions,
)
from devstack.routing import (
    MethodNotAllowed,
    NoRoute,
    RouteTable,
    route_prefix_from_host_json,
)

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 7071
# The Functions host's default limit on HTTP request bodies (100 MB).
MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024
IDLE_CONNECTION_TIMEOUT_SECONDS = 120.0
STOP_JOIN_TIMEOUT_SECONDS = 30.0
_LONGEST_TIMER_SLEEP_SECONDS = 60.0
_MAX_LINE = 65536
HOST_ROUTE_ROOT = "/_devstack"

T = TypeVar("T")


class BackgroundService(Protocol):
    """Anything started and stopped together with the host (simulators, dispatchers)."""

    # `object`: some services return themselves from start() for chaining; nobody uses the value.
    def start(self) -> object: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class HostRequest:
    """A request to a host-level route (under /_devstack/); `path` is the full path, query decoded."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


HostRouteHandler = Callable[[HostRequest], HttpReply]


class _BadRequestBodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    @property
    def code(self) -> str:
        # The same code the app answers for its own, smaller limit (shared/http/requests.py).
        return "payloadTooLarge" if self.status == 413 else "badRequest"


TOO_LARGE = f"the body must be at most {MAX_REQUEST_BODY_BYTES} bytes (the Functions host's limit)"


def error_reply(status: int, code: str, message: str, headers: Iterable[tuple[str, str]] = ()) -> HttpReply:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return HttpReply(status, [("Content-Type", "application/json; charset=utf-8"), *headers], body)


class _EventLoopThread:
    """One asyncio loop in a background thread that runs every `async def` function."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run, args=(loop, ready), name="devstack-event-loop", daemon=True
        )
        self._thread.start()
        ready.wait()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the local host is not running; start() it first")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop, self._thread = None, None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_JOIN_TIMEOUT_SECONDS)

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


class _TimerRunner:
    """Runs one timer function on its schedule; never two invocations of it at once, like the host."""

    def __init__(
        self,
        function: TimerFunction,
        invoke: Callable[[TimerFunction, func.TimerRequest], None],
        stopping: threading.Event,
    ) -> None:
        self._function = function
        self._invoke = invoke
        self._stopping = stopping
        self._thread = threading.Thread(target=self._run, name=f"timer-{function.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join(STOP_JOIN_TIMEOUT_SECONDS)
        if self._thread.is_alive():
            logger.warning(
                "Timer function %s did not finish within %.0f s",
                self._function.name,
                STOP_JOIN_TIMEOUT_SECONDS,
            )

    def _run(self) -> None:
        schedule = self._function.schedule
        if self._function.run_on_startup:
            self._fire(past_due=False, last=None, upcoming=schedule.next_after(_utcnow()))
        due = schedule.next_after(_utcnow())
        last: datetime | None = None
        past_due = False
        while self._sleep_until(due):
            upcoming = schedule.next_after(due)
            self._fire(past_due=past_due, last=last, upcoming=upcoming)
            last = due
            finished = _utcnow()
            # Occurrences missed while the function ran collapse into one immediate, past-due run,
            # which is what the host does after missing occurrences.
            if upcoming <= finished:
                due, past_due = finished, True
            else:
                due, past_due = upcoming, False

    def _sleep_until(self, due: datetime) -> bool:
        while True:
            remaining = (due - _utcnow()).total_seconds()
            if remaining <= 0:
                return not self._stopping.is_set()
            if self._stopping.wait(min(remaining, _LONGEST_TIMER_SLEEP_SECONDS)):
                return False

    def _fire(self, *, past_due: bool, last: datetime | None, upcoming: datetime) -> None:
        status = {"Next": upcoming.isoformat(), "LastUpdated": _utcnow().isoformat()}
        if last is not None:
            status["Last"] = last.isoformat()
        request = TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})
        try:
            self._invoke(self._function, request)
        except Exception:
            logger.exception("Timer function %s failed; it stays on its schedule", self._function.name)


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close so that stop() lets in-flight requests finish.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], host: LocalHost) -> None:
        self.local_host = host
        self.stopping = False
        self._connections: dict[_Handler, bool] = {}
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def connection_opened(self, handler: _Handler) -> None:
        with self._connections_lock:
            self._connections[handler] = False

    def connection_closed(self, handler: _Handler) -> None:
        with self._connections_lock:
            self._connections.pop(handler, None)

    def request_started(self, handler: _Handler) -> None:
        with self._connections_lock:
            self._connections[handler] = True

    def request_finished(self, handler: _Handler) -> None:
        with self._connections_lock:
            self._connections[handler] = False

    def close_idle_connections(self) -> None:
        """Wake keep-alive connections waiting for a next request so their threads end."""
        with self._connections_lock:
            self.stopping = True
            idle = [handler for handler, busy in self._connections.items() if not busy]
        for handler in idle:
            try:
                handler.connection.shutdown(socket.SHUT_RD)
            except OSError:
                logger.debug("Connection from %s was already closed", handler.client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Called from socketserver's except block: clients dropping connections are routine.
        logger.debug("Connection from %s ended with %r", client_address, sys.exc_info()[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "devstack-functions-host"
    timeout = IDLE_CONNECTION_TIMEOUT_SECONDS
    # Headers and body go out in separate writes; with Nagle on, loopback clients wait ~40-60 ms for
    # the delayed ACK on every keep-alive answer.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.connection_opened(self)

    def finish(self) -> None:
        self.server.connection_closed(self)
        super().finish()

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own refusals, before any function runs, in the error envelope like every other
        answer: a request line over 64 KB (414), a header line over 64 KB or over 100 headers (431), a
        malformed request line (400). Anything else keeps the stdlib's page."""
        self.close_connection = True
        if code == 414:
            reply = error_reply(414, "uriTooLong", "the URL is longer than the host takes (64 KB here)")
        elif code == 431:
            reply = error_reply(431, "headersTooLarge", "a header line is too long, or there are too many")
        elif code == 400:
            reply = error_reply(400, "badRequest", message or "the request is malformed")
        else:
            super().send_error(code, message, explain)
            return
        self._write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        # The stdlib writes these to stderr; one request line is logged by _dispatch instead.
        # Without the query: it carries authorization codes, consent and sign-in states.
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s", self.address_string(), _without_query(format % args))

    def _dispatch(self) -> None:
        started = time.perf_counter()
        self.server.request_started(self)
        path = urlsplit(self.path).path
        reply = HttpReply(500)
        try:
            try:
                body = self._read_body()
            except _BadRequestBodyError as error:
                self.close_connection = True
                reply = error_reply(error.status, error.code, str(error))
            else:
                reply = self.server.local_host.handle_request(
                    method=self.command,
                    target=self.path,
                    headers=list(self.headers.items()),
                    body=body,
                    authority=self.headers.get("Host"),
                )
            self._write(reply)
        finally:
            self.server.request_finished(self)
            if self.server.stopping:
                self.close_connection = True
            # The path only: query strings carry tokens and consent states.
            logger.info(
                "%s %s %d %.1fms", self.command, path, reply.status, (time.perf_counter() - started) * 1000
            )

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _read_chunked(self.rfile)
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        if not length_text.strip().isdigit():
            raise _BadRequestBodyError(400, "Content-Length must be a non-negative whole number")
        length = int(length_text)
        if length > MAX_REQUEST_BODY_BYTES:
            raise _BadRequestBodyError(413, TOO_LARGE)
        body = self.rfile.read(length)
        if len(body) != length:
            raise _BadRequestBodyError(400, "request body is shorter than its Content-Length")
        return body

    def _write(self, reply: HttpReply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        has_body = reply.status >= 200 and reply.status not in (204, 304)
        if has_body:
            self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if has_body and self.command != "HEAD":
            self.wfile.write(reply.body)


def _without_query(line: str) -> str:
    """A logged request line (`"GET /path?query HTTP/1.1" 200 -`) without its query string."""
    return re.sub(r"\?[^\s\"]*", "", line, count=1)


def _read_chunked(stream: io.BufferedIOBase) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = stream.readline(_MAX_LINE)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadRequestBodyError(400, "malformed chunked request body") from None
        if size == 0:
            while stream.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                continue
            return b"".join(parts)
        total += size
        if total > MAX_REQUEST_BODY_BYTES:
            raise _BadRequestBodyError(413, TOO_LARGE)
        chunk = stream.read(size)
        if len(chunk) != size:
            raise _BadRequestBodyError(400, "chunked request body ended early")
        parts.append(chunk)
        stream.readline(_MAX_LINE)


class LocalHost:
    """Serves a FunctionApp on http://host:port like `func start`; see the module docstring."""

    def __init__(
        self,
        app: func.FunctionApp,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        route_prefix: str | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._index = index_functions(app)
        prefix = (
            route_prefix if route_prefix is not None else route_prefix_from_host_json(REPO_ROOT / "host.json")
        )
        self._routes: RouteTable[HttpFunction] = RouteTable(prefix)
        for function in self._index.http:
            self._routes.add(function.route, function.methods, function)
        self._service_bus = {function.name: function for function in self._index.service_bus}
        self._host_routes: dict[str, HostRouteHandler] = {}
        self._services: list[BackgroundService] = []
        self._started_services: list[BackgroundService] = []
        self._lifecycle = threading.Lock()
        self._loop: _EventLoopThread | None = None
        self._server: _Server | None = None
        self._server_thread: threading.Thread | None = None
        self._timers: list[_TimerRunner] = []
        self._timers_stopping = threading.Event()

    @property
    def functions(self) -> FunctionIndex:
        return self._index

    @property
    def service_bus_functions(self) -> tuple[ServiceBusQueueFunction, ...]:
        return self._index.service_bus

    @property
    def route_prefix(self) -> str:
        return self._routes.route_prefix

    @property
    def port(self) -> int:
        if self._server is None:
            if self._port == 0:
                raise RuntimeError("the port is chosen when the host starts; start() it first")
            return self._port
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def public_path(self, function: HttpFunction) -> str:
        """The path clients call for an HTTP function, route prefix included."""
        return self._routes.public_path(function.route)

    def add_background_service(self, service: BackgroundService) -> None:
        """Start `service` with the host and stop it with the host (now, if the host is running)."""
        with self._lifecycle:
            self._services.append(service)
            if self._server is not None:
                service.start()
                self._started_services.append(service)

    def add_host_route(self, path: str, handler: HostRouteHandler) -> None:
        """Serve `path` (under /_devstack/) and everything below it with `handler`, outside the
        function route table."""
        normalized = "/" + path.strip("/")
        if not normalized.startswith(HOST_ROUTE_ROOT + "/"):
            raise ValueError(f"host routes live under {HOST_ROUTE_ROOT}/, got {path!r}")
        with self._lifecycle:
            if normalized in self._host_routes:
                raise ValueError(f"{normalized} is already served by another host route")
            # Replaced, never mutated: request threads read the table without the lock.
            self._host_routes = {**self._host_routes, normalized: handler}

    def start(self) -> None:
        with self._lifecycle:
            if self._server is not None:
                raise RuntimeError("the local host is already running")
            try:
                self._start_locked()
            except BaseException:
                self._stop_locked()
                raise
        logger.info(
            "Local Functions host listening on %s (%d HTTP, %d timer, %d Service Bus functions)",
            self.base_url,
            len(self._index.http),
            len(self._index.timers),
            len(self._index.service_bus),
        )

    def stop(self) -> None:
        """Stop accepting requests, let in-flight ones finish, stop timers and services."""
        with self._lifecycle:
            self._stop_locked()

    def __enter__(self) -> LocalHost:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def invoke_service_bus(self, function_name: str, message: func.ServiceBusMessage) -> None:
        """Run a Service Bus queue function on one message; its exception propagates to the caller,
        which settles the message (abandon / dead-letter) as the host would."""
        function = self._service_bus.get(function_name)
        if function is None:
            known = ", ".join(sorted(self._service_bus)) or "none"
            raise LookupError(f"no Service Bus queue function named {function_name!r} (known: {known})")
        self._call(function.callable, {function.param_name: message})

    def handle_request(
        self,
        *,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        authority: str | None,
    ) -> HttpReply:
        """Route one HTTP request to its function and convert the answer."""
        split = urlsplit(target)
        if _is_host_path(split.path):
            return self._handle_host_request(method, split.path, split.query, headers, body)
        resolution = self._routes.resolve(method, split.path)
        if isinstance(resolution, NoRoute):
            return error_reply(404, "notFound", f"No function serves {split.path}")
        if isinstance(resolution, MethodNotAllowed):
            allowed = ", ".join(sorted(resolution.allowed))
            return error_reply(
                405,
                "methodNotAllowed",
                f"Method {method} is not allowed on {split.path}; allowed: {allowed}",
                [("Allow", allowed)],
            )
        function = resolution.target
        base = f"http://{authority or f'{self._host}:{self.port}'}"
        request = func.HttpRequest(
            method=method,
            url=target if split.scheme else base + target,
            headers=_merge_headers(headers),
            params=_first_values(split.query),
            route_params=resolution.route_params,
            body=body,
        )
        try:
            result = self._call(function.callable, {function.param_name: request})
        except Exception:
            logger.exception("Function %s failed", function.name)
            return error_reply(500, "internalError", f"Function {function.name} failed; see the host log")
        try:
            return _to_reply(result)
        except TypeError:
            logger.exception("Function %s returned something that is not an HTTP response", function.name)
            return error_reply(500, "internalError", f"Function {function.name} returned an invalid response")

    def _handle_host_request(
        self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes
    ) -> HttpReply:
        normalized = "/" + path.strip("/")
        routes = self._host_routes
        # The longest registered path that is the request path or one of its ancestors.
        mount = max(
            (
                candidate
                for candidate in routes
                if normalized == candidate or normalized.startswith(candidate + "/")
            ),
            key=len,
            default=None,
        )
        if mount is None:
            return error_reply(404, "notFound", f"Nothing in the local stack serves {path}")
        request = HostRequest(method, normalized, _first_values(query), _merge_headers(headers), body)
        try:
            return routes[mount](request)
        except Exception:
            logger.exception("Host route %s failed on %s %s", mount, method, normalized)
            return error_reply(500, "internalError", f"The local stack failed to serve {path}; see its log")

    def _call(self, target: Callable[..., Any], arguments: dict[str, Any]) -> Any:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the local host is not running; start() it first")
        if inspect.iscoroutinefunction(target):
            return loop.run(target(**arguments))
        result = target(**arguments)
        # A sync wrapper around an async function hands back a coroutine; the worker awaits it too.
        if inspect.iscoroutine(result):
            return loop.run(result)
        return result

    def _invoke_timer(self, function: TimerFunction, request: func.TimerRequest) -> None:
        started = time.perf_counter()
        self._call(function.callable, {function.param_name: request})
        logger.info(
            "Timer function %s ran (past due: %s) in %.1fms",
            function.name,
            request.past_due,
            (time.perf_counter() - started) * 1000,
        )

    def _start_locked(self) -> None:
        self._loop = _EventLoopThread()
        self._loop.start()
        for service in self._services:
            service.start()
            self._started_services.append(service)
        server = _Server((self._host, self._port), self)
        self._server = server
        self._server_thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="devstack-http", daemon=True
        )
        self._server_thread.start()
        self._timers_stopping = threading.Event()
        self._timers = [
            _TimerRunner(function, self._invoke_timer, self._timers_stopping)
            for function in self._index.timers
        ]
        for runner in self._timers:
            runner.start()

    def _stop_locked(self) -> None:
        server, thread = self._server, self._server_thread
        if server is not None and thread is not None:
            server.shutdown()
            server.close_idle_connections()
            server.server_close()
            thread.join(STOP_JOIN_TIMEOUT_SECONDS)
        self._server, self._server_thread = None, None
        self._timers_stopping.set()
        for runner in self._timers:
            runner.join()
        self._timers = []
        while self._started_services:
            service = self._started_services.pop()
            try:
                service.stop()
            except Exception:
                logger.exception("Background service %r failed to stop", service)
        if self._loop is not None:
            self._loop.stop()
            self._loop = None


def _is_host_path(path: str) -> bool:
    return path == HOST_ROUTE_ROOT or path.startswith(HOST_ROUTE_ROOT + "/")


def _merge_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Repeated headers are joined with ', ', as ASP.NET hands them to the worker."""
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _first_values(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, value)
    return params


def _to_reply(result: object) -> HttpReply:
    if result is None:
        return HttpReply(204)
    if isinstance(result, str):
        return HttpReply(200, [("Content-Type", "text/plain; charset=utf-8")], result.encode())
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"expected func.HttpResponse or str, got {type(result).__name__}")
    headers: list[tuple[str, str]] = [(str(name), str(value)) for name, value in result.headers.items()]
    if not any(name.lower() == "content-type" for name, _ in headers):
        mimetype, charset = str(result.mimetype), str(result.charset)
        # The worker adds the charset only to text types.
        headers.append(
            ("Content-Type", f"{mimetype}; charset={charset}" if mimetype.startswith("text/") else mimetype)
        )
    return HttpReply(int(result.status_code), headers, result.get_body())


def _utcnow() -> datetime:
    return datetime.now(UTC)
