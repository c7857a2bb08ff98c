"""The `python -m devstack` decisions that need no process: storage choice, app loading, arguments."""

from __future__ import annotations

import pytest

from devstack.__main__ import DevStackError, load_app, needs_local_azurite, parse_arguments
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
