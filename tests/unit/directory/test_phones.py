"""Business phones to E.164: the formats real directories hold, with the default region setting."""

from __future__ import annotations

import pytest

from shared.directory.phones import first_e164, is_region, to_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        # Already international, with the punctuation people type
        ("+1 (425) 555-0100", "US", "+14255550100"),
        ("+1 425 555 0100", "GB", "+14255550100"),
        ("+14255550100", "US", "+14255550100"),
        ("+44 20 7946 0018", "US", "+442079460018"),
        ("+49 (0)30 901820", "US", "+4930901820"),
        # National formats need the default region
        ("020 7946 0018", "GB", "+442079460018"),
        ("(425) 555-0100", "US", "+14255550100"),
        ("425.555.0199", "US", "+14255550199"),
        ("030 901820", "DE", "+4930901820"),
        ("0170 1234567", "DE", "+491701234567"),
        # ... and are not guessed in another region
        ("020 7946 0018", "US", None),
        # Extensions reach a switchboard, not the expert: no direct transfer target
        ("+1 425 555 0100 ext. 42", "US", None),
        ("(425) 555-0100 x123", "US", None),
        ("+44 20 7946 0018;ext=7", "GB", None),
        # Garbage, too short, too long, empty
        ("garbage", "US", None),
        ("call me", "US", None),
        ("12", "US", None),
        ("+999 123", "US", None),
        ("", "US", None),
        ("   ", "US", None),
        ("+1 425 555 0100" + "0" * 80, "US", None),
    ],
)
def test_numbers_normalise_to_e164_or_none(raw: str, region: str, expected: str | None) -> None:
    assert to_e164(raw, region) == expected


def test_the_first_number_that_parses_wins_business_phones_before_the_mobile() -> None:
    assert first_e164(["n/a", "+1 425 555 0101", "+1 425 555 0102"], "US") == "+14255550101"
    assert first_e164(["extension 12", None, "07911 123456"], "GB") == "+447911123456"
    assert first_e164([None, "", "nope"], "US") is None
    assert first_e164([], "US") is None


def test_regions_are_libphonenumber_regions() -> None:
    assert is_region("US")
    assert is_region("GB")
    assert is_region("DE")
    assert not is_region("us")
    assert not is_region("XX")
    assert not is_region("")
