"""Agent groups and the presence policy an agent's changes follow. Pure data and rules, no I/O.

Webex switches its Teams integration on per desktop profile and NICE applies rules per team, so a
tenant's agents are split into groups: each group says whether its agents are synced at all and may
carry its own presence mappings (replacing the tenant's as a whole, never merged rule by rule).

- The `default` group always exists and cannot be stored: it follows the tenant's settings
  (`presenceSync` of the connector, the tenant's presence mappings). An agent without a group, or
  whose group was removed under him, is in it.
- The connector's own `presenceSync` is the master switch: off, no group is synced.
- A group with `presenceSync` off records its agents' Teams presence (the agents list shows it) but
  sends no command either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from shared.mappings.model import MappingRules, PresenceMappings

DEFAULT_GROUP_ID: Final = "default"
DEFAULT_GROUP_NAME: Final = "Default"


@dataclass(frozen=True)
class AgentGroup:
    """A stored group (never the default one). `mappings` None: the tenant's mappings apply."""

    tenant_id: str
    group_id: str
    display_name: str
    presence_sync: bool
    mappings: MappingRules | None
    created_at: datetime
    updated_at: datetime
    etag: str | None = None
    # Contact-center state (AgentState value) -> Teams status message shown while it lasts.
    status_messages: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupSpec:
    """What a PUT asks a group to be."""

    display_name: str
    presence_sync: bool
    mappings: MappingRules | None
    status_messages: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupView:
    """A group as the API shows it; the default group has no etag of its own and no stored mappings."""

    group_id: str
    display_name: str
    presence_sync: bool
    mappings: MappingRules | None
    is_default: bool
    created_at: datetime | None
    updated_at: datetime | None
    etag: str | None
    status_messages: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentPolicy:
    """What an agent's presence changes follow: his group, whether it syncs, and the mappings."""

    group_id: str
    presence_sync: bool
    mappings: PresenceMappings
    # True when the group's own mappings apply (not the tenant's).
    own_mappings: bool = False
    # The group's Teams status message per contact-center state (empty: none is shown).
    status_messages: Mapping[str, str] = field(default_factory=dict)


def resolve_policy(
    group_id: str | None,
    groups: Mapping[str, AgentGroup],
    tenant_mappings: PresenceMappings,
    *,
    tenant_presence_sync: bool = True,
) -> AgentPolicy:
    """The policy of an agent in `group_id` (None or unknown: the default group)."""
    group = None if group_id in (None, DEFAULT_GROUP_ID) else groups.get(group_id or "")
    if group is None:
        return AgentPolicy(DEFAULT_GROUP_ID, tenant_presence_sync, tenant_mappings)
    synced = tenant_presence_sync and group.presence_sync
    if group.mappings is None:
        return AgentPolicy(group.group_id, synced, tenant_mappings, status_messages=group.status_messages)
    own = PresenceMappings(group.mappings, is_default=False, etag=group.etag)
    return AgentPolicy(group.group_id, synced, own, own_mappings=True, status_messages=group.status_messages)


def default_group_view(tenant_presence_sync: bool) -> GroupView:
    return GroupView(
        group_id=DEFAULT_GROUP_ID,
        display_name=DEFAULT_GROUP_NAME,
        presence_sync=tenant_presence_sync,
        mappings=None,
        is_default=True,
        created_at=None,
        updated_at=None,
        etag=None,
    )


def group_view(group: AgentGroup) -> GroupView:
    return GroupView(
        group_id=group.group_id,
        display_name=group.display_name,
        presence_sync=group.presence_sync,
        mappings=group.mappings,
        is_default=False,
        created_at=group.created_at,
        updated_at=group.updated_at,
        etag=group.etag,
        status_messages=group.status_messages,
    )
