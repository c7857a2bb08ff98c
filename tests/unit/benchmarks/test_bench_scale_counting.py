"""The scale benchmark's counting helpers: the queue keeps only presence changes and hands each over
once; the contact-center stand-in counts status reads and commands."""

from __future__ import annotations

from datetime import UTC, datetime

from benchmarks.bench_scale_subscriptions import CountingQueue
from benchmarks.scale_engine import AvailableContactCenter
from shared.connectors.model import WebhookContactCenter
from shared.contact_center.model import AgentState
from shared.presence.messages import PresenceChange


def change(user_id: str) -> PresenceChange:
    return PresenceChange("t-1", user_id, "Available", "Available", None, datetime.now(UTC), None)


def test_the_queue_hands_every_published_presence_over_once() -> None:
    queue = CountingQueue()
    queue.publish([change("u-1"), "not a presence change", change("u-2")])
    queue.publish([change("u-3")])
    assert queue.published == 3
    assert [item.user_id for item in queue.take()] == ["u-1", "u-2", "u-3"]
    assert queue.published == 0
    assert queue.take() == []


def test_the_contact_center_stand_in_counts_reads_and_commands() -> None:
    contact_center = AvailableContactCenter()
    client = contact_center.client_for(
        "t-1", WebhookContactCenter("https://cc.example.invalid/hook", "s" * 32)
    )
    status = client.get_status("agent-1")
    assert status is not None
    assert status.state is AgentState.AVAILABLE
    client.set_idle("agent-1", "code-1", None, "teams busy")
    client.set_available("agent-1", "teams available")
    assert (contact_center.status_reads, contact_center.commands) == (1, 2)
