"""Indexing a FunctionApp into the descriptors the local host serves."""

from __future__ import annotations

import logging

import azure.functions as func
import pytest

from devstack.function_index import HttpFunction, index_functions
from devstack.ncrontab import CronSchedule
from tests.fixtures import sample_function_app


def test_sample_app_is_indexed_by_trigger_kind() -> None:
    # GIVEN the sample app WHEN indexing it
    index = index_functions(sample_function_app.app)

    # THEN every function lands in the list for its trigger, none skipped
    assert {f.name for f in index.http} == {
        "get_item",
        "items",
        "new_thing",
        "thing",
        "tenant_file",
        "async_echo",
        "boom",
        "custom",
        "plain",
        "slow",
    }
    assert [t.name for t in index.timers] == ["tick", "failing_tick"]
    assert [q.name for q in index.service_bus] == ["on_sample_event"]
    assert index.skipped == ()


def test_http_descriptor_carries_route_methods_auth_and_parameter() -> None:
    index = index_functions(sample_function_app.app)
    by_name = {f.name: f for f in index.http}

    get_item = by_name["get_item"]
    assert get_item.route.text == "items/{id:int}/{label?}"
    assert get_item.methods == frozenset({"GET"})
    assert get_item.auth_level == "anonymous"
    assert get_item.param_name == "req"
    assert get_item.callable is sample_function_app.get_item._function.get_user_function()
    assert not get_item.is_async

    # The app-level FUNCTION auth level applies where the route sets none.
    assert by_name["items"].auth_level == "function"
    assert by_name["items"].methods == frozenset({"GET", "POST"})
    assert by_name["async_echo"].is_async


def test_timer_and_service_bus_descriptors() -> None:
    index = index_functions(sample_function_app.app)

    tick = index.timers[0]
    assert isinstance(tick.schedule, CronSchedule)
    assert tick.schedule.expression == "*/1 * * * * *"
    assert tick.run_on_startup is False
    assert tick.param_name == "timer"

    queue = index.service_bus[0]
    assert queue.queue_name == sample_function_app.SERVICE_BUS_QUEUE
    assert queue.connection == "ServiceBusConnection"
    assert queue.is_sessions_enabled is True
    assert queue.param_name == "message"
    assert queue.is_async


def test_indexing_the_same_app_twice_works() -> None:
    # GIVEN an app already indexed (get_functions() refuses names it has seen unless reset)
    index_functions(sample_function_app.app)

    # WHEN indexing it again THEN the same functions come back
    assert len(index_functions(sample_function_app.app).http) == 10


def test_route_defaults_to_function_name_and_methods_to_all() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.function_name("Renamed")
    @app.route()
    def handler(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("ok")

    (function,) = index_functions(app).http
    assert isinstance(function, HttpFunction)
    assert function.name == "Renamed"
    assert function.route.text == "Renamed"
    assert function.methods is None
    assert function.auth_level == "anonymous"


def test_run_on_startup_and_timespan_schedule() -> None:
    app = func.FunctionApp()

    @app.timer_trigger(arg_name="t", schedule="00:10:00", run_on_startup=True)
    def every_ten_minutes(t: func.TimerRequest) -> None:
        return None

    (timer,) = index_functions(app).timers
    assert timer.run_on_startup is True
    assert timer.schedule.expression == "00:10:00"


def test_unsupported_functions_are_reported_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN an app mixing a good function with ones the local host cannot run
    app = func.FunctionApp()

    @app.route(route="ok")
    def ok(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("ok")

    @app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
    def storage_queue(msg: func.QueueMessage) -> None:
        return None

    @app.service_bus_topic_trigger(
        arg_name="msg", topic_name="t", subscription_name="s", connection="ServiceBusConnection"
    )
    def topic(msg: func.ServiceBusMessage) -> None:
        return None

    @app.timer_trigger(arg_name="t", schedule="not a schedule")
    def bad_timer(t: func.TimerRequest) -> None:
        return None

    @app.route(route="items/{id}.json")
    def bad_route(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("no")

    @app.route(route="with-binding")
    @app.table_input(arg_name="row", table_name="t", connection="AzureWebJobsStorage")
    def with_binding(req: func.HttpRequest, row: str) -> func.HttpResponse:
        return func.HttpResponse(row)

    # WHEN indexing
    with caplog.at_level(logging.ERROR, logger="devstack.function_index"):
        index = index_functions(app)

    # THEN the good one is served and each other one is skipped with a reason that is logged
    assert [f.name for f in index.http] == ["ok"]
    reasons = {skipped.name: skipped.reason for skipped in index.skipped}
    assert set(reasons) == {"storage_queue", "topic", "bad_timer", "bad_route", "with_binding"}
    assert "queueTrigger" in reasons["storage_queue"]
    assert "topic" in reasons["topic"]
    assert "field" in reasons["bad_timer"]
    assert "mixes text and parameters" in reasons["bad_route"]
    assert "'row'" in reasons["with_binding"]
    logged = caplog.text
    assert all(name in logged for name in reasons)
