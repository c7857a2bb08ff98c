"""Presence subscriptions: agents sharded over sync accounts, kept alive and repaired.

Graph accepts presence subscriptions only with a delegated token, at most 650 user ids each and one per
sync account and app, for at most 60 minutes. This package plans the shards (sharding.py), creates,
replaces, renews and removes the subscriptions (service.py), answers lifecycle events (lifecycle.py) and
tells the notification intake which subscriptions are ours without a table read (directory.py).
"""
