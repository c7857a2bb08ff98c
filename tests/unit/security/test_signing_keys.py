from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.notifications.validation_tokens import ValidationTokenVerifier
from shared.security.exceptions import SigningKeysUnavailable, UnknownSigningKey
from shared.security.signing_keys import (
    MAX_JWKS_BYTES,
    JwksKeySource,
    StaticKeySource,
    fetch_over_http,
    parse_jwks,
)
from tests.unit.notifications.support import APP_ID, TENANT_A, FakeClock, TokenSigner

URL = "https://login.example.test/keys"


class FakeFetch:
    def __init__(self, *documents: dict[str, Any] | Exception) -> None:
        self.documents = list(documents)
        self.calls = 0

    def __call__(self, url: str) -> bytes:
        self.calls += 1
        document = self.documents[min(self.calls, len(self.documents)) - 1]
        if isinstance(document, Exception):
            raise document
        return json.dumps(document).encode()


@pytest.fixture(scope="module")
def rotated_signer() -> TokenSigner:
    return TokenSigner(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid="test-key-2")


def test_keys_are_fetched_once_and_served_from_cache(signer: TokenSigner, clock: FakeClock) -> None:
    # GIVEN a JWKS endpoint
    fetch = FakeFetch(signer.jwks())
    source = JwksKeySource(URL, fetch=fetch, clock=clock)

    # WHEN the same kid is asked for many times
    keys = [source.signing_key(signer.kid) for _ in range(50)]

    # THEN one fetch served them all
    assert fetch.calls == 1
    assert keys[0].public_numbers() == signer.private_key.public_key().public_numbers()


def test_an_unknown_kid_refetches_at_most_once_per_interval(
    signer: TokenSigner, rotated_signer: TokenSigner, clock: FakeClock
) -> None:
    # GIVEN keys loaded a while ago, before the issuer rotated to a new kid
    fetch = FakeFetch(signer.jwks(), {"keys": [signer.jwk(), rotated_signer.jwk()]})
    source = JwksKeySource(URL, fetch=fetch, clock=clock, min_refresh_interval=timedelta(minutes=5))
    source.refresh()
    clock.advance(timedelta(minutes=6))

    # WHEN forged kids arrive in a burst
    for _ in range(10):
        with pytest.raises(UnknownSigningKey):
            source.signing_key("forged")

    # THEN only one refetch happened, and it already brought the rotated key
    assert fetch.calls == 2
    assert source.signing_key(rotated_signer.kid) is not None
    assert fetch.calls == 2


def test_a_rotated_kid_is_found_by_refetching_after_the_interval(
    signer: TokenSigner, rotated_signer: TokenSigner, clock: FakeClock
) -> None:
    # GIVEN keys fetched just now, before the issuer published its new kid
    fetch = FakeFetch(signer.jwks(), rotated_signer.jwks())
    source = JwksKeySource(URL, fetch=fetch, clock=clock, min_refresh_interval=timedelta(minutes=5))
    source.refresh()
    with pytest.raises(UnknownSigningKey):
        source.signing_key(rotated_signer.kid)
    assert fetch.calls == 1

    # WHEN the interval passes
    clock.advance(timedelta(minutes=5))

    # THEN the next lookup refetches and finds it
    assert source.signing_key(rotated_signer.kid) is not None
    assert fetch.calls == 2


def test_stale_keys_are_refreshed_and_withdrawn_keys_stop_working(
    signer: TokenSigner, rotated_signer: TokenSigner, clock: FakeClock
) -> None:
    # GIVEN keys fetched a day ago; the issuer has since withdrawn the old key
    fetch = FakeFetch(signer.jwks(), rotated_signer.jwks())
    source = JwksKeySource(URL, fetch=fetch, clock=clock, max_age=timedelta(hours=24))
    source.signing_key(signer.kid)
    clock.advance(timedelta(hours=24))

    # WHEN / THEN the old kid is no longer trusted
    with pytest.raises(UnknownSigningKey):
        source.signing_key(signer.kid)
    assert fetch.calls == 2


def test_a_failed_refresh_keeps_serving_cached_keys(signer: TokenSigner, clock: FakeClock) -> None:
    # GIVEN stale keys and an issuer that is down
    fetch = FakeFetch(signer.jwks(), SigningKeysUnavailable("down"))
    source = JwksKeySource(URL, fetch=fetch, clock=clock, max_age=timedelta(hours=1))
    source.signing_key(signer.kid)
    clock.advance(timedelta(hours=2))

    # WHEN the known kid is asked for
    key = source.signing_key(signer.kid)

    # THEN the cached key serves, and the failed refresh is not retried on every call
    assert key is not None
    source.signing_key(signer.kid)
    assert fetch.calls == 2


def test_no_keys_at_all_is_reported_as_unavailable_not_as_a_bad_token(clock: FakeClock) -> None:
    # GIVEN an issuer that cannot be reached on a cold start
    fetch = FakeFetch(SigningKeysUnavailable("down"))
    source = JwksKeySource(URL, fetch=fetch, clock=clock)

    # WHEN / THEN the first lookup, and those within the refresh interval, say so without refetching
    with pytest.raises(SigningKeysUnavailable):
        source.signing_key("any")
    with pytest.raises(SigningKeysUnavailable):
        source.signing_key("any")
    assert fetch.calls == 1


