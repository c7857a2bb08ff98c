"""`make test` runs every property test derandomized; only `make property-long` draws random examples."""

from __future__ import annotations

import pytest
from hypothesis import settings

from tests.support import property_profiles
from tests.support.property_profiles import DERANDOMIZED, PROFILE_VARIABLE, RANDOMIZED, examples


def test_the_test_run_is_derandomized_without_an_example_database(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no profile asked for (make test, CI)
    monkeypatch.delenv(PROFILE_VARIABLE, raising=False)
    # THEN the loaded profile draws the same examples everywhere and replays nothing found elsewhere
    assert property_profiles.active_profile() == DERANDOMIZED
    loaded = settings.default
    assert loaded is not None
    assert loaded.derandomize is True
    assert loaded.database is None
    assert examples(300) == 300


def test_the_long_run_is_random_and_larger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROFILE_VARIABLE, RANDOMIZED)
    assert settings.get_profile(RANDOMIZED).derandomize is False
    assert examples(300) > 300


def test_an_unknown_profile_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROFILE_VARIABLE, "fast")
    with pytest.raises(RuntimeError, match="fast"):
        property_profiles.active_profile()
