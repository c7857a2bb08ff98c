"""Azure Functions entry point: create the app and register the blueprints. Nothing else lives here."""

from __future__ import annotations

import azure.functions as func

from shared.bootstrap import check_settings
from shared.triggers import (
    agents_api,
    connector_api,
    consent_callback,
    contact_center_events,
    contact_center_test_api,
    directory_api,
    graph_notifications,
    health_api,
    idle_codes_api,
    openapi_api,
    presence_mappings_api,
    presence_worker,
    reconcile_timer,
    subscription_timer,
    sync_accounts_api,
    webex_api,
)

check_settings()

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (
    connector_api.bp,
    consent_callback.bp,
    health_api.bp,
    agents_api.bp,
    sync_accounts_api.bp,
    graph_notifications.bp,
    subscription_timer.bp,
    presence_worker.bp,
    contact_center_events.bp,
    contact_center_test_api.bp,
    presence_mappings_api.bp,
    reconcile_timer.bp,
    directory_api.bp,
    webex_api.bp,
    idle_codes_api.bp,
    openapi_api.bp,
):
    app.register_functions(blueprint)
