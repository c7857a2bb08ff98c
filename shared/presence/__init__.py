"""Presence sync between Teams and the contact center: messages, mappings, the sync engine."""
