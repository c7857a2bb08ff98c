"""Which sync account's subscription covers which agents: a pure plan with minimal churn.

Graph cannot change the id list of a presence subscription: a new list means delete and create, and
the users of that shard miss notifications in between (the service closes the gap by reading their
presence). So the plan touches as few subscriptions as it can:

- users stay on the account they are on; users no longer wanted leave it;
- users of accounts that are no longer usable (removed, or needing a new sign-in) are released;
- each user to place goes to an account that is being replaced anyway (the one with the most room),
  else to the fullest account that can take all remaining users, else to the one with the most room;
- no account holds more than 650 users; who does not fit is reported as unsubscribed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Final

MAX_IDS_PER_SUBSCRIPTION: Final = 650


@dataclass(frozen=True)
class ShardPlan:
    # Usable accounts with a non-empty shard after the plan.
    assignment: Mapping[str, frozenset[str]]
    # Accounts whose current subscription must be deleted and created again with a new id list.
    replace: frozenset[str]
    # Accounts without a subscription that get one.
    create: frozenset[str]
    # Accounts whose subscription (and record) must go: emptied, or no longer usable.
    delete: frozenset[str]
    # Desired users no usable account has room for.
    unsubscribed: frozenset[str]

    @property
    def touched(self) -> frozenset[str]:
        return self.replace | self.create | self.delete


def plan_shards(
    current: Mapping[str, AbstractSet[str]],
    desired: Iterable[str],
    usable: Sequence[str],
    *,
    stale: AbstractSet[str] = frozenset(),
    capacity: int = MAX_IDS_PER_SUBSCRIPTION,
) -> ShardPlan:
    """Plan the shards.

    `current`: the users each account's subscription (or failed attempt) covers now. `usable`: the
    accounts that may hold a subscription, in order of preference (ties go to the earlier one).
    `stale`: accounts whose subscription must be recreated even if their users do not change (it
    failed, or Graph lost it); they attract new users, since they are being touched anyway.
    """
    if not 1 <= capacity <= MAX_IDS_PER_SUBSCRIPTION:
        raise ValueError(f"capacity must be between 1 and {MAX_IDS_PER_SUBSCRIPTION}")
    order = {account: index for index, account in enumerate(dict.fromkeys(usable))}
    wanted = frozenset(desired)
    shards: dict[str, set[str]] = {account: set() for account in order}
    placed: set[str] = set()
    for account in order:
        # Sorted so that a corrupt state (a user on two accounts, an oversized shard) resolves the
        # same way every time.
        staying = sorted((frozenset(current.get(account, ())) & wanted) - placed)[:capacity]
        shards[account].update(staying)
        placed.update(staying)

    touched = {
        account
        for account in order
        if account in stale or (account in current and shards[account] != frozenset(current[account]))
    }
    waiting = sorted(wanted - placed)
    start = 0
    while start < len(waiting):
        room = {account: capacity - len(shard) for account, shard in shards.items() if len(shard) < capacity}
        if not room:
            break
        target = _pick(room, touched, len(waiting) - start, order)
        batch = waiting[start : start + room[target]]
        shards[target].update(batch)
        start += len(batch)
        touched.add(target)

    assignment = {account: frozenset(shard) for account, shard in shards.items() if shard}
    replace = frozenset(
        account
        for account, shard in assignment.items()
        if account in current and (account in stale or shard != frozenset(current[account]))
    )
    create = frozenset(account for account in assignment if account not in current)
    delete = frozenset(account for account in current if account not in assignment)
    return ShardPlan(
        assignment=assignment,
        replace=replace,
        create=create,
        delete=delete,
        unsubscribed=frozenset(waiting[start:]),
    )


def _pick(room: dict[str, int], touched: set[str], remaining: int, order: Mapping[str, int]) -> str:
    already = [account for account in room if account in touched]
    if already:
        return max(already, key=lambda account: (room[account], -order[account]))
    fits = [account for account in room if room[account] >= remaining]
    if fits:
        return min(fits, key=lambda account: (room[account], order[account]))
    return max(room, key=lambda account: (room[account], -order[account]))
