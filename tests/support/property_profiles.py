"""Hypothesis profiles: what `make test` runs and what the long randomized run (`make property-long`) runs.

`make test` (and CI) must never flake, so the default profile is derandomized: every run draws the same
examples from a seed derived from each test, and no local example database can replay a case another
machine never sees. Counterexamples found by the long run are pinned in the test as `@example`s.

The long run draws fresh random examples, many more of them, and keeps what it finds in the local
`.hypothesis/` database so a failure replays until it is fixed.

Tests state their example count for the derandomized run through `examples(n)`, so one knob scales them
all in the long run while their relative weights (what each example costs) stay as written.
"""

from __future__ import annotations

import os
from typing import Final

from hypothesis import HealthCheck, settings

PROFILE_VARIABLE: Final = "HYPOTHESIS_PROFILE"
DERANDOMIZED: Final = "derandomized"
RANDOMIZED: Final = "randomized"
_SCALE: Final = {DERANDOMIZED: 1, RANDOMIZED: 25}

settings.register_profile(
    DERANDOMIZED,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    RANDOMIZED,
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def active_profile() -> str:
    name = os.environ.get(PROFILE_VARIABLE, DERANDOMIZED)
    if name not in _SCALE:
        raise RuntimeError(f"{PROFILE_VARIABLE}={name!r}: expected one of {sorted(_SCALE)}")
    return name


def load_profile() -> None:
    settings.load_profile(active_profile())


def examples(count: int) -> int:
    """`count` examples in the derandomized run, more in the long randomized one."""
    return count * _SCALE[active_profile()]
