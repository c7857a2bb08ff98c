"""What the expert directory answers: pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DEFAULT_TOP: Final = 25
MAX_TOP: Final = 50
# The longest value placed in an OData expression (Graph caps department and jobTitle at 64 too).
MAX_VALUE_LENGTH: Final = 64
AVAILABLE: Final = "Available"
UNKNOWN: Final = "PresenceUnknown"


@dataclass(frozen=True)
class DirectoryQuery:
    """A search as the caller asked it, already validated (shared.directory.commands)."""

    search: str | None = None
    department: str | None = None
    job_title: str | None = None
    available: bool = False
    top: int = DEFAULT_TOP

    def __post_init__(self) -> None:
        if not 1 <= self.top <= MAX_TOP:
            raise ValueError(f"top must be between 1 and {MAX_TOP}, not {self.top}")


@dataclass(frozen=True)
class ExpertPresence:
    availability: str
    activity: str
    out_of_office: bool = False
    status_message: str | None = None

    @property
    def available(self) -> bool:
        """What `available=true` keeps: Available and not out of office."""
        return self.availability == AVAILABLE and not self.out_of_office


UNKNOWN_PRESENCE: Final = ExpertPresence(UNKNOWN, UNKNOWN)


@dataclass(frozen=True)
class TransferTarget:
    """Where a contact center sends a call to reach the expert: his E.164 number over the PSTN."""

    number: str
    type: str = "pstn"


@dataclass(frozen=True)
class Expert:
    id: str
    display_name: str | None
    department: str | None
    job_title: str | None
    user_principal_name: str | None
    mail: str | None
    # E.164, or None when none of the user's numbers parses as a direct number.
    business_phone: str | None
    presence: ExpertPresence

    @property
    def transfer_target(self) -> TransferTarget | None:
        return TransferTarget(self.business_phone) if self.business_phone else None

    @property
    def transferable(self) -> bool:
        return self.business_phone is not None


@dataclass(frozen=True)
class DirectoryPage:
    experts: tuple[Expert, ...]
    # Opaque, signed: hand it back with the same query for the next page; None on the last page.
    next_skip_token: str | None
