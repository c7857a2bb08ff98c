"""A local contact center for tests and the dev stack: Webex Contact Center as its published contract
describes it, and a generic signed webhook contact center."""

from __future__ import annotations

from devstack.contact_center_simulator.server import ContactCenterSimulator

__all__ = ["ContactCenterSimulator"]
