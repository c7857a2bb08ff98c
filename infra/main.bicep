// Teams presence <-> contact-center connector: everything one deployment needs in one resource group.
//   az deployment group create -g <rg> -f infra/main.bicep -p environmentName=<env> entraAppClientId=<appId>
// See infra/README.md for the whole procedure (app registration, secrets, code publish, teardown).
targetScope = 'resourceGroup'

@description('Short environment name (dev, prod, contoso-eu...). Feeds resource names and the azd-env-name tag.')
@minLength(1)
@maxLength(32)
param environmentName string

@description('Azure region for every resource. It must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Application (client) id of the multi-tenant Entra app registration (scripts/create-app-registration.sh prints it).')
@minLength(36)
@maxLength(36)
param entraAppClientId string

@description('Object id of the user or service principal running the deployment; it gets Key Vault Secrets Officer and Certificates Officer so the secrets can be created. Empty: grant those yourself.')
param deployerPrincipalId string = ''

@description('Type of deployerPrincipalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

@description('Client id of the Webex integration admins sign in to Webex Contact Center with (developer.webex.com > My Webex Apps); empty: Webex sign-in is off. Its secret goes into Key Vault as webex-client-secret.')
param webexClientId string = ''

@description('How long an admin consent link stays valid, in seconds.')
@minValue(60)
@maxValue(86400)
param consentStateTtlSeconds int = 900

@description('Region (ISO 3166 alpha-2) assumed for directory phone numbers written without a country code.')
@minLength(2)
@maxLength(2)
param directoryDefaultPhoneRegion string = 'US'

@description('HTTP instances kept warm so Graph validation and notifications never wait for a cold start.')
@minValue(1)
@maxValue(10)
param alwaysReadyHttpInstances int = 1

@description('Upper bound on Function App instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per Function App instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Storage replication SKU.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param storageSkuName string = 'Standard_ZRS'

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'teams-contact-center-connector'
}

// Names the code and scripts/deploy.sh agree on.
var presenceQueueName = 'presence-changes'
var deploymentContainerName = 'app-package'
var appTableNames = [
  'Connectors'
  'ConnectorAudit'
  'Agents'
  'SyncAccounts'
  'SyncSignIns'
  'Subscriptions'
  'PresenceMappings'
]
var stateSigningKeySecretName = 'state-signing-key'
var secretsEncryptionKeySecretName = 'secrets-encryption-key'
var notificationCertificateName = 'graph-notification-encryption'
var entraAppCertificateName = 'entra-app-credential'
var webexClientSecretName = 'webex-client-secret'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    tableNames: appTableNames
  }
}

module serviceBus 'modules/service-bus.bicep' = {
  name: 'service-bus'
  params: {
    name: 'sb-${resourceToken}'
    location: location
    tags: tags
    presenceQueueName: presenceQueueName
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
  }
}

module roleAssignments 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  params: {
    appPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: 'func-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    tablesEndpoint: storage.outputs.tableEndpoint
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: keyVault.outputs.uri
    stateSigningKeySecretName: stateSigningKeySecretName
    secretsEncryptionKeySecretName: secretsEncryptionKeySecretName
    entraAppClientId: entraAppClientId
    entraAppCertificateName: entraAppCertificateName
    notificationCertificateName: notificationCertificateName
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    presenceQueueName: serviceBus.outputs.presenceQueueName
    consentStateTtlSeconds: consentStateTtlSeconds
    directoryDefaultPhoneRegion: directoryDefaultPhoneRegion
    webexClientId: webexClientId
    webexClientSecretName: webexClientSecretName
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
  // The host starts as soon as the site exists; granting its roles first avoids a start-up spent
  // failing on 403s.
  dependsOn: [
    roleAssignments
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
output AZURE_CONSENT_REDIRECT_URI string = '${functionApp.outputs.url}/api/consent/callback'
output AZURE_SIGNIN_REDIRECT_URI string = '${functionApp.outputs.url}/api/auth/callback'
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_TABLES_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_SERVICEBUS_NAMESPACE string = serviceBus.outputs.name
output AZURE_SERVICEBUS_FULLY_QUALIFIED_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output AZURE_SERVICEBUS_QUEUE_NAME string = serviceBus.outputs.presenceQueueName
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_KEY_VAULT_SIGNING_KEY_NAME string = stateSigningKeySecretName
output AZURE_KEY_VAULT_ENCRYPTION_KEY_NAME string = secretsEncryptionKeySecretName
output AZURE_KEY_VAULT_NOTIFICATION_CERTIFICATE_NAME string = notificationCertificateName
output AZURE_KEY_VAULT_ENTRA_APP_CERTIFICATE_NAME string = entraAppCertificateName
output AZURE_KEY_VAULT_WEBEX_CLIENT_SECRET_NAME string = webexClientSecretName
output AZURE_WEBEX_REDIRECT_URI string = '${functionApp.outputs.url}/api/contact-center/webex/callback'
output AZURE_APPLICATION_INSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output ENTRA_APP_CLIENT_ID string = entraAppClientId
