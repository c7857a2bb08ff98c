"""Verifying and opening Microsoft Graph change notifications: pure, fast, no I/O per notification.

Nothing here imports msgraph-sdk; the notification intake depends on these modules on its hot path.
"""
