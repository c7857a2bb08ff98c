"""Shard planning: minimal churn, the 650 limit, capacity use, and what becomes of unusable accounts."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.subscriptions.sharding import MAX_IDS_PER_SUBSCRIPTION, ShardPlan, plan_shards
from tests.support.property_profiles import examples
from tests.unit.subscriptions.conftest import users

A, B, C = "account-a", "account-b", "account-c"


def test_first_plan_fills_one_account_before_touching_another() -> None:
    # GIVEN 300 agents and three empty accounts
    desired = users(1, 300)

    # WHEN planning from nothing
    plan = plan_shards({}, desired, [A, B, C])

    # THEN one subscription is created, on the first account, with everyone
    assert plan.create == {A}
    assert plan.assignment == {A: frozenset(desired)}
    assert plan.replace == plan.delete == plan.unsubscribed == frozenset()


def test_1300_agents_fill_two_accounts_exactly() -> None:
    plan = plan_shards({}, users(1, 1300), [A, B])

    assert sorted(len(shard) for shard in plan.assignment.values()) == [650, 650]
    assert plan.create == {A, B}
    assert plan.unsubscribed == frozenset()


def test_1301st_agent_is_left_unsubscribed() -> None:
    plan = plan_shards({}, users(1, 1301), [A, B])

    assert len(plan.unsubscribed) == 1
    assert all(len(shard) == MAX_IDS_PER_SUBSCRIPTION for shard in plan.assignment.values())


def test_added_user_touches_exactly_one_shard() -> None:
    # GIVEN two shards with room
    current = {A: frozenset(users(1, 400)), B: frozenset(users(401, 300))}

    # WHEN one agent is added
    plan = plan_shards(current, [*users(1, 700), users(9000, 1)[0]], [A, B])

    # THEN only one subscription is replaced, the fullest that has room (fewest touched)
    assert plan.touched == {A}
    assert plan.replace == {A}
    assert plan.assignment[B] == current[B]


def test_new_users_join_a_shard_that_changes_anyway() -> None:
    # GIVEN an agent removed from B (B is replaced anyway)
    current = {A: frozenset(users(1, 400)), B: frozenset(users(401, 300))}
    desired = [*users(1, 400), *users(402, 299), *users(5000, 3)]

    # WHEN three agents are added in the same change
    plan = plan_shards(current, desired, [A, B])

    # THEN they go to B, and A is left alone
    assert plan.touched == {B}
    assert set(users(5000, 3)) <= plan.assignment[B]


def test_stale_account_attracts_new_users_and_is_replaced_even_when_unchanged() -> None:
    current = {A: frozenset(users(1, 10)), B: frozenset(users(11, 10))}

    plan = plan_shards(current, [*users(1, 20), *users(100, 2)], [A, B], stale={B})

    assert plan.replace == {B}
    assert plan.assignment[A] == current[A]
    assert set(users(100, 2)) <= plan.assignment[B]


def test_stale_account_with_nothing_new_is_still_recreated() -> None:
    current = {A: frozenset(users(1, 10))}

    plan = plan_shards(current, users(1, 10), [A], stale={A})

    assert plan.replace == {A}
    assert plan.assignment[A] == current[A]


def test_unusable_account_releases_its_users_to_accounts_with_room() -> None:
    # GIVEN A holds 600 users and then must sign in again (no longer usable)
    current = {A: frozenset(users(1, 600)), B: frozenset(users(601, 100))}

    # WHEN planning with B and C usable
    plan = plan_shards(current, users(1, 700), [B, C])

    # THEN A's subscription goes and its users move together to C, which can take them all: B, which
    # could not, is left alone
    assert plan.delete == {A}
    assert A not in plan.assignment
    assert plan.assignment == {B: current[B], C: current[A]}
    assert plan.create == {C}
    assert plan.replace == frozenset()


def test_released_users_spill_over_when_no_account_can_take_them_all() -> None:
    # GIVEN A (600 users) is unusable, B has room for 550 and C for 100
    current = {A: frozenset(users(1, 600)), B: frozenset(users(601, 100)), C: frozenset(users(701, 550))}

    # WHEN planning with B and C usable
    plan = plan_shards(current, users(1, 1250), [B, C])

    # THEN everyone still fits, no shard exceeds 650, and both accounts are replaced
    assert set().union(*plan.assignment.values()) == set(users(1, 1250))
    assert all(len(shard) <= MAX_IDS_PER_SUBSCRIPTION for shard in plan.assignment.values())
    assert plan.replace == {B, C}
    assert plan.delete == {A}


def test_emptied_shard_is_deleted() -> None:
    plan = plan_shards({A: frozenset(users(1, 3)), B: frozenset(users(4, 3))}, users(1, 3), [A, B])

    assert plan.delete == {B}
    assert plan.touched == {B}


def test_nothing_changes_when_nothing_changed() -> None:
    current = {A: frozenset(users(1, 650)), B: frozenset(users(651, 10))}

    plan = plan_shards(current, users(1, 660), [A, B])

    assert plan.touched == frozenset()
    assert plan.assignment == current


def test_a_user_on_two_accounts_keeps_only_the_first() -> None:
    # GIVEN a corrupt state where one user is on both accounts
    shared_user = users(1, 1)[0]
    current = {A: frozenset({shared_user}), B: frozenset({shared_user, users(2, 1)[0]})}

    plan = plan_shards(current, users(1, 2), [A, B])

    assert plan.assignment[A] == {shared_user}
    assert plan.assignment[B] == {users(2, 1)[0]}
    assert plan.replace == {B}


def test_capacity_must_be_within_graph_limit() -> None:
    with pytest.raises(ValueError, match="capacity"):
        plan_shards({}, [], [A], capacity=651)


# -- properties ------------------------------------------------------------------------------------

CAPACITY = 5
ACCOUNTS = [f"account-{n}" for n in range(5)]
USERS = [f"user-{n:02d}" for n in range(30)]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, frozenset[str]], frozenset[str], list[str], frozenset[str]]:
    """A valid current state (disjoint shards of at most CAPACITY users), a desired roster, a usable
    account list in any order and a set of stale accounts."""
    pool = list(draw(st.permutations(USERS)))
    current: dict[str, frozenset[str]] = {}
    for account in draw(st.lists(st.sampled_from(ACCOUNTS), unique=True)):
        size = draw(st.integers(0, CAPACITY))
        current[account], pool = frozenset(pool[:size]), pool[size:]
    desired = draw(st.frozensets(st.sampled_from(USERS)))
    usable = draw(st.lists(st.sampled_from(ACCOUNTS), unique=True))
    stale = draw(st.frozensets(st.sampled_from(sorted(current) or ACCOUNTS)))
    return current, desired, usable, frozenset(stale) & frozenset(current)


def _plan(
    scenario: tuple[Mapping[str, frozenset[str]], frozenset[str], list[str], frozenset[str]],
) -> ShardPlan:
    current, desired, usable, stale = scenario
    return plan_shards(current, desired, usable, stale=stale, capacity=CAPACITY)


@settings(max_examples=examples(300))
@given(scenarios())
def test_every_desired_user_is_assigned_at_most_once_and_only_desired_users(scenario) -> None:
    _current, desired, usable, _ = scenario
    plan = _plan(scenario)

    assigned = [u for shard in plan.assignment.values() for u in shard]
    assert len(assigned) == len(set(assigned))
    assert set(assigned) <= desired
    assert set(assigned) | plan.unsubscribed == desired
    assert not set(assigned) & plan.unsubscribed
    assert set(plan.assignment) <= set(usable)


@settings(max_examples=examples(300))
@given(scenarios())
def test_no_account_exceeds_capacity(scenario) -> None:
    plan = _plan(scenario)

    assert all(0 < len(shard) <= CAPACITY for shard in plan.assignment.values())


@settings(max_examples=examples(300))
@given(scenarios())
def test_untouched_shards_are_unchanged(scenario) -> None:
    current, _, usable, _ = scenario
    plan = _plan(scenario)

    for account in set(current) | set(usable):
        if account not in plan.touched:
            assert plan.assignment.get(account, frozenset()) == current.get(account, frozenset())
    assert not plan.replace & plan.create
    assert not plan.delete & set(plan.assignment)


@settings(max_examples=examples(300))
@given(scenarios())
def test_users_stay_on_their_usable_account(scenario) -> None:
    current, desired, usable, _ = scenario
    plan = _plan(scenario)

    for account in usable:
        assert current.get(account, frozenset()) & desired <= plan.assignment.get(account, frozenset())


@settings(max_examples=examples(300))
@given(scenarios())
def test_capacity_is_used_when_available(scenario) -> None:
    _, _, usable, _ = scenario
    plan = _plan(scenario)

    if plan.unsubscribed:
        assert all(len(plan.assignment.get(account, frozenset())) == CAPACITY for account in usable)


@settings(max_examples=examples(300))
@given(scenarios())
def test_unusable_accounts_are_deleted(scenario) -> None:
    current, _, usable, _ = scenario
    plan = _plan(scenario)

    assert set(current) - set(usable) <= plan.delete


@settings(max_examples=examples(200))
@given(scenarios())
def test_replanning_the_result_changes_nothing(scenario) -> None:
    _current, desired, usable, _stale = scenario
    plan = _plan(scenario)

    again = plan_shards(plan.assignment, desired, usable, capacity=CAPACITY)

    assert again.touched == frozenset()
    assert again.assignment == plan.assignment
