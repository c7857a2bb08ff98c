"""Timer: every 5 minutes, renew presence subscriptions before they lapse and repair what drifted.

Subscriptions live at most 60 minutes and are renewed 30 minutes ahead, so a run or two may fail
without any subscription lapsing. use_monitor keeps the schedule's state in storage, so a run missed
during a restart or scale-in is made up at once.
"""

from __future__ import annotations

import logging

import azure.functions as func

from shared.bootstrap import services

logger = logging.getLogger(__name__)

bp = func.Blueprint()

RENEW_SCHEDULE = "0 */5 * * * *"


@bp.function_name("renew_subscriptions")
@bp.timer_trigger(arg_name="timer", schedule=RENEW_SCHEDULE, run_on_startup=False, use_monitor=True)
def renew_subscriptions(timer: func.TimerRequest) -> None:
    if timer.past_due:
        logger.info("subscription renewal is running late")
    report = services().subscriptions.renew_due()
    # Webex subscriptions have no expiry, but Webex can lose one or set it inactive: recreate it.
    webex = services().webex.renew_all()
    failed_webex = {tenant: why for tenant, why in webex.items() if why != "ok"}
    if failed_webex:
        logger.warning(
            "Webex subscriptions not ensured for %d tenant(s): %s", len(failed_webex), failed_webex
        )
    log = logger.warning if report.failed else logger.info
    log(
        "subscription renewal: %d tenants, %d synced, %d failed %s; %d created, %d replaced, %d deleted, "
        "%d renewed, %d recreated",
        report.tenants,
        report.synced,
        report.failed,
        list(report.failed_tenant_ids),
        report.created,
        report.replaced,
        report.deleted,
        report.renewed,
        report.recreated,
    )