def test_a_document_that_is_not_json_is_unavailable(clock: FakeClock) -> None:
    # GIVEN an endpoint answering HTML
    source = JwksKeySource(URL, fetch=lambda url: b"<html>", clock=clock)

    # WHEN / THEN
    with pytest.raises(SigningKeysUnavailable):
        source.refresh()


def test_concurrent_lookups_share_one_fetch(signer: TokenSigner, clock: FakeClock) -> None:
    # GIVEN a slow JWKS endpoint
    calls: list[int] = []

    def slow_fetch(url: str) -> bytes:
        calls.append(1)
        time.sleep(0.05)
        return json.dumps(signer.jwks()).encode()

    source = JwksKeySource(URL, fetch=slow_fetch, clock=clock)
    results: list[object] = []
    barrier = threading.Barrier(8)

    def lookup() -> None:
        barrier.wait()
        results.append(source.signing_key(signer.kid))

    # WHEN eight threads ask at once on a cold start
    threads = [threading.Thread(target=lookup) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN they all got the key from a single fetch
    assert len(results) == 8
    assert len(calls) == 1


def test_parse_jwks_keeps_only_usable_rsa_signing_keys(signer: TokenSigner) -> None:
    # GIVEN a JWKS mixing a good key, an encryption key, an EC key, a weak key and junk
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point of the test
    weak = TokenSigner(weak_key, kid="weak")
    document = {
        "keys": [
            signer.jwk(),
            {**signer.jwk(), "kid": "enc", "use": "enc"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "x", "y": "y"},
            weak.jwk(),
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
            "junk",
        ]
    }

    # WHEN parsed
    keys = parse_jwks(document)

    # THEN only the good key is kept
    assert set(keys) == {signer.kid}


def test_parse_jwks_refuses_a_document_without_keys() -> None:
    with pytest.raises(SigningKeysUnavailable):
        parse_jwks({"nothing": []})


def test_the_verifier_works_end_to_end_with_a_jwks_source(signer: TokenSigner, clock: FakeClock) -> None:
    # GIVEN a verifier whose keys come from a JWKS endpoint
    source = JwksKeySource(URL, fetch=FakeFetch(signer.jwks()), clock=clock)
    verifier = ValidationTokenVerifier(APP_ID, source, clock)

    # WHEN / THEN a Graph-shaped token verifies
    verifier.verify_all([signer.token(TENANT_A)], {TENANT_A})


def test_static_key_source_refuses_unknown_kids(signer: TokenSigner) -> None:
    with pytest.raises(UnknownSigningKey):
        StaticKeySource(signer.jwks()).signing_key("other")


class _JwksHandler(BaseHTTPRequestHandler):
    body: ClassVar[bytes] = b""
    status: ClassVar[int] = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def jwks_server(signer: TokenSigner) -> Iterator[tuple[str, type[_JwksHandler]]]:
    handler = type("Handler", (_JwksHandler,), {"body": json.dumps(signer.jwks()).encode(), "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/common/discovery/v2.0/keys", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_fetch_over_http_reads_a_loopback_jwks(
    jwks_server: tuple[str, type[_JwksHandler]], signer: TokenSigner, clock: FakeClock
) -> None:
    # GIVEN a JWKS served over plain http on loopback (the local stack)
    url, _ = jwks_server

    # WHEN the default fetch is used
    source = JwksKeySource(url, clock=clock)

    # THEN the key is found
    assert source.signing_key(signer.kid) is not None


def test_fetch_over_http_reports_http_errors(jwks_server: tuple[str, type[_JwksHandler]]) -> None:
    # GIVEN an endpoint answering 500
    url, handler = jwks_server
    handler.status = 500

    # WHEN / THEN
    with pytest.raises(SigningKeysUnavailable):
        fetch_over_http(url)


def test_fetch_over_http_refuses_oversized_documents(jwks_server: tuple[str, type[_JwksHandler]]) -> None:
    # GIVEN an endpoint answering more than the size cap
    url, handler = jwks_server
    handler.body = b" " * (MAX_JWKS_BYTES + 10)

    # WHEN / THEN
    with pytest.raises(SigningKeysUnavailable, match="larger than"):
        fetch_over_http(url)


@pytest.mark.parametrize(
    "url", ["http://login.example.test/keys", "file:///etc/passwd", "ftp://127.0.0.1/keys"]
)
def test_fetch_over_http_refuses_plain_http_off_loopback_and_other_schemes(url: str) -> None:
    with pytest.raises(SigningKeysUnavailable, match="must be https"):
        fetch_over_http(url)


def test_fetch_over_http_reports_unreachable_hosts() -> None:
    # GIVEN a loopback port nobody listens on (bind and close to find one)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    port = server.server_address[1]
    server.server_close()

    # WHEN / THEN
    with pytest.raises(SigningKeysUnavailable):
        fetch_over_http(f"http://127.0.0.1:{port}/keys", timeout=2)
