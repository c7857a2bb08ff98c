"""README's error-code table lists every code the API answers, once, with its status.

The codes come from the code itself: every AppError subclass that shared/http/errors.py maps to a status
(its own entry or its family's), and every code the HTTP layer and the local host write as a literal
(`internalError`, `notFound`, ...). A new error class or a renamed code fails here until README says so.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import shared
from shared.errors import AppError
from shared.http.errors import STATUS_BY_ERROR

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
# Where HTTP answers are written by hand rather than through the error table.
LITERAL_SOURCES = (
    *sorted((ROOT / "shared").rglob("*.py")),
    ROOT / "devstack" / "host.py",
    ROOT / "devstack" / "service_bus.py",
)
_LITERAL = re.compile(r"error_(?:reply|response)\(\s*(\d{3}),\s*\"(\w+)\"")
_ROW = re.compile(r"^\| `(\w+)` \| (\d{3}) \| .+ \|$")


def _subclasses(cls: type[AppError]) -> Iterator[type[AppError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def mapped_status(cls: type[AppError]) -> int | None:
    return next((STATUS_BY_ERROR[k] for k in cls.__mro__ if k in STATUS_BY_ERROR), None)


def answered_codes() -> dict[str, set[int]]:
    for module in pkgutil.walk_packages(shared.__path__, "shared."):
        importlib.import_module(module.name)
    codes: dict[str, set[int]] = {}
    classes: set[type[AppError]] = {AppError, *_subclasses(AppError)}
    for cls in classes:
        status = mapped_status(cls)
        if status is not None:
            codes.setdefault(cls.code, set()).add(status)
    for source in LITERAL_SOURCES:
        for status, code in _LITERAL.findall(source.read_text(encoding="utf-8")):
            codes.setdefault(code, set()).add(int(status))
    return codes


def documented_codes() -> list[tuple[str, int]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Error codes", 1)[1].split("\n#", 1)[0]
    return [(m.group(1), int(m.group(2))) for line in section.splitlines() if (m := _ROW.match(line))]


def test_every_code_the_api_answers_is_in_readme_once_with_its_status() -> None:
    documented = documented_codes()
    names = [code for code, _ in documented]
    assert len(names) == len(set(names)), "a code is listed twice"
    answered = answered_codes()
    # Each code means one status, whichever class raises it
    assert {code: statuses for code, statuses in answered.items() if len(statuses) > 1} == {}
    assert dict(documented) == {code: statuses.pop() for code, statuses in answered.items()}


def test_the_codes_the_issue_found_missing_are_there() -> None:
    names = {code for code, _ in documented_codes()}
    assert {
        "connectorNotActive",
        "userAlreadyAssigned",
        "agentNotFound",
        "invalidCursor",
        "tooManyAgents",
        "invalidSignature",
        "malformedNotification",
        "notFound",
        "methodNotAllowed",
    } <= names
