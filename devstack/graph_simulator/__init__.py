"""A local Microsoft Graph v1.0 + identity platform simulator for tests and the dev stack."""

from __future__ import annotations

from devstack.graph_simulator.clock import SimulatorClock
from devstack.graph_simulator.server import GraphSimulator

__all__ = ["GraphSimulator", "SimulatorClock"]
