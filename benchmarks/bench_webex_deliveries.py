"""Throughput and latency of the contact-center simulator's Webex deliveries (signed CloudEvents over
keep-alive connections, in order per agent), against a local HTTP/1.1 receiver that checks every
signature and the per-agent order.

Run from the repository root:
    .venv/bin/python -m benchmarks.bench_webex_deliveries [--agents 50 --changes 20]

Each agent is logged in, then toggles available / idle `--changes` times through the control API's
store (no HTTP on the sending side, so the figures are the delivery path's). Printed: events, wall time,
events per second, delivery latency (emission to receipt) p50 / p95 / max, connections opened, order
violations and bad signatures (both must be 0: the exit code says so).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devstack.contact_center_simulator import ContactCenterSimulator
from devstack.contact_center_simulator.webex.rules import SubscriptionFields
from devstack.contact_center_simulator.webex.store import DEFAULT_ORG_ID

SECRET = "bench-subscription-secret-0123456789abcdef"  # noqa: S105 - a fixed test value


@dataclass
class Receipts:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies_ms: list[float] = field(default_factory=list)
    last_time: dict[str, int] = field(default_factory=dict)
    order_violations: int = 0
    bad_signatures: int = 0
    count: int = 0

    def take(self, body: bytes, signature: str | None) -> None:
        event = json.loads(body)
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        data = event["data"]
        with self.lock:
            self.count += 1
            if signature is None or not hmac.compare_digest(signature, expected):
                self.bad_signatures += 1
            agent, created = data["agentId"], int(data["createdTime"])
            if created < self.last_time.get(agent, 0):
                self.order_violations += 1
            self.last_time[agent] = created
            self.latencies_ms.append(time.time() * 1000 - created)


def _receiver(receipts: Receipts) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receipts.take(body, self.headers.get("X-WebexCC-Signature"))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True).start()
    return server


@dataclass(frozen=True)
class Result:
    events: int
    seconds: float
    latencies_ms: list[float]
    connections: int
    order_violations: int
    bad_signatures: int
    delivered: int


def run(agents: int, changes: int) -> Result:
    receipts = Receipts()
    receiver = _receiver(receipts)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/api/contact-center/webex/events"
    try:
        with ContactCenterSimulator(port=0) as sim:
            types = ["agent:login", "agent:state_change"]
            fields = SubscriptionFields("bench", "", types, url, SECRET, None, None)
            sim.webex.create_subscription(DEFAULT_ORG_ID, fields, "bench@example.com")
            ids = [f"bench-agent-{n:04d}" for n in range(agents)]
            for agent_id in ids:
                sim.webex.add_agent(agent_id, DEFAULT_ORG_ID, None, agent_id, f"{agent_id}@x", ("telephony",))
            started = time.perf_counter()
            for agent_id in ids:
                sim.webex_deliveries.send(sim.webex.login(agent_id, "available", None, "").deliveries)
            for round_number in range(changes):
                state = "idle" if round_number % 2 == 0 else "available"
                for agent_id in ids:
                    emission = sim.webex.agent_change(agent_id, state, None, "", None)
                    sim.webex_deliveries.send(emission.deliveries)
            sim.wait_for_deliveries(120)
            seconds = time.perf_counter() - started
            connections = sim.webex_deliveries.connections_opened
    finally:
        receiver.shutdown()
        receiver.server_close()
    return Result(
        agents * (changes + 1),
        seconds,
        receipts.latencies_ms,
        connections,
        receipts.order_violations,
        receipts.bad_signatures,
        receipts.count,
    )


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else 0.0


def report(result: Result) -> str:
    lines = [
        f"events emitted        {result.events}",
        f"events delivered      {result.delivered}",
        f"wall time             {result.seconds:.3f} s",
        f"events per second     {result.delivered / result.seconds if result.seconds else 0:.0f}",
        f"latency p50           {_percentile(result.latencies_ms, 0.5):.1f} ms",
        f"latency p95           {_percentile(result.latencies_ms, 0.95):.1f} ms",
        f"latency max           {max(result.latencies_ms, default=0):.1f} ms",
        f"connections opened    {result.connections}",
        f"order violations      {result.order_violations}",
        f"bad signatures        {result.bad_signatures}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--changes", type=int, default=20)
    options = parser.parse_args(argv)
    result = run(options.agents, options.changes)
    print(report(result))
    ok = result.delivered == result.events and result.order_violations == 0 and result.bad_signatures == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
