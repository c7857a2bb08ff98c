"""A local contact center (Webex Contact Center-like REST API + a generic signed webhook) for tests and
the dev stack."""

from __future__ import annotations

from devstack.contact_center_simulator.server import ContactCenterSimulator

__all__ = ["ContactCenterSimulator"]
