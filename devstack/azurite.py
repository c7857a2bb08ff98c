"""Runs Azurite's Table service (the real Table Storage emulator) as a child process."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_TABLE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite-table"
DEFAULT_TABLE_PORT = 10002
ACCOUNT_NAME = "devstoreaccount1"
# Azurite's published development account and key: public, identical on every machine.
DEV_CONNECTION_STRING_TEMPLATE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
)
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
_STDERR_TAIL_BYTES = 4000


class AzuriteError(RuntimeError):
    """Azurite is missing, could not start, or did not stop."""


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_accepts_connections(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Azurite:
    """`azurite-table` on 127.0.0.1; in-memory unless `location` names a data folder."""

    def __init__(
        self,
        *,
        port: int = 0,
        location: Path | None = None,
        silent: bool = True,
        startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
    ) -> None:
        self._requested_port = port
        self._port: int | None = None
        self._location = location
        self._silent = silent
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise AzuriteError("Azurite has not been started yet; its port is chosen by start()")
        return self._port

    @property
    def connection_string(self) -> str:
        return DEV_CONNECTION_STRING_TEMPLATE.format(port=self.port)

    @property
    def table_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self._process is not None:
            raise AzuriteError("Azurite is already running")
        if not AZURITE_TABLE_BIN.exists():
            raise AzuriteError(
                f"Azurite is not installed ({AZURITE_TABLE_BIN} is missing); run `npm ci` in {REPO_ROOT}"
            )
        port = self._port or self._requested_port or free_port()
        if port_accepts_connections(port):
            raise AzuriteError(
                f"port {port} is already in use; stop whatever listens there (an Azurite left "
                "running?) or choose another port"
            )
        self._port = port
        command = [str(AZURITE_TABLE_BIN), *self._arguments(port)]
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        logger.info("Starting Azurite Table service on 127.0.0.1:%d", port)
        self._process = subprocess.Popen(  # noqa: S603 - fixed executable, arguments built here
            command,
            cwd=self._working_directory(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if self._silent else None,
            stderr=self._stderr,
            start_new_session=True,
        )
        try:
            self._wait_until_listening(port)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process = self._process
        if process is not None:
            self._terminate(process)
            logger.info("Azurite on port %s stopped", self._port)
        self._process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def restart(self) -> None:
        """Stop and start again on the same port (in-memory data does not survive this)."""
        self.stop()
        self.start()

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _arguments(self, port: int) -> list[str]:
        arguments = [
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(port),
            # The SDK may speak a newer service version than this Azurite knows.
            "--skipApiVersionCheck",
            # The account always comes from the path (http://127.0.0.1:port/devstoreaccount1).
            "--disableProductStyleUrl",
            "--disableTelemetry",
        ]
        if self._location is None:
            arguments.append("--inMemoryPersistence")
        else:
            arguments += ["--location", str(self._location)]
        if self._silent:
            arguments.append("--silent")
        return arguments

    def _working_directory(self) -> str:
        if self._location is not None:
            self._location.mkdir(parents=True, exist_ok=True)
            return str(self._location)
        # Azurite may still write small files to its working directory; keep them out of the repo.
        self._workdir = tempfile.TemporaryDirectory(prefix="azurite-")
        return self._workdir.name

    def _wait_until_listening(self, port: int) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise AzuriteError(
                    f"Azurite exited with code {code} while starting on port {port}:\n{self._stderr_tail()}"
                )
            if port_accepts_connections(port):
                logger.info("Azurite Table service ready at http://127.0.0.1:%d/%s", port, ACCOUNT_NAME)
                return
            time.sleep(0.1)
        raise AzuriteError(
            f"Azurite did not accept connections on port {port} within {self._startup_timeout:.0f} s:\n"
            f"{self._stderr_tail()}"
        )

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return "(no output)"
        self._stderr.flush()
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - _STDERR_TAIL_BYTES))
        tail = self._stderr.read().decode("utf-8", errors="replace").strip()
        return tail or "(no output)"

    @staticmethod
    def _terminate(process: subprocess.Popen[bytes]) -> None:
        # Azurite saves its data and closes cleanly on SIGINT only; SIGTERM and SIGKILL are fallbacks.
        # The whole process group is signalled so nothing Azurite spawned outlives it.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if process.poll() is not None:
                break
            _signal_group(process.pid, signum)
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("Azurite (pid %d) did not exit on %s", process.pid, signum.name)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return
