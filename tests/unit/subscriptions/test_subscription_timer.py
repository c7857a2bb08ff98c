"""The renew timer blueprint: its schedule as the Functions host reads it, and what one run calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from shared.bootstrap import Services, services, use_services
from shared.subscriptions.model import RenewReport
from shared.triggers import subscription_timer


class StandInSubscriptions:
    def __init__(self, report: RenewReport) -> None:
        self.report = report
        self.runs = 0

    def renew_due(self) -> RenewReport:
        self.runs += 1
        return self.report


class StandInWebex:
    def __init__(self) -> None:
        self.runs = 0

    def renew_all(self) -> dict[str, str]:
        self.runs += 1
        return {"t": "Webex refused the refresh token"}


class StandInServices:
    def __init__(self, subscriptions: StandInSubscriptions) -> None:
        self.subscriptions = subscriptions
        self.webex = StandInWebex()


@pytest.fixture
def subscriptions() -> Iterator[StandInSubscriptions]:
    stand_in = StandInSubscriptions(RenewReport(tenants=3, synced=2, failed=1, failed_tenant_ids=("t",)))
    use_services(cast(Services, StandInServices(stand_in)))
    try:
        yield stand_in
    finally:
        use_services(None)


def _bindings() -> list[dict[str, Any]]:
    app = func.FunctionApp()
    app.register_functions(subscription_timer.bp)
    (function,) = app.get_functions()
    assert function.get_function_name() == "renew_subscriptions"
    bindings: list[dict[str, Any]] = json.loads(function.get_function_json())["bindings"]
    return bindings


def test_timer_runs_every_five_minutes_with_a_monitor_and_not_on_startup() -> None:
    (binding,) = _bindings()

    assert binding["type"] == "timerTrigger"
    assert binding["schedule"] == "0 */5 * * * *"
    assert binding["runOnStartup"] is False
    assert binding["useMonitor"] is True


def test_one_run_renews_due_subscriptions(subscriptions: StandInSubscriptions) -> None:
    # GIVEN a late timer tick WHEN the function runs
    timer = TimerRequest(past_due=True)
    user_function = subscription_timer.renew_subscriptions._function.get_user_function()
    user_function(timer)

    # THEN the service's renew_due ran once, and the Webex subscriptions were ensured once
    assert subscriptions.runs == 1
    assert cast(StandInServices, services()).webex.runs == 1
