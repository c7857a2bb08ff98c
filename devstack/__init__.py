"""Local development stack: the local Functions host, Azurite runner and local simulators.

Nothing here is deployed; it lets the connector run and be tested on a machine without the Azure
Functions Core Tools, Service Bus or a real Microsoft 365 tenant.
"""
