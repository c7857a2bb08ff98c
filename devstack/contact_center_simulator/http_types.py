"""The shared request/response values and router (devstack.simulator_http)."""

from __future__ import annotations

from devstack.simulator_http import Handler, Request, Response, Router

__all__ = ["Handler", "Request", "Response", "Router"]
