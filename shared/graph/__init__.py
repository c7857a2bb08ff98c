"""Microsoft Graph: the port the services call and its msgraph-sdk adapter (imported lazily)."""
