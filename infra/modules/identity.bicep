// User-assigned managed identity: the one principal the Function App uses for storage, Service Bus,
// Key Vault (including Key Vault references) and Application Insights. User-assigned rather than
// system-assigned so role assignments exist before the app first starts.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
