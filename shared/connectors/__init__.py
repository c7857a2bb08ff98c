"""Connector lifecycle: one connector per Microsoft 365 tenant, from setup to deletion."""
