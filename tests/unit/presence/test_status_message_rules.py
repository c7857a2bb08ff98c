"""The status message rule: when the connector sets, keeps or clears an agent's Teams status message,
and that a message the user wrote himself is never overwritten nor cleared."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.presence.status_message_rules import (
    STATUS_MESSAGE_EXPIRY,
    ClearStatusMessage,
    SetStatusMessage,
    is_connector_message,
    status_message_command,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TEXTS = {"onCall": "On a customer call", "wrapUp": "Wrapping up a call"}


def test_entering_a_configured_state_sets_its_text_with_an_expiry() -> None:
    assert status_message_command(TEXTS, "onCall", None, NOW) == SetStatusMessage(
        "On a customer call", NOW + STATUS_MESSAGE_EXPIRY
    )


def test_moving_between_configured_states_replaces_the_connectors_own_text() -> None:
    assert status_message_command(TEXTS, "wrapUp", "On a customer call", NOW) == SetStatusMessage(
        "Wrapping up a call", NOW + STATUS_MESSAGE_EXPIRY
    )


def test_the_same_text_already_shown_is_not_written_again() -> None:
    assert status_message_command(TEXTS, "onCall", "On a customer call", NOW) is None


def test_leaving_the_configured_states_clears_the_connectors_text() -> None:
    assert status_message_command(TEXTS, "available", "Wrapping up a call", NOW) == ClearStatusMessage()


def test_nothing_to_clear_when_no_message_is_shown() -> None:
    assert status_message_command(TEXTS, "available", None, NOW) is None


@pytest.mark.parametrize("state", ["onCall", "wrapUp", "available", "idle"])
def test_a_message_the_user_wrote_is_never_overwritten_nor_cleared(state: str) -> None:
    assert status_message_command(TEXTS, state, "Back at 3, ask Ann", NOW) is None


def test_a_group_without_texts_never_touches_the_message() -> None:
    assert status_message_command({}, "onCall", None, NOW) is None


def test_the_expiry_is_a_few_hours_so_a_missed_clear_ends_on_its_own() -> None:
    command = status_message_command(TEXTS, "onCall", None, NOW)
    assert isinstance(command, SetStatusMessage)
    assert NOW < command.expires_at <= NOW + STATUS_MESSAGE_EXPIRY


def test_which_messages_are_the_connectors() -> None:
    assert is_connector_message(None, TEXTS)
    assert is_connector_message("On a customer call", TEXTS)
    # A text that only differs in case is the user's: he typed it.
    assert not is_connector_message("on a customer call", TEXTS)
