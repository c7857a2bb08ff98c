"""No secret reaches the logs, even with every logger at DEBUG.

A host of its own runs with `--debug-log` (the app's loggers and azure, msal, httpx, urllib3, aiohttp,
kiota at DEBUG) and secrets this test chose: the state signing key, the secrets encryption key, the app's
client secret, a fresh notification certificate. A full flow runs through it: setup and consent, two
sync-account sign-ins, presence subscriptions, Graph change notifications with encrypted content, agent
events from the contact center both ways, a contact-center secret rotation. The test collects every
secret of the flow, including those only the connector held (the PKCE verifier, read from its sealed
sign-in row; the access, refresh and id tokens, read from the sealed MSAL token caches, both opened with
the encryption key this test gave the host), and searches everything the process wrote for each one,
for any JWT at all, and for decrypted notification content: 0 hits.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.data.tables import TableServiceClient

from devstack.azurite import Azurite
from devstack.dev_certificate import dev_notification_certificate
from shared.security.secret_box import SecretBox
from shared.storage.sync_account_repository import TableSyncAccountRepository, _verifier_context
from shared.storage.table_names import SYNC_SIGN_INS
from shared.storage.table_store import TableStore
from tests.e2e.conftest import RunningHost
from tests.e2e.stack import (
    add_user,
    change_agent_state,
    contact_center_simulator,
    graph_presence_writes,
    graph_simulator,
    redirect_location,
    running_local_host,
    set_teams_presence,
    set_up_synced_tenant,
    wait_for,
    wait_for_applied,
)

pytestmark = pytest.mark.e2e

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# What decrypted presence content looks like as JSON or as a Python dict, whichever way it was printed.
_DECRYPTED_CONTENT = re.compile(
    r"""["'](availability|activity|statusMessage)["']\s*:|#?microsoft\.graph\.presence""", re.IGNORECASE
)


@pytest.fixture
def chosen_secrets(tmp_path: Path) -> dict[str, str]:
    return {
        "STATE_SIGNING_KEY": "state-signing-" + secrets.token_urlsafe(32),
        "SECRETS_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
        "ENTRA_APP_CLIENT_SECRET": "app-secret-" + secrets.token_urlsafe(24),
        "NOTIFICATION_CERTIFICATE": dev_notification_certificate(tmp_path / "notification.pem"),
    }


@pytest.fixture
def debug_host(azurite: Azurite, tmp_path: Path, chosen_secrets: dict[str, str]) -> Iterator[RunningHost]:
    with running_local_host(
        azurite.connection_string, tmp_path / "host.log", settings=chosen_secrets, arguments=("--debug-log",)
    ) as running:
        yield running


def test_a_full_flow_at_debug_logs_no_secret(
    debug_host: RunningHost, azurite: Azurite, chosen_secrets: dict[str, str]
) -> None:
    host = debug_host.client
    assert host.tokens is not None
    graph = graph_simulator(debug_host)
    contact_center = contact_center_simulator(debug_host)
    tenant_id = str(uuid.uuid4())
    box = SecretBox(base64.b64decode(chosen_secrets["SECRETS_ENCRYPTION_KEY"]))
    tables = TableServiceClient.from_connection_string(azurite.connection_string)

    # Setup, consent, agents, a sync-account sign-in, the subscription, agent events (available)
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ann", "bob"])
    ann, bob = tenant.agent("ann"), tenant.agent("bob")
    found: dict[str, str] = {"contact-center secret": tenant.secret, "admin token": host.tokens(tenant_id)}

    # A second sign-in by hand, to hold its PKCE verifier (sealed in its row) and its authorization code
    upn = f"sync2@{tenant_id[:8]}.example"
    add_user(graph, tenant_id, upn, "Second Sync")
    started = host.call("POST", f"/api/tenants/{tenant_id}/sync-accounts", {"loginHint": upn})
    assert started.status == 201, started.body
    (row,) = tables.get_table_client(SYNC_SIGN_INS).query_entities(f"PartitionKey eq '{tenant_id}'")
    found["PKCE verifier"] = box.open(str(row["codeVerifier"]), _verifier_context(tenant_id, row["RowKey"]))
    location = redirect_location(started.json()["authorizeUrl"])
    found["authorization code"] = parse_qs(urlsplit(location).query)["code"][0]
    signed_in = host.call("GET", location.removeprefix(host.base_url), headers={"accept": "application/json"})
    assert signed_in.status == 201, signed_in.body

    # Teams -> contact center (a notification with encrypted content), contact center -> Teams (an event)
    set_teams_presence(graph, tenant, ann, "Busy", "InACall")
    wait_for_applied(host, tenant, ann, lambda body: body.get("availability") == "Busy")
    change_agent_state(contact_center, bob, "onCall")
    wait_for("bob's presence set in Teams", lambda: graph_presence_writes(graph, tenant, bob))

    # A secret rotation: the new secret is written, the old one stays accepted for a while
    new_secret = "rotated-" + secrets.token_urlsafe(24)
    rotated = host.call(
        "PATCH",
        f"/api/tenants/{tenant_id}/connector",
        {
            "contactCenter": {
                "type": "webhook",
                "url": contact_center.base_url + "/webhook",
                "secret": new_secret,
            }
        },
    )
    assert rotated.status == 200, rotated.body
    found["rotated contact-center secret"] = new_secret

    # Every token the connector held: its sealed MSAL caches, opened with the key the host was given
    repository = TableSyncAccountRepository(TableStore(tables), box)
    accounts = host.call("GET", f"/api/tenants/{tenant_id}/sync-accounts").json()["syncAccounts"]
    assert len(accounts) == 2
    for account in accounts:
        credentials = repository.load_credentials(tenant_id, account["id"])
        assert credentials is not None
        for kind, entries in json.loads(credentials.token_cache).items():
            for index, entry in enumerate(entries.values()):
                if isinstance(entry, dict) and entry.get("secret"):
                    found[f"{account['userPrincipalName']} {kind} {index}"] = str(entry["secret"])
    kinds = {name.split(" ")[1] for name in found if name.endswith(tuple("0123456789"))}
    assert {"AccessToken", "RefreshToken", "IdToken"} <= kinds, kinds

    for name in ("STATE_SIGNING_KEY", "SECRETS_ENCRYPTION_KEY", "ENTRA_APP_CLIENT_SECRET"):
        found[name] = chosen_secrets[name]
    found.update(_private_key_lines(chosen_secrets["NOTIFICATION_CERTIFICATE"]))

    log = debug_host.log_path.read_text(encoding="utf-8", errors="replace")
    # The log is a DEBUG log of the whole flow (not a quiet one that trivially holds nothing)
    assert " DEBUG " in log
    assert {"msal", "urllib3"} & {m.group(1) for m in re.finditer(r" DEBUG (\w+)", log)}
    assert len(log.splitlines()) > 500
    leaks = [name for name, value in found.items() if value and value in log]
    assert leaks == []
    assert _JWT.findall(log) == []
    assert [m.group(0) for m in _DECRYPTED_CONTENT.finditer(log)] == []


def _private_key_lines(pem: str) -> dict[str, str]:
    body = pem.split("PRIVATE KEY-----", 1)[1].split("-----END", 1)[0]
    return {
        f"notification private key line {i}": line.strip()
        for i, line in enumerate(body.splitlines())
        if len(line.strip()) >= 40
    }
