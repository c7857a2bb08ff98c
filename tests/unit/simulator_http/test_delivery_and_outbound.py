"""The shared delivery queue (order per key, retries, concurrency) and the keep-alive sender, over
real local HTTP servers on free ports."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from devstack.simulator_http import DeliveryQueue, KeepAliveSender, Request, Response, SimulatorServer, post


def test_items_of_one_key_leave_in_order_and_keys_run_concurrently() -> None:
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()
    release = threading.Event()
    started_b = threading.Event()

    def deliver(key: str, batch: list[int], attempt: int) -> bool:
        if key == "a" and batch == [1]:
            # Key a is blocked until key b has been delivered: keys do not wait for each other.
            assert started_b.wait(5)
            release.wait(5)
        if key == "b":
            started_b.set()
        with lock:
            seen.extend((key, item) for item in batch)
        return True

    queue: DeliveryQueue[str, int] = DeliveryQueue(deliver, retry_delays=(), workers=4)
    queue.start()
    try:
        queue.enqueue("a", [1])
        queue.enqueue("a", [2])
        queue.enqueue("b", [10])
        assert started_b.wait(5)
        release.set()
        assert queue.wait_idle(5)
    finally:
        queue.stop()
    assert [item for key, item in seen if key == "a"] == [1, 2]
    assert seen.index(("b", 10)) < seen.index(("a", 1))


def test_a_failed_item_is_retried_after_its_delay_and_then_dropped() -> None:
    attempts: list[int] = []

    def deliver(key: str, batch: list[str], attempt: int) -> bool:
        attempts.append(attempt)
        return False

    queue: DeliveryQueue[str, str] = DeliveryQueue(deliver, retry_delays=(0.01, 0.02))
    queue.start()
    try:
        queue.enqueue("k", ["x"])
        assert queue.wait_idle(5)
    finally:
        queue.stop()
    assert attempts == [1, 2, 3]


def test_a_retry_does_not_hold_back_newer_items_of_its_key() -> None:
    order: list[str] = []

    def deliver(key: str, batch: list[str], attempt: int) -> bool:
        order.append(f"{batch[0]}#{attempt}")
        return not (batch[0] == "old" and attempt == 1)

    queue: DeliveryQueue[str, str] = DeliveryQueue(deliver, retry_delays=(0.2,))
    queue.start()
    try:
        queue.enqueue("k", ["old"])
        time.sleep(0.05)
        queue.enqueue("k", ["new"])
        assert queue.wait_idle(5)
    finally:
        queue.stop()
    assert order == ["old#1", "new#1", "old#2"]


def test_batches_take_up_to_max_batch_items() -> None:
    batches: list[list[int]] = []
    gate = threading.Event()

    def deliver(key: str, batch: list[int], attempt: int) -> bool:
        gate.wait(5)
        batches.append(batch)
        return True

    queue: DeliveryQueue[str, int] = DeliveryQueue(deliver, retry_delays=(), max_batch=2)
    queue.start()
    try:
        queue.enqueue("k", [1])
        time.sleep(0.05)
        queue.enqueue("k", [2, 3, 4])
        gate.set()
        assert queue.wait_idle(5)
    finally:
        queue.stop()
    assert batches == [[1], [2, 3], [4]]


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        _Recorder.peers.append(self.client_address)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    _Recorder.peers = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/events"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_keep_alive_sender_reuses_one_connection(receiver: str) -> None:
    sender = KeepAliveSender(timeout=5)
    try:
        results = [sender.post(receiver, b"{}", {"Content-Type": "application/json"}) for _ in range(3)]
    finally:
        sender.close()
    assert [r.status for r in results] == [204, 204, 204]
    assert sender.connections_opened == 1
    assert len(set(_Recorder.peers)) == 1


def test_the_keep_alive_sender_reports_a_closed_port_without_raising() -> None:
    probe = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    port = probe.server_address[1]
    probe.server_close()
    sender = KeepAliveSender(timeout=2)
    result = sender.post(f"http://127.0.0.1:{port}/x", b"{}", {})
    assert result.status is None
    assert result.error
    assert not result.ok


def test_the_simulator_server_serves_an_app_and_post_reads_its_answer() -> None:
    def app(request: Request) -> Response:
        return Response.json(201, {"path": request.path, "raw": request.raw_path, "base": request.base_url})

    server = SimulatorServer(app, "127.0.0.1", 0, name="t", server_version="T/1", max_body_bytes=10)
    server.start()
    try:
        result = post(server.url + "/a%20b", b"{}", "application/json", 5)
        too_big = post(server.url + "/x", b"x" * 11, "application/json", 5)
    finally:
        server.stop()
    assert result.status == 201
    assert b'"path": "/a b"' in result.body
    assert b'"raw": "/a%20b"' in result.body
    assert too_big.status == 413


class _Closer(BaseHTTPRequestHandler):
    """Speaks HTTP/1.1 but drops the connection after each answer without saying so."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_a_connection_the_receiver_dropped_is_reopened_once() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Closer)
    thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True)
    thread.start()
    sender = KeepAliveSender(timeout=5)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/x"
        first = sender.post(url, b"{}", {})
        time.sleep(0.1)
        second = sender.post(url, b"{}", {})
    finally:
        sender.close()
        server.shutdown()
        server.server_close()
        thread.join()
    assert (first.status, second.status) == (204, 204)
    assert sender.connections_opened == 2
