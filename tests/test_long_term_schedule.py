"""The long-term watch's schedule (recovery-course.md, "Long-term watch (PMMA)"): after the
30-day diary, monthly for the first year, then every three months, until five years after
the last treatment of the product; a new treatment restarts the clock."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recovery import course

dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31))


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (dt.date(2026, 1, 15), 1, dt.date(2026, 2, 15)),
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),  # a month end
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),  # a leap year's February
        (dt.date(2028, 2, 29), 12, dt.date(2029, 2, 28)),  # a leap day, a year on
        (dt.date(2028, 2, 29), 48, dt.date(2032, 2, 29)),  # and four years on
        (dt.date(2026, 8, 31), 3, dt.date(2026, 11, 30)),
        (dt.date(2026, 11, 30), 2, dt.date(2027, 1, 30)),  # over a new year
        (dt.date(2026, 12, 31), 60, dt.date(2031, 12, 31)),
    ],
)
def test_months_are_calendar_months(start: dt.date, months: int, expected: dt.date) -> None:
    assert course.add_months(start, months) == expected


def test_monthly_in_the_first_year_then_every_three_months_for_five_years() -> None:
    schedule = course.long_term_schedule([dt.date(2026, 11, 20)])

    assert schedule[:3] == (dt.date(2027, 1, 20), dt.date(2027, 2, 20), dt.date(2027, 3, 20))
    # Month 12, then the switch to every three months: month 15.
    assert schedule[10:12] == (dt.date(2027, 11, 20), dt.date(2028, 2, 20))
    assert schedule[-1] == dt.date(2031, 11, 20)  # five years after the treatment
    assert len(schedule) == 11 + 16  # months 2..12, then 15, 18, ..., 60


def test_a_second_treatment_restarts_the_clock() -> None:
    first, second = dt.date(2026, 1, 10), dt.date(2026, 9, 3)

    assert course.long_term_schedule([first, second]) == course.long_term_schedule([second])
    assert course.long_term_schedule([second, first])[-1] == dt.date(2031, 9, 3)
    assert course.long_term_schedule([]) == ()


@given(dates, st.integers(min_value=0, max_value=120))
def test_adding_months_keeps_the_day_or_takes_the_months_last(start: dt.date, n: int) -> None:
    later = course.add_months(start, n)

    assert (later.year * 12 + later.month) - (start.year * 12 + start.month) == n
    assert later.day == start.day or (
        later.day < start.day and (later + dt.timedelta(days=1)).day == 1
    )


@given(st.lists(dates, min_size=1, max_size=4))
def test_the_schedule_starts_after_the_diary_and_ends_at_five_years(
    treated_on: list[dt.date],
) -> None:
    last = max(treated_on)
    schedule = course.long_term_schedule(treated_on)

    assert schedule[0] > last + dt.timedelta(days=course.BELLAFILL.diary_days)
    assert schedule[-1] == course.add_months(last, 60)
    gaps = [(b - a).days for a, b in zip(schedule, schedule[1:], strict=False)]
    assert all(28 <= gap <= 31 for gap in gaps[:10])  # monthly to month 12
    assert all(89 <= gap <= 92 for gap in gaps[10:])  # then every three months


@given(st.lists(dates, min_size=1, max_size=3), st.integers(min_value=-60, max_value=2200))
def test_what_is_due_is_the_latest_due_date_not_yet_answered(
    treated_on: list[dt.date], offset: int
) -> None:
    schedule = course.long_term_schedule(treated_on)
    today = max(treated_on) + dt.timedelta(days=offset)
    passed = [d for d in schedule if d <= today]

    due = course.long_term_due(treated_on, today=today)

    ended = bool(passed) and today >= course.add_months(schedule[-1], 3)
    assert due == (passed[-1] if passed and not ended else None)
    if due is not None:
        # Answered on (or after) its due date: nothing is due until the next one.
        assert course.long_term_due(treated_on, today=today, answered=[due]) is None
        # An answer to an earlier one does not answer it.
        earlier = [d - dt.timedelta(days=1) for d in passed]
        assert course.long_term_due(treated_on, today=today, answered=earlier) == due


def test_nothing_is_due_during_the_diary_or_after_five_years() -> None:
    treated_on = [dt.date(2026, 11, 20)]

    assert course.long_term_due(treated_on, today=dt.date(2026, 12, 20)) is None
    assert course.long_term_due(treated_on, today=dt.date(2027, 1, 19)) is None
    assert course.long_term_due(treated_on, today=dt.date(2027, 1, 20)) == dt.date(2027, 1, 20)
    # The last, five years on, is due for three months; then the watch has ended.
    end = dt.date(2031, 11, 20)
    assert course.long_term_due(treated_on, today=dt.date(2032, 2, 19)) == end
    assert course.long_term_due(treated_on, today=dt.date(2032, 2, 19), answered=[end]) is None
    assert course.long_term_due(treated_on, today=dt.date(2032, 2, 20)) is None
