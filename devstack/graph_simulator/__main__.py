"""Run the simulator: python -m devstack.graph_simulator --port 7072 [--tls-port 7074]."""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from devstack.graph_simulator.server import GraphSimulator
from devstack.simulator_http import run_until_signalled

logger = logging.getLogger(__name__)


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Microsoft Graph + identity platform simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7072)
    parser.add_argument(
        "--tls-port", type=int, default=7074, help="HTTPS listener for MSAL/azure-identity; -1 disables"
    )
    parser.add_argument(
        "--tls-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "graph-simulator-tls",
        help="where the self-signed certificate is kept (reused while valid)",
    )
    parser.add_argument(
        "--api-audience",
        help="client id of the connector's app: the default audience of POST /_sim/token admin tokens",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")

    simulator = GraphSimulator(
        args.host,
        args.port,
        tls_port=None if args.tls_port < 0 else args.tls_port,
        tls_dir=args.tls_dir,
        api_audience=args.api_audience,
    )

    def start() -> None:
        simulator.start()
        logger.info("Graph REST:  %s/v1.0", simulator.base_url)
        logger.info("Control API: %s/_sim", simulator.base_url)
        if simulator.tls_base_url:
            logger.info(
                "HTTPS (MSAL authority base): %s  trust: %s", simulator.tls_base_url, simulator.tls_ca_path
            )

    run_until_signalled(start, simulator.stop)


if __name__ == "__main__":
    main()
