"""HTTP helpers, a notification receiver and the reference decryption the simulator tests use."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asymmetric_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> HttpResult:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with _OPENER.open(request, timeout=30) as response:
            return HttpResult(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return HttpResult(error.code, dict(error.headers.items()), error.read())


class Sim:
    """Talks to one simulator: control API without auth, Graph with a bearer token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def control(self, method: str, path: str, body: Any = None) -> HttpResult:
        return http(method, f"{self.base_url}/_sim{path}", body)

    def graph(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResult:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        return http(method, f"{self.base_url}/v1.0{path}", body, all_headers)

    def add_user(self, tenant_id: str, **fields: Any) -> dict[str, Any]:
        fields.setdefault("userPrincipalName", f"user-{uuid.uuid4().hex[:8]}@contoso.example")
        result = self.control("POST", f"/tenants/{tenant_id}/users", fields)
        assert result.status == 201, result.body
        user: dict[str, Any] = result.json()
        return user

    def app_token(self, tenant_id: str, client_id: str, roles: list[str] | None = None) -> str:
        body: dict[str, Any] = {"tenantId": tenant_id, "clientId": client_id}
        if roles is not None:
            body["roles"] = roles
        token: str = self.control("POST", "/tokens", body).json()["access_token"]
        return token

    def user_token(
        self, tenant_id: str, client_id: str, user_id: str, scopes: list[str] | None = None
    ) -> str:
        body: dict[str, Any] = {"tenantId": tenant_id, "clientId": client_id, "userId": user_id}
        if scopes is not None:
            body["scopes"] = scopes
        token: str = self.control("POST", "/tokens", body).json()["access_token"]
        return token


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def expiry_in(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


# Notification receiver -------------------------------------------------------------------------


@dataclass
class ReceiverBehaviour:
    echo_validation: bool = True
    validation_status: int = 200
    fail_notifications: int = 0


@dataclass
class Received:
    path: str
    body: dict[str, Any]


@dataclass
class NotificationReceiver:
    """The connector's side: answers validation handshakes and records notification POSTs."""

    behaviour: ReceiverBehaviour = field(default_factory=ReceiverBehaviour)
    received: list[Received] = field(default_factory=list)
    validations: list[str] = field(default_factory=list)
    failed_posts: int = 0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> NotificationReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                query = parse_qs(split.query)
                if "validationToken" in query:
                    token = query["validationToken"][0]
                    with receiver._lock:
                        receiver.validations.append(token)
                    behaviour = receiver.behaviour
                    answer = token.encode() if behaviour.echo_validation else b"nope"
                    self.send_response(behaviour.validation_status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                with receiver._lock:
                    failing = receiver.behaviour.fail_notifications > 0
                    if failing:
                        receiver.behaviour.fail_notifications -= 1
                        receiver.failed_posts += 1
                    else:
                        receiver.received.append(Received(split.path, json.loads(body)))
                self.send_response(500 if failing else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def notifications(self, path: str = "/notifications") -> list[dict[str, Any]]:
        with self._lock:
            return [item for r in self.received if r.path == path for item in r.body["value"]]

    def posts(self, path: str = "/notifications") -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.received if r.path == path]


# Certificates and the reference decryption -----------------------------------------------------


@dataclass(frozen=True)
class EncryptionCertificate:
    private_key: rsa.RSAPrivateKey
    certificate_b64: str


def make_certificate(key_size: int = 2048) -> EncryptionCertificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "notification-test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return EncryptionCertificate(
        key, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    )


def reference_decrypt(encrypted: dict[str, str], private_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """Graph's documented decryption: RSA-OAEP(SHA-1) key unwrap, HMAC-SHA256 check, AES-256-CBC/PKCS7."""
    key = private_key.decrypt(
        base64.b64decode(encrypted["dataKey"]),
        asymmetric_padding.OAEP(
            mgf=asymmetric_padding.MGF1(algorithm=hashes.SHA1()),  # noqa: S303
            algorithm=hashes.SHA1(),  # noqa: S303
            label=None,
        ),
    )
    ciphertext = base64.b64decode(encrypted["data"])
    expected = hmac.new(key, ciphertext, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, base64.b64decode(encrypted["dataSignature"])):
        raise ValueError("dataSignature does not match")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    result: dict[str, Any] = json.loads(unpadder.update(padded) + unpadder.finalize())
    return result
