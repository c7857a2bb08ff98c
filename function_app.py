"""Azure Functions entry point: create the app and register the blueprints. Nothing else lives here."""

from __future__ import annotations

import azure.functions as func

from shared.bootstrap import check_settings
from shared.triggers import connector_api, consent_callback, health_api

check_settings()

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(connector_api.bp)
app.register_functions(consent_callback.bp)
app.register_functions(health_api.bp)
