"""The `python -m devstack` decisions that need no process: storage choice, app loading, arguments."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from devstack.__main__ import (
    DevStackError,
    load_app,
    needs_local_azurite,
    parse_arguments,
    point_settings_at_contact_center_simulator,
    point_settings_at_simulator,
)
from tests.fixtures import sample_function_app


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, True),
        ({"TABLES_CONNECTION_STRING": "UseDevelopmentStorage=true"}, True),
        ({"TABLES_CONNECTION_STRING": " usedevelopmentstorage = TRUE; "}, True),
        ({"TABLES_CONNECTION_STRING": "", "TABLES_ENDPOINT": ""}, True),
        ({"TABLES_ENDPOINT": "https://acct.table.core.windows.net"}, False),
        (
            {
                "TABLES_CONNECTION_STRING": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                "TableEndpoint=http://127.0.0.1:20002/devstoreaccount1;"
            },
            False,
        ),
    ],
)
def test_local_azurite_is_started_only_for_development_storage(
    environ: dict[str, str], expected: bool
) -> None:
    assert needs_local_azurite(environ) is expected


def test_load_app_imports_module_and_attribute() -> None:
    assert load_app("tests.fixtures.sample_function_app:app") is sample_function_app.app
    assert load_app("tests.fixtures.sample_function_app") is sample_function_app.app


def test_load_app_refuses_what_is_not_a_function_app() -> None:
    with pytest.raises(DevStackError, match=r"is not an azure\.functions\.FunctionApp"):
        load_app("tests.fixtures.sample_function_app:bp")
    with pytest.raises(DevStackError, match="module:attribute"):
        load_app(":app")


def test_port_comes_from_the_port_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")

    config = parse_arguments(["--azurite-in-memory"])

    assert config.port == 8123
    assert config.azurite_data is None
    assert config.app_spec == "function_app:app"
    assert parse_arguments(["--port", "9000"]).port == 9000


class _RunningSimulator:
    base_url = "http://127.0.0.1:50001"
    tls_base_url = "https://127.0.0.1:50002"
    tls_ca_path = Path("/srv/sim/graph-simulator-cert.pem")


def test_loopback_graph_settings_follow_the_simulator_ports() -> None:
    # GIVEN the example's loopback settings and a simulator on other ports
    environ = {
        "ENTRA_AUTHORITY_HOST": "http://127.0.0.1:7072",
        "ENTRA_TOKEN_AUTHORITY_HOST": "https://127.0.0.1:7074",
        "GRAPH_BASE_URL": "http://127.0.0.1:7072/v1.0",
        "GRAPH_NOTIFICATION_JWKS_URL": "",
        "ENTRA_TOKEN_JWKS_URL": "http://127.0.0.1:7072/common/discovery/v2.0/keys",
    }
    # WHEN the stack points them at the simulator
    point_settings_at_simulator(environ, _RunningSimulator())  # type: ignore[arg-type]
    # THEN every one names the running simulator, and its CA is trusted
    assert environ == {
        "ENTRA_AUTHORITY_HOST": "http://127.0.0.1:50001",
        "ENTRA_TOKEN_AUTHORITY_HOST": "https://127.0.0.1:50002",
        "GRAPH_BASE_URL": "http://127.0.0.1:50001/v1.0",
        "GRAPH_NOTIFICATION_JWKS_URL": "http://127.0.0.1:50001/common/discovery/v2.0/keys",
        "ENTRA_TOKEN_JWKS_URL": "http://127.0.0.1:50001/common/discovery/v2.0/keys",
        "ENTRA_AUTHORITY_CA_BUNDLE": "/srv/sim/graph-simulator-cert.pem",
    }


def test_real_endpoints_are_left_alone() -> None:
    environ = {
        "ENTRA_AUTHORITY_HOST": "https://login.microsoftonline.com",
        "ENTRA_TOKEN_AUTHORITY_HOST": "https://login.microsoftonline.com",
        "GRAPH_BASE_URL": "https://graph.microsoft.com/v1.0",
        "GRAPH_NOTIFICATION_JWKS_URL": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
        "ENTRA_TOKEN_JWKS_URL": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
    }
    before = dict(environ)
    point_settings_at_simulator(environ, _RunningSimulator())  # type: ignore[arg-type]
    assert environ == before


def test_the_contact_center_simulator_demo_and_live_view_are_on_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CONTACT_CENTER_SIMULATOR_PORT", raising=False)

    config = parse_arguments([])

    assert config.contact_center_simulator_port == 7073
    assert config.demo is True
    assert config.live_view is True


def test_contact_center_simulator_port_comes_from_the_flag_or_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONTACT_CENTER_SIMULATOR_PORT", "0")

    assert parse_arguments([]).contact_center_simulator_port == 0
    assert parse_arguments(["--contact-center-simulator-port", "9073"]).contact_center_simulator_port == 9073
    assert parse_arguments(["--no-contact-center-simulator"]).contact_center_simulator_port is None


def test_demo_and_live_view_can_be_turned_off() -> None:
    assert parse_arguments(["--no-demo"]).demo is False
    # The flag is named after what it does: the whole log stays on screen, the live view does not start
    full_log = parse_arguments(["--full-log"])
    assert (full_log.demo, full_log.live_view) == (True, False)
    assert parse_arguments([]).live_view is True
    # The old name still works for scripts that use it, and is no longer offered
    assert parse_arguments(["--quiet"]).live_view is False
    assert "--quiet" not in build_parser_help()


def build_parser_help() -> str:
    with pytest.raises(SystemExit), contextlib.redirect_stdout(io.StringIO()) as out:
        parse_arguments(["--help"])
    return out.getvalue()


def test_every_simulator_port_can_be_moved_off_the_defaults() -> None:
    config = parse_arguments(
        [
            "--port",
            "21071",
            "--graph-simulator-port",
            "21072",
            "--graph-simulator-tls-port",
            "21074",
            "--contact-center-simulator-port",
            "21073",
            "--azurite-port",
            "21002",
        ]
    )
    assert (
        config.port,
        config.graph_simulator_port,
        config.graph_simulator_tls_port,
        config.contact_center_simulator_port,
        config.azurite_port,
    ) == (21071, 21072, 21074, 21073, 21002)


class _RunningContactCenter:
    token_url = "http://127.0.0.1:50003/v1/access_token"
    authorize_url = "http://127.0.0.1:50003/v1/authorize"


@pytest.mark.parametrize(
    "configured", ["http://127.0.0.1:7073/v1/access_token", "http://localhost:7073/v1/access_token", ""]
)
def test_a_loopback_or_missing_webex_token_url_follows_the_contact_center_simulator(configured: str) -> None:
    # GIVEN the example's loopback token URL (or none) and a simulator on another port
    environ = {"WEBEX_TOKEN_URL": configured} if configured else {}
    # WHEN the stack points it at the simulator
    point_settings_at_contact_center_simulator(environ, _RunningContactCenter())  # type: ignore[arg-type]
    # THEN it names the running simulator's token endpoint
    assert environ["WEBEX_TOKEN_URL"] == "http://127.0.0.1:50003/v1/access_token"
    assert environ["WEBEX_AUTHORIZE_URL"] == "http://127.0.0.1:50003/v1/authorize"


def test_a_real_webex_token_url_is_left_alone() -> None:
    environ = {
        "WEBEX_TOKEN_URL": "https://webexapis.com/v1/access_token",
        "WEBEX_AUTHORIZE_URL": "https://webexapis.com/v1/authorize",
    }
    point_settings_at_contact_center_simulator(environ, _RunningContactCenter())  # type: ignore[arg-type]
    assert environ == {
        "WEBEX_TOKEN_URL": "https://webexapis.com/v1/access_token",
        "WEBEX_AUTHORIZE_URL": "https://webexapis.com/v1/authorize",
    }


def test_debug_log_opens_every_logger_and_implies_the_full_log() -> None:
    import logging

    from devstack.__main__ import SDK_LOGGERS, configure_logging

    config = parse_arguments(["--debug-log"])
    assert (config.debug_log, config.live_view) == (True, False)
    assert parse_arguments([]).debug_log is False
    saved = {name: logging.getLogger(name).level for name in ("", *SDK_LOGGERS)}
    try:
        configure_logging(debug=True)
        assert {"azure", "msal", "httpx", "urllib3"} <= set(SDK_LOGGERS)
        assert all(logging.getLogger(name).getEffectiveLevel() == logging.DEBUG for name in SDK_LOGGERS)
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_the_hosts_debug_request_lines_leave_the_query_out() -> None:
    from devstack.host import _without_query

    line = '"GET /api/auth/callback?code=secret-code&state=s HTTP/1.1" 201 -'
    assert _without_query(line) == '"GET /api/auth/callback HTTP/1.1" 201 -'
    assert _without_query('"GET /api/health HTTP/1.1" 200 -') == '"GET /api/health HTTP/1.1" 200 -'
