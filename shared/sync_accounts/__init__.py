"""Sync accounts: the signed-in service users whose delegated tokens keep presence subscriptions alive."""
