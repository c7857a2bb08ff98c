"""A simulator in a process of its own, so a benchmark can tell the connector's CPU from the
simulators' (each process's CPU is read from /proc).

The child builds the simulator from a factory (a module-level function, so the `spawn` start method
can pickle it), starts it, sends back the attributes the benchmark reads (URLs, paths), then answers
method calls over a pipe until it is told to stop. Nothing of the simulator is shared with the parent
but its HTTP ports.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from devstack.contact_center_simulator import ContactCenterSimulator
from devstack.graph_simulator import GraphSimulator

START_TIMEOUT_SECONDS: Final = 60.0
_STOP: Final = "stop"


def _serve(factory: Callable[[], Any], attributes: Sequence[str], pipe: Connection) -> None:
    simulator = factory()
    simulator.start()
    pipe.send({name: getattr(simulator, name) for name in attributes})
    try:
        while True:
            method, args = pipe.recv()
            if method == _STOP:
                break
            try:
                pipe.send((True, _resolve(simulator, method)(*args)))
            except Exception as error:  # the parent re-raises it
                pipe.send((False, repr(error)))
    finally:
        simulator.stop()
        pipe.send((True, None))


def _resolve(simulator: Any, dotted: str) -> Any:
    """`wait_for_deliveries`, or a method of a part of the simulator (`state.record_consent`)."""
    target = simulator
    for name in dotted.split("."):
        target = getattr(target, name)
    return target


class SimulatorProcess:
    """The simulator's attributes (read once, after it started) and its methods, by name."""

    def __init__(self, factory: Callable[[], Any], attributes: Sequence[str]) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(factory, tuple(attributes), child), daemon=True)
        self._process.start()
        if not self._pipe.poll(START_TIMEOUT_SECONDS):
            self._process.kill()
            raise RuntimeError(f"the simulator of {factory!r} did not start within {START_TIMEOUT_SECONDS} s")
        self.attributes: dict[str, Any] = self._pipe.recv()

    def __getattr__(self, name: str) -> Any:
        attributes = self.__dict__.get("attributes", {})
        if name in attributes:
            return attributes[name]
        raise AttributeError(name)

    @property
    def pid(self) -> int:
        return int(self._process.pid or 0)

    def call(self, method: str, *args: Any) -> Any:
        self._pipe.send((method, args))
        ok, value = self._pipe.recv()
        if not ok:
            raise RuntimeError(f"{method} failed in the simulator process: {value}")
        return value

    def stop(self) -> None:
        if self._process.is_alive():
            self._pipe.send((_STOP, ()))
            self._pipe.poll(10)
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


def graph_simulator(tls_dir: str) -> GraphSimulator:
    """The Graph simulator as the benchmarks run it (TLS on, certificates in `tls_dir`)."""
    return GraphSimulator(port=0, tls_port=0, tls_dir=Path(tls_dir))


def contact_center_simulator() -> ContactCenterSimulator:
    return ContactCenterSimulator(port=0)


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far; None when it cannot be read."""
    if pid is None:
        return None
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        # Fields after the command name (which may hold spaces): state is the first, utime the 12th.
        fields = text.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
