"""Failures of the subscriptions area. None of them is caused by client input, so none maps to a 4xx."""

from __future__ import annotations

from shared.errors import AppError


class SubscriptionError(AppError):
    code = "subscriptionError"


class ShardTooLarge(SubscriptionError):
    """A shard holds more user ids than one subscription (or one table property) can carry."""

    code = "shardTooLarge"


class RosterContention(SubscriptionError):
    """The tenant's roster row kept changing under us; the next timer run catches up."""

    code = "rosterContention"


class LeaseLost(SubscriptionError):
    """Another instance took over the tenant's sync lease (ours had lapsed): stop touching Graph."""

    code = "subscriptionLeaseLost"
