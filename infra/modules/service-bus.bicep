// Service Bus namespace and the presence queue. Standard tier because sessions and duplicate
// detection are not available on Basic. Local (SAS key) auth is disabled: senders and receivers use
// Entra ID (Azure Service Bus Data Sender / Data Receiver on the managed identity).

@description('Service Bus namespace name (6-50 characters).')
@minLength(6)
@maxLength(50)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the namespace.')
param tags object

@description('Queue that carries presence changes from the notification endpoint to the processors.')
param presenceQueueName string

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    // Standard tier has no IP filtering or private endpoints; with local auth off only
    // RBAC-authorized identities can send or receive.
    publicNetworkAccess: 'Enabled'
  }
}

resource presenceQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: presenceQueueName
  properties: {
    // One session per agent keeps each agent's changes in order while agents run in parallel.
    requiresSession: true
    // Graph retries deliveries for hours, so the same change arrives more than once; the publisher
    // sets MessageId from the notification and Service Bus drops repeats within this window.
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    deadLetteringOnMessageExpiration: true
    // A presence change older than a day is no longer worth applying.
    defaultMessageTimeToLive: 'P1D'
    enableBatchedOperations: true
    enablePartitioning: false
    maxSizeInMegabytes: 1024
  }
}

output id string = namespace.id
output name string = namespace.name
// serviceBusEndpoint is https://<name>.<cloud suffix>:443/; the host name is what clients need.
output fullyQualifiedNamespace string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
output presenceQueueName string = presenceQueue.name
