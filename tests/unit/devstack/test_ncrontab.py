"""NCRONTAB and TimeSpan schedules as the Functions host reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from devstack.ncrontab import CronSchedule, IntervalSchedule, parse_schedule


def at(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/1 * * * * *", at(2024, 12, 31, 23, 59, 59), at(2025, 1, 1, 0, 0, 0)),
        ("0 */5 * * * *", at(2024, 3, 1, 10, 7, 30), at(2024, 3, 1, 10, 10, 0)),
        ("0 */5 * * * *", at(2024, 3, 1, 10, 10, 0), at(2024, 3, 1, 10, 15, 0)),
        ("30 15 9 * * *", at(2024, 3, 1, 9, 15, 30), at(2024, 3, 2, 9, 15, 30)),
        ("0 30 9 * * MON-FRI", at(2024, 1, 5, 10, 0, 0), at(2024, 1, 8, 9, 30, 0)),
        ("0 0 12 * * sun", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 7, 12, 0, 0)),
        ("0 0 0 1 JAN,jul *", at(2024, 2, 1, 0, 0, 0), at(2024, 7, 1, 0, 0, 0)),
        ("0 0 0 31 * *", at(2024, 4, 1, 0, 0, 0), at(2024, 5, 31, 0, 0, 0)),
        ("0 0 0 29 2 *", at(2025, 1, 1, 0, 0, 0), at(2028, 2, 29, 0, 0, 0)),
        ("0 0 10-12/2 * * *", at(2024, 1, 1, 10, 0, 0), at(2024, 1, 1, 12, 0, 0)),
        ("0 0,30 * * * *", at(2024, 1, 1, 10, 0, 0), at(2024, 1, 1, 10, 30, 0)),
        ("5/20 * * * * *", at(2024, 1, 1, 10, 0, 6), at(2024, 1, 1, 10, 0, 25)),
        ("0 0 0 13 * FRI", at(2024, 1, 1, 0, 0, 0), at(2024, 9, 13, 0, 0, 0)),
    ],
)
def test_next_occurrence_of_ncrontab_expressions(
    expression: str, after: datetime, expected: datetime
) -> None:
    # GIVEN a parsed schedule WHEN asking for the next occurrence THEN it is the expected UTC moment
    assert parse_schedule(expression).next_after(after) == expected


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    # GIVEN "the 29th of February that is a Monday" (NCrontab ANDs the two day fields)
    schedule = parse_schedule("0 0 0 29 2 MON")

    # WHEN asking for the next occurrence after 2024
    found = schedule.next_after(at(2024, 3, 1, 0, 0, 0))

    # THEN it is the first such day, years later
    assert found == at(2044, 2, 29, 0, 0, 0)
    assert found.weekday() == 0


def test_next_occurrence_is_strictly_after_and_drops_fractions() -> None:
    # GIVEN an every-second schedule and a moment inside a second
    schedule = parse_schedule("* * * * * *")

    # WHEN / THEN the next occurrence is the next whole second
    assert schedule.next_after(at(2024, 1, 1, 0, 0, 0) + timedelta(microseconds=999)) == at(
        2024, 1, 1, 0, 0, 1
    )


def test_other_time_zones_are_converted_to_utc() -> None:
    # GIVEN a moment expressed at UTC+2
    moment = datetime(2024, 1, 1, 2, 0, 0, tzinfo=timezone(timedelta(hours=2)))

    # WHEN / THEN the schedule works in UTC
    assert parse_schedule("0 0 1 * * *").next_after(moment) == at(2024, 1, 1, 1, 0, 0)


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_schedule("* * * * * *").next_after(datetime(2024, 1, 1))


@pytest.mark.parametrize(
    ("expression", "interval"),
    [
        ("00:05:00", timedelta(minutes=5)),
        ("01:00:30", timedelta(hours=1, seconds=30)),
        ("1.02:00:00", timedelta(days=1, hours=2)),
    ],
)
def test_timespan_schedules_repeat_at_their_interval(expression: str, interval: timedelta) -> None:
    # GIVEN a TimeSpan schedule
    schedule = parse_schedule(expression)

    # THEN it is an interval schedule counting from the given moment
    assert isinstance(schedule, IntervalSchedule)
    assert schedule.next_after(at(2024, 1, 1, 0, 0, 0)) == at(2024, 1, 1, 0, 0, 0) + interval


def test_parsed_expression_keeps_its_text() -> None:
    schedule = parse_schedule("0 */5 * * * *")
    assert isinstance(schedule, CronSchedule)
    assert schedule.expression == "0 */5 * * * *"
    assert schedule.minutes == tuple(range(0, 60, 5))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("*/5 * * * *", "has 5 field"),
        ("0 0 0 * * * *", "has 7 field"),
        ("", "has 0 field"),
        ("60 * * * * *", "second field '60' is outside 0-59"),
        ("0 60 * * * *", "minute field '60' is outside 0-59"),
        ("0 0 24 * * *", "hour field '24' is outside 0-23"),
        ("0 0 0 0 * *", "day field '0' is outside 1-31"),
        ("0 0 0 * 13 *", "month field '13' is outside 1-12"),
        ("0 0 0 * * 7", "day of week field '7' is outside 0-6"),
        ("0 0 0 * FOO *", "month field 'FOO' is not a number or a name"),
        ("0 0 0 * * MONDAY", "is not a number or a name"),
        ("*/0 * * * * *", "positive whole step"),
        ("*/x * * * * *", "positive whole step"),
        ("0 10-5 * * * *", "start is after its end"),
        ("0 1,,2 * * * *", "is not a number"),
        ("0 0 0 30 2 *", "names a day that none of its months has"),
        ("00:00:00", "longer than zero"),
        ("24:00:00", "out of range"),
        ("00:61:00", "out of range"),
    ],
)
def test_invalid_schedules_raise_clear_errors(expression: str, message: str) -> None:
    # GIVEN an invalid schedule WHEN parsing THEN a ValueError says what is wrong
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("*", r"\*")):
        parse_schedule(expression)
