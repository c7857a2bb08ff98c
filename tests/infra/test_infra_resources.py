"""The resources main.bicep deploys have the properties the code and issue 5 rely on."""

from __future__ import annotations

import re
from pathlib import Path

from tests.infra.bicep_reader import BicepFile, BicepValue, Expression, Resource, template_closure

REPO_ROOT = Path(__file__).resolve().parents[2]
MAIN_BICEP = REPO_ROOT / "infra" / "main.bicep"

# Built-in role definition ids, identical in every tenant.
BUILT_IN_ROLES = {
    "storageBlobDataOwner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "storageTableDataContributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "serviceBusDataSender": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
    "serviceBusDataReceiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    "keyVaultSecretsUser": "4633458b-17de-408a-b874-0445c86b69e6",
    "keyVaultCertificateUser": "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
    "keyVaultSecretsOfficer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "keyVaultCertificatesOfficer": "a4417e6f-fecd-4de8-b567-7b0420556985",
    "monitoringMetricsPublisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}


def _templates() -> list[BicepFile]:
    return template_closure(MAIN_BICEP)


def _main() -> BicepFile:
    return next(bicep for bicep in _templates() if Path(bicep.origin) == MAIN_BICEP.resolve())


def _resources(resource_type: str) -> list[Resource]:
    return [
        resource
        for bicep in _templates()
        for resource in bicep.resources
        if resource.type.lower() == resource_type.lower() and not resource.existing
    ]


def _one(resource_type: str) -> Resource:
    found = _resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def _get(value: BicepValue, *path: str) -> BicepValue:
    for key in path:
        assert isinstance(value, dict), f"{key}: {value!r} is not an object"
        value = value[key]
    return value


def test_presence_queue_matches_what_the_code_expects() -> None:
    # GIVEN the Service Bus queue
    queue = _one("Microsoft.ServiceBus/namespaces/queues")
    # THEN sessions, duplicate detection, lock, delivery count and dead-lettering are set as agreed
    assert _get(queue.body, "properties") == {
        "requiresSession": True,
        "requiresDuplicateDetection": True,
        "duplicateDetectionHistoryTimeWindow": "PT10M",
        "lockDuration": "PT1M",
        "maxDeliveryCount": 10,
        "deadLetteringOnMessageExpiration": True,
        "defaultMessageTimeToLive": "P1D",
        "enableBatchedOperations": True,
        "enablePartitioning": False,
        "maxSizeInMegabytes": 1024,
    }
    assert _main().variables["presenceQueueName"] == "presence-changes"


def test_service_bus_namespace_is_standard_with_local_auth_off() -> None:
    namespace = _one("Microsoft.ServiceBus/namespaces")
    # THEN Standard tier (sessions and duplicate detection need it) and no SAS keys
    assert _get(namespace.body, "sku", "name") == "Standard"
    assert _get(namespace.body, "properties", "disableLocalAuth") is True
    assert _get(namespace.body, "properties", "minimumTlsVersion") == "1.2"


def test_function_app_is_flex_consumption_python_311_with_always_ready_http() -> None:
    plan = _one("Microsoft.Web/serverfarms")
    site = _one("Microsoft.Web/sites")
    assert _get(plan.body, "sku") == {"name": "FC1", "tier": "FlexConsumption"}
    config = _get(site.body, "properties", "functionAppConfig")
    assert _get(config, "runtime") == {"name": "python", "version": "3.11"}
    # THEN the HTTP group keeps at least one warm instance (Graph's 10 s / 3 s deadlines)
    always_ready = _get(config, "scaleAndConcurrency", "alwaysReady")
    assert isinstance(always_ready, list)
    assert [_get(entry, "name") for entry in always_ready] == ["http"]
    parameter = next(p for p in _main().parameters if p.name == "alwaysReadyHttpInstances")
    assert isinstance(parameter.default, int)
    assert parameter.default >= 1
    # AND the deployment package is read with the user-assigned identity, not a key
    storage_auth = _get(config, "deployment", "storage", "authentication", "type")
    assert storage_auth == "UserAssignedIdentity"


def test_function_app_runs_as_the_user_assigned_identity_over_https_only() -> None:
    site = _one("Microsoft.Web/sites")
    assert _get(site.body, "identity", "type") == "UserAssigned"
    properties = _get(site.body, "properties")
    assert _get(properties, "httpsOnly") is True
    assert _get(properties, "keyVaultReferenceIdentity") == Expression("identityId")
    assert _get(properties, "siteConfig", "minTlsVersion") == "1.2"
    assert _get(properties, "siteConfig", "ftpsState") == "Disabled"
    basic_auth = _resources("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert sorted(str(_get(policy.body, "name")) for policy in basic_auth) == ["ftp", "scm"]
    assert all(_get(policy.body, "properties", "allow") is False for policy in basic_auth)


def test_storage_account_refuses_keys_and_old_tls() -> None:
    account = _one("Microsoft.Storage/storageAccounts")
    properties = _get(account.body, "properties")
    assert _get(properties, "allowSharedKeyAccess") is False
    assert _get(properties, "minimumTlsVersion") == "TLS1_2"
    assert _get(properties, "allowBlobPublicAccess") is False
    assert _get(properties, "supportsHttpsTrafficOnly") is True


def test_storage_holds_the_app_tables_and_the_deployment_container() -> None:
    main = _main()
    tables = main.variables["appTableNames"]
    assert isinstance(tables, list)
    assert {"Connectors", "ConnectorAudit"} <= {str(table) for table in tables}
    assert _one("Microsoft.Storage/storageAccounts/tableServices/tables").looped
    assert _one("Microsoft.Storage/storageAccounts/blobServices/containers")
    assert main.variables["deploymentContainerName"] == "app-package"


def test_key_vault_is_rbac_with_purge_protection() -> None:
    vault = _one("Microsoft.KeyVault/vaults")
    properties = _get(vault.body, "properties")
    assert _get(properties, "enableRbacAuthorization") is True
    assert _get(properties, "enablePurgeProtection") is True
    assert _get(properties, "enableSoftDelete") is True


def test_monitoring_has_local_auth_disabled() -> None:
    workspace = _one("Microsoft.OperationalInsights/workspaces")
    insights = _one("Microsoft.Insights/components")
    assert _get(workspace.body, "properties", "features", "disableLocalAuth") is True
    assert _get(insights.body, "properties", "DisableLocalAuth") is True
    assert isinstance(_get(insights.body, "properties", "WorkspaceResourceId"), Expression)


def test_role_assignments_use_guid_names_and_built_in_roles() -> None:
    # GIVEN every role assignment
    assignments = _resources("Microsoft.Authorization/roleAssignments")
    role_file = next(bicep for bicep in _templates() if bicep.origin.endswith("role-assignments.bicep"))
    # THEN the role table holds the real built-in ids
    assert role_file.variables["roles"] == BUILT_IN_ROLES
    granted = set()
    for assignment in assignments:
        name = _get(assignment.body, "name")
        # AND each name is guid(scope, principal, role), so redeployments are idempotent
        assert isinstance(name, Expression)
        assert re.fullmatch(r"guid\(\w+\.id, \w+, roles\.\w+\)", name.text), name
        role = _get(assignment.body, "properties", "roleDefinitionId")
        assert isinstance(role, Expression)
        match = re.search(r"roles\.(\w+)", role.text)
        assert match is not None
        assert match.group(1) in name.text, "name and role definition must use the same role"
        granted.add(match.group(1))
    # AND the app identity gets every role issue 5 lists
    assert set(BUILT_IN_ROLES) == granted


def test_outputs_are_upper_snake_and_include_what_scripts_read() -> None:
    outputs = {output.name for output in _main().outputs}
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in outputs), outputs
    assert {
        "AZURE_FUNCTION_APP_NAME",
        "AZURE_FUNCTION_APP_URL",
        "AZURE_KEY_VAULT_NAME",
        "AZURE_SERVICEBUS_FULLY_QUALIFIED_NAMESPACE",
        "AZURE_SERVICEBUS_QUEUE_NAME",
        "AZURE_CONSENT_REDIRECT_URI",
        "AZURE_SIGNIN_REDIRECT_URI",
    } <= outputs


def test_api_versions_are_stable_releases() -> None:
    for bicep in _templates():
        for resource in bicep.resources:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", resource.api_version), (bicep.origin, resource.symbol)


def test_alerts_cover_what_issue_14_names_and_notify_the_action_group() -> None:
    # GIVEN the alert rules of the deployment
    metric_alerts = _resources("Microsoft.Insights/metricAlerts")
    log_alerts = _resources("Microsoft.Insights/scheduledQueryRules")
    action_group = _one("Microsoft.Insights/actionGroups")
    assert _get(action_group.body, "properties", "enabled") is True
    # THEN dead letters alert above 0 on the presence queue
    assert len(metric_alerts) == 1
    criterion = _get(metric_alerts[0].body, "properties", "criteria", "allOf")
    assert isinstance(criterion, list)
    assert _get(criterion[0], "metricName") == "DeadletteredMessages"
    assert _get(criterion[0], "operator") == "GreaterThan"
    assert _get(criterion[0], "threshold") == 0
    # AND the log alerts (5xx rate, sign-ins, subscription failures, throttling) query the metric
    # names the recorder exports
    source = (REPO_ROOT / "infra" / "modules" / "alerts.bicep").read_text()
    recorder = (REPO_ROOT / "shared" / "operations" / "recorder.py").read_text()
    for metric in (
        "connector.sync_accounts.sign_in_required",
        "connector.subscriptions.failures",
        "connector.graph.throttled",
        "connector.sync.delay",
    ):
        assert f'"{metric}"' in source, metric
        assert f'"{metric}"' in recorder, metric
    for key in ("server-errors", "sync-account-sign-in", "subscription-failures", "graph-throttling"):
        assert f"key: '{key}'" in source, key
    assert len(log_alerts) == 1  # one looped resource holds the four
    assert "actionGroup.id" in source
