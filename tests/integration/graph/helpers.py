"""A tiny change-notification receiver, certificates and control-API calls for the gateway tests."""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization

from tests.support.notification_encryption import generate_certificate

# Never through a proxy: the simulator is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def control(base_url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Call the simulator's control API; (status, parsed JSON body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base_url}/_sim{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with _OPENER.open(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


class ValidationReceiver:
    """Answers Graph's validation handshake (200 text/plain, the decoded token) and accepts the rest."""

    def __init__(self) -> None:
        self.validation_tokens: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                tokens = parse_qs(urlsplit(self.path).query).get("validationToken")
                if tokens:
                    with receiver._lock:
                        receiver.validation_tokens.append(tokens[0])
                    answer = tokens[0].encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ValidationReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def handshakes(self) -> int:
        with self._lock:
            return len(self.validation_tokens)


def encryption_certificate_b64() -> str:
    """A fresh self-signed RSA 2048 certificate, base64 DER, as rich subscriptions need."""
    certificate, _ = generate_certificate(common_name="graph-gateway-test")
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
