"""Azurite's Table service run as a child process: start, round trip, restart, stop."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient

from devstack import azurite as azurite_module
from devstack.azurite import Azurite, AzuriteError, port_accepts_connections

pytestmark = pytest.mark.integration


def round_trip(emulator: Azurite, table: str, value: int) -> int:
    service = TableServiceClient.from_connection_string(emulator.connection_string)
    client = service.create_table_if_not_exists(table)
    client.upsert_entity({"PartitionKey": "p", "RowKey": "r", "value": value})
    return int(client.get_entity("p", "r")["value"])


def stored_value(emulator: Azurite, table: str) -> int:
    service = TableServiceClient.from_connection_string(emulator.connection_string)
    return int(service.get_table_client(table).get_entity("p", "r")["value"])


def test_started_azurite_stores_and_returns_entities(azurite: Azurite) -> None:
    # GIVEN a running emulator WHEN writing and reading an entity through the SDK THEN it round-trips
    assert round_trip(azurite, "roundtrip", 42) == 42
    assert f"TableEndpoint=http://127.0.0.1:{azurite.port}/devstoreaccount1" in azurite.connection_string
    assert "AccountName=devstoreaccount1;AccountKey=" in azurite.connection_string


def test_restart_keeps_the_port_and_in_memory_data_is_gone(azurite: Azurite) -> None:
    # GIVEN an in-memory emulator with data
    round_trip(azurite, "restarted", 1)
    port = azurite.port

    # WHEN restarting it
    azurite.restart()

    # THEN it answers on the same port, empty
    assert azurite.port == port
    assert round_trip(azurite, "restarted", 2) == 2


def test_data_in_a_location_survives_a_restart(tmp_path: Path) -> None:
    # GIVEN an emulator persisting to a folder, with data
    with Azurite(location=tmp_path / "data") as emulator:
        round_trip(emulator, "persisted", 7)

        # WHEN it restarts THEN the data is still there
        emulator.restart()
        assert stored_value(emulator, "persisted") == 7


def test_stop_ends_the_process_and_frees_the_port() -> None:
    # GIVEN a running emulator
    emulator = Azurite()
    emulator.start()
    pid, port = emulator.pid, emulator.port
    assert pid is not None

    # WHEN stopping it
    emulator.stop()

    # THEN nothing listens on its port and its process is gone
    assert not emulator.running
    assert not port_accepts_connections(port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_busy_port_is_reported_clearly() -> None:
    # GIVEN a port something else listens on
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        # WHEN starting Azurite there THEN the error names the port
        with pytest.raises(AzuriteError, match=f"port {port} is already in use"):
            Azurite(port=port).start()


def test_missing_installation_tells_to_run_npm_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(azurite_module, "AZURITE_TABLE_BIN", tmp_path / "azurite-table")

    with pytest.raises(AzuriteError, match="npm ci"):
        Azurite().start()


def test_startup_failure_includes_azurite_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # GIVEN an "azurite" that fails immediately with a message on stderr
    fake = tmp_path / "azurite-table"
    fake.write_text("#!/bin/sh\necho 'cannot open database' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(azurite_module, "AZURITE_TABLE_BIN", fake)

    # WHEN starting it THEN the error carries the exit code and the output
    with pytest.raises(AzuriteError, match=r"(?s)exited with code 3.*cannot open database"):
        Azurite().start()


def test_port_is_unknown_before_start() -> None:
    with pytest.raises(AzuriteError, match="not been started"):
        _ = Azurite().port
