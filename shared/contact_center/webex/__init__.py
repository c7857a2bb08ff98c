"""Webex Contact Center the way the real service works: OAuth sign-in, subscriptions, signed events."""
