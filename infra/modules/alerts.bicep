// Azure Monitor alerts of the connector and the operations workbook. Metric names are the
// OpenTelemetry instruments of shared/operations/recorder.py, as Application Insights stores them in
// customMetrics (dimensions: tenantId, reason, direction; never names or UPNs). Every rule notifies
// one action group, which e-mails alertEmailAddresses.

@description('Azure region of the log alerts and the workbook (the action group is global).')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Name prefix of the alert rules and the action group.')
param namePrefix string

@description('Comma-separated e-mail addresses the action group notifies. Empty: the alerts fire and show in the portal, nobody is e-mailed.')
param alertEmails string

@description('Resource id of the Application Insights component the app exports to.')
param applicationInsightsId string

@description('Name of the Service Bus namespace holding the presence queue.')
param serviceBusNamespaceName string

@description('Name of the presence queue.')
param presenceQueueName string

@description('Share of failed (5xx) requests over 15 minutes, in percent, that raises the 5xx alert.')
@minValue(1)
@maxValue(100)
param serverErrorPercentThreshold int = 5

var alertEmailAddresses = empty(trim(alertEmails)) ? [] : split(replace(alertEmails, ' ', ''), ',')

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'connector'
    enabled: true
    emailReceivers: [
      for (address, index) in alertEmailAddresses: {
        name: 'email-${index}'
        emailAddress: address
        useCommonAlertSchema: true
      }
    ]
  }
}

// A dead-lettered message is a change that was never applied: one is one too many.
resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-${namePrefix}-dead-letters'
  location: 'global'
  tags: tags
  properties: {
    description: 'Messages were dead-lettered on the presence queue: changes that were never applied (see the dead-letter reason and GET sync-health).'
    severity: 1
    enabled: true
    scopes: [
      serviceBus.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          name: 'deadLetteredMessages'
          criterionType: 'StaticThresholdCriterion'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                presenceQueueName
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

var logAlerts = [
  {
    key: 'server-errors'
    severity: 1
    description: 'More than ${serverErrorPercentThreshold}% of the app\'s requests answered 5xx over 15 minutes (client input never does: a 5xx is a fault or an outage).'
    query: 'requests | summarize total = count(), failed = countif(toint(resultCode) >= 500) | where total >= 20 and failed * 100.0 / total > ${serverErrorPercentThreshold}'
    window: 'PT15M'
  }
  {
    key: 'sync-account-sign-in'
    severity: 2
    description: 'A sync account\'s refresh token stopped working: an admin of the tenant (customDimensions.tenantId) must sign it in again (GET sync-health shows which).'
    query: 'customMetrics | where name == "connector.sync_accounts.sign_in_required" | summarize signInsRequired = sum(valueSum) by tenantId = tostring(customDimensions.tenantId) | where signInsRequired > 0'
    window: 'PT15M'
  }
  {
    key: 'subscription-failures'
    severity: 2
    description: 'Graph presence subscriptions could not be created or renewed: agents of the tenant (customDimensions.tenantId) are not synced.'
    query: 'customMetrics | where name == "connector.subscriptions.failures" | summarize failures = sum(valueSum) by tenantId = tostring(customDimensions.tenantId) | where failures > 0'
    window: 'PT15M'
  }
  {
    key: 'graph-throttling'
    severity: 2
    description: 'Graph has been answering 429 in each of the last three 5-minute periods: changes are applied late.'
    query: 'customMetrics | where name == "connector.graph.throttled" | summarize throttled = sum(valueSum) by bin(timestamp, 5m) | where throttled > 0 | summarize throttledPeriods = count() | where throttledPeriods >= 3'
    window: 'PT15M'
  }
]

resource scheduledAlerts 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for alert in logAlerts: {
    name: 'alert-${namePrefix}-${alert.key}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      description: alert.description
      displayName: 'Connector: ${alert.key}'
      severity: alert.severity
      enabled: true
      evaluationFrequency: 'PT5M'
      windowSize: alert.window
      scopes: [
        applicationInsightsId
      ]
      criteria: {
        allOf: [
          {
            query: alert.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: [
          actionGroup.id
        ]
      }
    }
  }
]

// The operations dashboard: sync delay, changes by outcome, drops, dead letters and throttling per
// tenant over the chosen time range.
var workbookContent = {
  version: 'Notebook/1.0'
  items: [
    {
      type: 1
      content: {
        json: '## Teams <-> contact-center connector: sync health\nPer tenant id. Per agent: `GET /api/tenants/{tenantId}/agents/{agentId}/sync-status`.'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: 'Sync delay (s), p50 / p99 per direction'
        query: 'customMetrics | where name == "connector.sync.delay" | extend direction = tostring(customDimensions.direction) | summarize p50 = percentile(valueSum / valueCount, 50), p99 = percentile(valueMax, 99) by bin(timestamp, 5m), direction | render timechart'
        queryType: 0
        resourceType: 'microsoft.insights/components'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: 'Changes by outcome and reason'
        query: 'customMetrics | where name == "connector.sync.changes" | summarize changes = sum(valueSum) by outcome = tostring(customDimensions.outcome), reason = tostring(customDimensions.reason), tenantId = tostring(customDimensions.tenantId) | order by changes desc'
        queryType: 0
        resourceType: 'microsoft.insights/components'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: 'Notifications dropped, dead letters, Graph 429s, contact-center refusals'
        query: 'customMetrics | where name in ("connector.notifications.dropped", "connector.queue.dead_letters", "connector.graph.throttled", "connector.contact_center.refusals") | summarize total = sum(valueSum) by name, tenantId = tostring(customDimensions.tenantId), bin(timestamp, 15m) | render columnchart'
        queryType: 0
        resourceType: 'microsoft.insights/components'
      }
    }
  ]
}

resource workbook 'Microsoft.Insights/workbooks@2022-04-01' = {
  // A workbook's name must be a GUID.
  name: guid(resourceGroup().id, namePrefix, 'operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Connector operations (${namePrefix})'
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: string(workbookContent)
  }
}

output actionGroupId string = actionGroup.id
output workbookId string = workbook.id
