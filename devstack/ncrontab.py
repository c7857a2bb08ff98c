"""Timer-trigger schedules as the Azure Functions host reads them.

Two forms are accepted, like the host: a 6-field NCRONTAB expression (`sec min hour day month dow`)
and a TimeSpan interval (`hh:mm:ss`, optionally `d.hh:mm:ss`). Times are UTC: the local host has no
WEBSITE_TIME_ZONE.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

# Feb 29 combined with a fixed weekday repeats every 28 years; a wider window only matters for
# schedules that can never fire, which parse_schedule already rejects.
_SEARCH_YEARS = 29

_MONTH_NAMES: Mapping[str, int] = {
    name.upper(): number for number, name in enumerate(calendar.month_abbr) if name
}
_DAY_NAMES: Mapping[str, int] = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2}):(?P<s>\d{1,2})$")


class Schedule(Protocol):
    expression: str

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment`, in UTC."""
        ...


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: Mapping[str, int]


_FIELDS = (
    _Field("second", 0, 59, {}),
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day", 1, 31, {}),
    _Field("month", 1, 12, _MONTH_NAMES),
    _Field("day of week", 0, 6, _DAY_NAMES),
)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed NCRONTAB expression.

    Day of month and day of week must both match (NCrontab semantics, unlike Vixie cron's "either").
    """

    expression: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: frozenset[int]

    def next_after(self, moment: datetime) -> datetime:
        start = _as_utc(moment).replace(microsecond=0) + timedelta(seconds=1)
        for day in self._candidate_days(start.date()):
            found = self._first_time_on(day, start if day == start.date() else None)
            if found is not None:
                return found
        raise ValueError(f"NCRONTAB expression {self.expression!r} has no occurrence after {moment}")

    def _candidate_days(self, first: date) -> Iterator[date]:
        for year in range(first.year, first.year + _SEARCH_YEARS):
            for month in self.months:
                if (year, month) < (first.year, first.month):
                    continue
                last_day = calendar.monthrange(year, month)[1]
                for day_number in self.days:
                    if day_number > last_day:
                        break
                    day = date(year, month, day_number)
                    # Python counts Monday as 0; NCRONTAB counts Sunday as 0.
                    if day >= first and (day.weekday() + 1) % 7 in self.weekdays:
                        yield day

    def _first_time_on(self, day: date, not_before: datetime | None) -> datetime | None:
        floor = (not_before.hour, not_before.minute, not_before.second) if not_before else (0, 0, 0)
        for hour in self.hours:
            if hour < floor[0]:
                continue
            for minute in self.minutes:
                if (hour, minute) < floor[:2]:
                    continue
                for second in self.seconds:
                    if (hour, minute, second) >= floor:
                        return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)
        return None


@dataclass(frozen=True)
class IntervalSchedule:
    """A TimeSpan schedule: fires every `interval`, counted from when the host started it."""

    expression: str
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return _as_utc(moment) + self.interval


def parse_schedule(expression: str) -> CronSchedule | IntervalSchedule:
    """Parse a timer-trigger schedule; raise ValueError saying what is wrong."""
    text = expression.strip()
    if _TIMESPAN.match(text):
        return _parse_timespan(text)
    return parse_ncrontab(text)


def parse_ncrontab(expression: str) -> CronSchedule:
    parts = expression.split()
    if len(parts) != len(_FIELDS):
        raise ValueError(
            f"NCRONTAB expression {expression!r} has {len(parts)} field(s); Azure Functions needs 6: "
            "second minute hour day month day-of-week (e.g. '0 */5 * * * *')"
        )
    values = [_parse_field(part, spec, expression) for part, spec in zip(parts, _FIELDS, strict=True)]
    seconds, minutes, hours, days, months, weekdays = values
    if not any(day <= _longest_month(month) for month in months for day in days):
        raise ValueError(f"NCRONTAB expression {expression!r} names a day that none of its months has")
    return CronSchedule(
        expression=expression,
        seconds=seconds,
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=frozenset(weekdays),
    )


def _parse_timespan(text: str) -> IntervalSchedule:
    match = _TIMESPAN.match(text)
    if match is None:
        raise ValueError(f"schedule {text!r} is not a TimeSpan (hh:mm:ss)")
    hours, minutes, seconds = int(match["h"]), int(match["m"]), int(match["s"])
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"TimeSpan schedule {text!r} is out of range (hours 0-23, minutes and seconds 0-59)")
    interval = timedelta(days=int(match["days"] or 0), hours=hours, minutes=minutes, seconds=seconds)
    if interval <= timedelta(0):
        raise ValueError(f"TimeSpan schedule {text!r} must be longer than zero")
    return IntervalSchedule(expression=text, interval=interval)


def _parse_field(text: str, spec: _Field, expression: str) -> tuple[int, ...]:
    selected: set[int] = set()
    for item in text.split(","):
        selected.update(_parse_item(item, spec, expression))
    return tuple(sorted(selected))


def _parse_item(item: str, spec: _Field, expression: str) -> range:
    def fail(reason: str) -> ValueError:
        return ValueError(f"NCRONTAB expression {expression!r}: {spec.name} field {item!r} {reason}")

    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise fail("needs a positive whole step after '/'")
        step = int(step_text)
    if base == "*":
        first, last = spec.low, spec.high
    elif "-" in base:
        first_text, _, last_text = base.partition("-")
        first, last = _value(first_text, spec, fail), _value(last_text, spec, fail)
        if first > last:
            raise fail("is a range whose start is after its end")
    else:
        first = _value(base, spec, fail)
        # NCrontab reads `5/10` as "from 5 to the end of the range, every 10".
        last = spec.high if slash else first
    return range(first, last + 1, step)


def _value(text: str, spec: _Field, fail: _Failure) -> int:
    if text.isdigit():
        value = int(text)
    elif text.upper() in spec.names:
        value = spec.names[text.upper()]
    else:
        raise fail("is not a number" + (" or a name" if spec.names else ""))
    if not spec.low <= value <= spec.high:
        raise fail(f"is outside {spec.low}-{spec.high}")
    return value


class _Failure(Protocol):
    def __call__(self, reason: str) -> ValueError: ...


def _longest_month(month: int) -> int:
    return 29 if month == 2 else calendar.monthrange(2001, month)[1]


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("schedule times must be timezone-aware (UTC)")
    return moment.astimezone(UTC)
