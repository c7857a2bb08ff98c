"""Queue adapters: presence changes handed to Azure Service Bus."""
