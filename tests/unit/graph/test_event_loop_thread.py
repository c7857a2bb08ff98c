"""Driving coroutines from synchronous code on one background loop."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Iterator

import pytest

from shared.graph.event_loop_thread import EventLoopThread


@pytest.fixture
def loop_thread() -> Iterator[EventLoopThread]:
    runner = EventLoopThread("test-loop")
    try:
        yield runner
    finally:
        runner.close()


def test_results_and_errors_come_back_to_the_caller(loop_thread: EventLoopThread) -> None:
    async def answer() -> tuple[int, str]:
        await asyncio.sleep(0)
        return 42, threading.current_thread().name

    async def fail() -> None:
        raise KeyError("missing")

    # WHEN coroutines run, THEN they run on the loop thread and their result or error comes back
    assert loop_thread.run(answer(), timeout=10) == (42, "test-loop")
    with pytest.raises(KeyError, match="missing"):
        loop_thread.run(fail(), timeout=10)
    # AND the same loop serves every call
    assert loop_thread.running


def test_a_late_coroutine_times_out_and_is_cancelled(loop_thread: EventLoopThread) -> None:
    cancelled = threading.Event()
    never = threading.Event()

    async def hang() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        never.set()

    # WHEN a coroutine outlives its timeout, THEN the caller gets TimeoutError and the coroutine is cancelled
    with pytest.raises(TimeoutError):
        loop_thread.run(hang(), timeout=0.05)
    assert cancelled.wait(10)
    assert not never.is_set()


def test_closed_loop_refuses_work_and_close_is_idempotent() -> None:
    runner = EventLoopThread("closing")

    async def noop() -> None:
        return None

    runner.run(noop(), timeout=10)
    runner.close()
    runner.close()
    assert not runner.running
    coroutine = noop()
    with pytest.raises(RuntimeError, match="closed"):
        runner.run(coroutine, timeout=10)
    assert inspect.getcoroutinestate(coroutine) == "CORO_CLOSED"  # no "never awaited" warning


def test_running_from_the_loop_thread_itself_is_refused(loop_thread: EventLoopThread) -> None:
    async def noop() -> None:
        return None

    async def nested() -> None:
        loop_thread.run(noop(), timeout=1)

    with pytest.raises(RuntimeError, match="own loop"):
        loop_thread.run(nested(), timeout=10)
