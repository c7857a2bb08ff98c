"""The HTTP plumbing the local simulators share: request/response values, a regex router, a threading
server with start/stop, injected faults, proxy-free outbound calls and a keyed delivery queue with
retries. Each simulator keeps its own error formats and routes; only the transport lives here."""

from __future__ import annotations

from devstack.simulator_http.delivery import DeliveryQueue
from devstack.simulator_http.faults import FaultInjector, FaultRule
from devstack.simulator_http.messages import MalformedBody, Request, Response
from devstack.simulator_http.outbound import KeepAliveSender, OutboundResult, post
from devstack.simulator_http.routing import Handler, Router
from devstack.simulator_http.server import SimulatorServer, run_until_signalled

__all__ = [
    "DeliveryQueue",
    "FaultInjector",
    "FaultRule",
    "Handler",
    "KeepAliveSender",
    "MalformedBody",
    "OutboundResult",
    "Request",
    "Response",
    "Router",
    "SimulatorServer",
    "post",
    "run_until_signalled",
]
