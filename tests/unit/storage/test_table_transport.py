"""The table store's HTTP session reads the proxy and CA-bundle environment once, for its endpoint,
not on every request (requests does that per request while `trust_env` is on)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.storage.table_store import table_transport

ENDPOINT = "https://account.table.core.windows.net"


def session_of(endpoint: str) -> Any:
    return table_transport(endpoint).session  # type: ignore[attr-defined]


def test_the_session_no_longer_reads_the_environment_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    session = session_of(ENDPOINT)
    assert session.trust_env is False
    # GIVEN the environment changes after the store was built, THEN the session keeps what it read
    monkeypatch.setenv("HTTPS_PROXY", "http://other.example.com:3128")
    assert session.proxies["https"] == "http://proxy.example.com:3128"


def test_no_proxy_for_the_endpoint_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    monkeypatch.setenv("NO_PROXY", ".core.windows.net")
    assert not session_of(ENDPOINT).proxies


def test_a_ca_bundle_from_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert session_of(ENDPOINT).verify == "/etc/ssl/certs/ca-certificates.crt"


def test_without_a_ca_bundle_the_default_trust_store_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert session_of(ENDPOINT).verify is True
