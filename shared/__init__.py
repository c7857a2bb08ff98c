"""The connector: domain core, services, ports and their adapters, and the trigger adapters."""
