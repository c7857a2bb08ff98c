"""Run the simulator: python -m devstack.contact_center_simulator --port 7073."""

from __future__ import annotations

import argparse
import logging

from devstack.contact_center_simulator.server import DEFAULT_PORT, ContactCenterSimulator
from devstack.simulator_http import run_until_signalled

logger = logging.getLogger(__name__)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Local contact center (Webex Contact Center + signed webhook)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--no-echo",
        action="store_true",
        help="do not send agent events for state changes the connector itself made",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")

    simulator = ContactCenterSimulator(args.port, args.host, echo_connector_changes=not args.no_echo)

    def start() -> None:
        simulator.start()
        logger.info("Webex:          %s (authorize %s)", simulator.base_url, simulator.authorize_url)
        logger.info("Webhook:        %s", simulator.webhook_url)
        logger.info("Control API:    %s/_sim", simulator.base_url)

    run_until_signalled(start, simulator.stop)


if __name__ == "__main__":
    main()
