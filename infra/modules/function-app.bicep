// Function App on the Flex Consumption plan (Linux, Python 3.11) running as the user-assigned
// identity. Every connection is identity-based; the two secrets are Key Vault references resolved
// with the same identity. App settings live in the `appsettings` config resource below because
// PUBLIC_BASE_URL needs the site's own default host name, which the site body cannot reference.

@description('Function App name (also the first label of its default host name).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region (must offer Flex Consumption).')
param location string

@description('Tags applied to the plan and the app.')
param tags object

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of the user-assigned managed identity.')
param identityClientId string

@description('Storage account used as AzureWebJobsStorage.')
param storageAccountName string

@description('URL of the blob container that receives deployment packages.')
param deploymentContainerUrl string

@description('Table service endpoint the app reaches with the managed identity.')
param tablesEndpoint string

@description('Application Insights connection string (locates the ingestion endpoint; local auth is disabled).')
param applicationInsightsConnectionString string

@description('Key Vault URI (https://<name>.vault.azure.net/).')
param keyVaultUri string

@description('Key Vault secret that holds STATE_SIGNING_KEY.')
param stateSigningKeySecretName string

@description('Key Vault secret that holds SECRETS_ENCRYPTION_KEY.')
param secretsEncryptionKeySecretName string

@description('Application (client) id of the multi-tenant Entra app.')
param entraAppClientId string

@description('Key Vault certificate the Entra app authenticates with (its secret is the PKCS#12).')
param entraAppCertificateName string

@description('Key Vault certificate Graph encrypts rich notifications for.')
param notificationCertificateName string

@description('Service Bus namespace host name (<name>.servicebus.windows.net).')
param serviceBusFullyQualifiedNamespace string

@description('The sessions-enabled queue that carries presence changes and agent events.')
param presenceQueueName string

@description('Region (ISO 3166 alpha-2) assumed for directory phone numbers written without a country code.')
param directoryDefaultPhoneRegion string
@description('Client id of the Webex integration; empty: Webex sign-in is off.')
param webexClientId string

@description('Key Vault secret that holds the Webex integration\'s client secret (set by hand).')
param webexClientSecretName string

@description('How long an admin consent link stays valid, in seconds.')
@minValue(60)
@maxValue(86400)
param consentStateTtlSeconds int

@description('Instances kept warm for the HTTP trigger group.')
@minValue(0)
param alwaysReadyHttpInstances int

@description('Upper bound on instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Zone-redundant Flex Consumption plans exist only in some regions and deployment fails elsewhere; the app keeps no state on its instances, so a zone outage costs at most a cold start.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17: Microsoft Graph change notifications cannot present client certificates, so requiring them would reject every notification.
  // checkov:skip=CKV_AZURE_222: Microsoft Graph and the tenant admins' browsers must reach the app over the internet; the HTTPS-only public endpoint is the product's interface.
  // checkov:skip=CKV_AZURE_212: numberOfWorkers does not exist on Flex Consumption: the platform scales instances, and alwaysReady below keeps at least one HTTP instance running.
  // checkov:skip=CKV_AZURE_213: App Service health check (healthCheckPath) is not available on Flex Consumption, which replaces unhealthy instances itself; GET /api/health is there for external probes such as an Application Insights availability test.
  name: name
  location: location
  // azd finds the deployment target for service `api` by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        // A warm HTTP instance answers Graph's validation handshake (10 s) and notification
        // deliveries (3 s) without waiting for a cold start.
        alwaysReady: [
          {
            name: 'http'
            instanceCount: alwaysReadyHttpInstances
          }
        ]
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Deployments use Entra ID; basic-auth publishing credentials would be a second way in.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

var keyVaultSecretsBase = '${keyVaultUri}secrets'

// Every name here must be in SETTING_SPECS or HOST_SETTINGS (shared/settings.py);
// tests/infra/test_settings_consistency.py enforces it. FUNCTIONS_WORKER_RUNTIME and
// FUNCTIONS_EXTENSION_VERSION are deliberately absent: Flex Consumption rejects them and takes the
// runtime from functionAppConfig.runtime.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov treats every sites/config resource as the `web` config; these checks read properties an `appsettings` resource never has. The site above carries the real settings:
  // checkov:skip=CKV_AZURE_13: See the site resource: built-in authentication would block Graph notifications and the consent/sign-in callbacks; admin routes are authorized in code.
  // checkov:skip=CKV_AZURE_63: HTTP logging is an IIS/App Service web-server log; Functions on Linux log requests to Application Insights.
  // checkov:skip=CKV_AZURE_65: Detailed error pages are an IIS feature that does not apply to Linux Functions.
  // checkov:skip=CKV_AZURE_66: Failed request tracing is an IIS feature that does not apply to Linux Functions.
  // checkov:skip=CKV_AZURE_80: The app is Python; no .NET Framework version is used.
  // checkov:skip=CKV_AZURE_88: Flex Consumption has no Azure Files content share; code is deployed to a blob container.
  // checkov:skip=CKV_AZURE_222: Public network access is a site property (see the site resource and its justification), not an app setting.
  parent: functionApp
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    TABLES_ENDPOINT: tablesEndpoint
    AZURE_CLIENT_ID: identityClientId
    ENTRA_APP_CLIENT_ID: entraAppClientId
    ENTRA_AUTHORITY_HOST: environment().authentication.loginEndpoint
    // Admins call the API with Entra access tokens (no function keys): their audience and signing keys.
    ENTRA_API_APP_ID_URI: 'api://${entraAppClientId}'
    ENTRA_TOKEN_JWKS_URL: '${environment().authentication.loginEndpoint}common/discovery/v2.0/keys'
    PUBLIC_BASE_URL: 'https://${functionApp.properties.defaultHostName}'
    // Versionless references: the platform picks up a rotated secret within 24 hours (or at once
    // on restart).
    STATE_SIGNING_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretsBase}/${stateSigningKeySecretName})'
    SECRETS_ENCRYPTION_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretsBase}/${secretsEncryptionKeySecretName})'
    CONSENT_STATE_TTL_SECONDS: string(consentStateTtlSeconds)
    DIRECTORY_DEFAULT_PHONE_REGION: directoryDefaultPhoneRegion
    // A certificate's secret is its PKCS#12 (private key included), which is what the app loads.
    ENTRA_APP_CERTIFICATE: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretsBase}/${entraAppCertificateName})'
    NOTIFICATION_CERTIFICATE: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretsBase}/${notificationCertificateName})'
    GRAPH_BASE_URL: '${environment().graph}v1.0'
    // Identity-based connection: the sender in our code and the queue trigger both use it.
    ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
    ServiceBusConnection__credential: 'managedidentity'
    ServiceBusConnection__clientId: identityClientId
    PRESENCE_QUEUE_NAME: presenceQueueName
    // Webex Contact Center sign-in: off (both empty) until the operator registers the integration.
    WEBEX_CLIENT_ID: webexClientId
    // deploy.sh creates a placeholder so the reference always resolves; ignored while the id is empty.
    WEBEX_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretsBase}/${webexClientSecretName})'
  }
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
output url string = 'https://${functionApp.properties.defaultHostName}'
