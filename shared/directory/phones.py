"""Business phones to E.164 with Google's libphonenumber (the `phonenumbers` port).

Entra holds phone numbers as people typed them: `+1 (425) 555-0100`, `020 7946 0018`, `555-0100 x23`.
A contact center can transfer only to an E.164 number, so each one is parsed with the tenant's default
region (for numbers written without a country code) and kept only when libphonenumber finds it a valid
number. A number with an extension is not kept: its E.164 part reaches a switchboard, not the expert.
"""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers

# Longer than any phone number someone typed; parsing a megabyte of digits is not our job.
_MAX_INPUT_LENGTH = 64


def is_region(code: str) -> bool:
    """True for a region libphonenumber knows (ISO 3166 alpha-2, upper case: US, GB, DE ...)."""
    return code in phonenumbers.SUPPORTED_REGIONS


def to_e164(raw: str, default_region: str) -> str | None:
    """`+14255550100` for `(425) 555-0100` in region US; None when it is no valid direct number."""
    text = raw.strip()
    if not text or len(text) > _MAX_INPUT_LENGTH:
        return None
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def first_e164(candidates: Iterable[str | None], default_region: str) -> str | None:
    """The first candidate that normalises (business phones first, then the mobile phone)."""
    for raw in candidates:
        if raw:
            number = to_e164(raw, default_region)
            if number is not None:
                return number
    return None
