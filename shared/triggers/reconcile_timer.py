"""Timer: every 2 minutes, read both sides of every synced agent and repair drift (Graph sends no
"missed" presence notifications), and renew the connector's Teams presence sessions."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.bootstrap import services

logger = logging.getLogger(__name__)

bp = func.Blueprint()

RECONCILE_SCHEDULE = "30 */2 * * * *"


@bp.function_name("reconcile_presence")
@bp.timer_trigger(arg_name="timer", schedule=RECONCILE_SCHEDULE, run_on_startup=False, use_monitor=True)
def reconcile_presence(timer: func.TimerRequest) -> None:
    report = services().reconcile.run()
    log = logger.warning if report.failed_tenant_ids else logger.info
    log(
        "reconcile: %d tenants, %d agents, %d repaired, %d sessions renewed, %d deferred, %d Graph reads, "
        "%d contact-center reads, failed tenants %s",
        report.tenants,
        report.agents,
        report.repaired,
        report.renewed,
        report.deferred,
        report.graph_reads,
        report.contact_center_reads,
        report.failed_tenant_ids,
    )
