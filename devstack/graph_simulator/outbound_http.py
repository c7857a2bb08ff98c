"""HTTP calls the simulator makes to the connector (handshakes and notifications): the shared kit's."""

from __future__ import annotations

from devstack.simulator_http.outbound import OutboundResult, post

__all__ = ["OutboundResult", "post"]
