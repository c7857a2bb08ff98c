"""msgraph-sdk must never load on the notification hot path: not on import, not when wiring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

_PROBE = """
import json, sys
import shared.graph
import shared.graph.credentials
import shared.graph.exceptions
import shared.graph.model
import shared.graph.ports
from shared.graph.credentials import app_credential_factory
from shared.graph.msgraph_gateway import MsGraphGateway

gateway = MsGraphGateway(app_credential_factory("client", client_secret="secret"), "http://127.0.0.1:9/v1.0")
gateway.close()
heavy = ("msgraph", "msgraph_core", "kiota_", "azure.identity", "httpx", "shared.graph.msgraph_operations")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(heavy))))
"""


def test_importing_and_building_the_gateway_loads_no_sdk() -> None:
    # GIVEN a fresh interpreter (this one may have loaded the SDK for other tests)
    # WHEN the Graph modules are imported and a gateway is built and closed without any call
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    # THEN none of msgraph-sdk, kiota, azure-identity or httpx was imported
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


_INTAKE_PROBE = """
import json, sys
from shared.bootstrap import build_services
from shared.settings import load_settings

from devstack.dev_certificate import example_settings

values = example_settings()
queue = type("Queue", (), {"publish": lambda self, messages: None})()
services = build_services(load_settings(values), presence_queue=queue)
report = services.notifications.accept(b'{"value": []}')
services.close()
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("msgraph", "msgraph_core", "kiota_")))))
"""


def test_the_wired_notification_path_loads_no_msgraph() -> None:
    # GIVEN the app's real composition root in a fresh interpreter
    # WHEN every service is wired and a notification batch goes through the intake
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _INTAKE_PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    # THEN msgraph-sdk and kiota were never imported
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


_FIRST_CALL_PROBE = """
import json, sys
from shared.graph.credentials import app_credential_factory
from shared.graph.msgraph_gateway import MsGraphGateway

# Nothing listens on port 9: the token request fails at once, before any Graph response is parsed.
factory = app_credential_factory("client", client_secret="secret", authority_host="https://127.0.0.1:9")
gateway = MsGraphGateway(factory, "http://127.0.0.1:9/v1.0", timeout_seconds=60)
try:
    gateway.get_user("tenant", "someone@contoso.example")
except Exception as error:
    failure = type(error).__name__
gateway.close()
print(json.dumps({"failure": failure, "loaded": sorted(m for m in sys.modules if m.startswith("msgraph"))}))
"""


def test_the_first_sdk_call_loads_the_models_before_its_timeout_starts() -> None:
    # GIVEN a fresh interpreter, and a Graph call that fails before it receives anything to parse
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _FIRST_CALL_PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    # THEN the call failed, yet the models msgraph-sdk would import on its first parse of a user (over a
    # thousand modules: 20 s and more on a loaded machine) were loaded already: outside the call's
    # timeout, which bounds Graph alone
    assert probe["failure"]
    assert "msgraph.generated.models.drive" in probe["loaded"]
    assert "msgraph.generated.models.mailbox_settings" in probe["loaded"]
