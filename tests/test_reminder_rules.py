"""When reminders and nudges are owed: the pure rule, and the time the sweep waits for.

`old_due` below is the sweep's decision as it was before the time was stored (it asked
every active patient, every run); the property test holds the stored time to it, minute by
minute, across daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from recovery import access, course
from recovery.reminder_rules import (
    Diary,
    Due,
    Kind,
    Preferences,
    diaries_until,
    due,
    first_instant,
    next_due,
    next_reminder_at,
)

BELLAFILL = course.BELLAFILL
NEW_YORK = "America/New_York"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def local(
    zone: str, year: int, month: int, day: int, hour: int, minute: int, fold: int = 0
) -> dt.datetime:
    """A wall-clock time in `zone`, as the instant (UTC) it is."""
    moment = dt.datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)
    return moment.astimezone(dt.UTC)


def diary(treated_on: dt.date, **changes: object) -> Diary:
    return Diary(treated_on=treated_on, values=BELLAFILL, **changes)  # type: ignore[arg-type]


def patient(time_zone: str = NEW_YORK, **changes: object) -> Preferences:
    return Preferences(time_zone=time_zone, **changes)  # type: ignore[arg-type]


D = dt.date


@dataclass(frozen=True)
class Case:
    name: str
    diary: Diary
    patient: Preferences
    now: dt.datetime
    expected: Due | None


CASES = [
    Case(
        "at the patient's reminder time, in their own time zone",
        diary(D(2026, 11, 20), latest=D(2026, 11, 21)),
        patient(),
        utc(2026, 11, 22, 20, 0),  # 15:00 in New York
        Due(local(NEW_YORK, 2026, 11, 22, 19, 0), Kind.REMINDER),
    ),
    Case(
        "now, once the time has passed and nothing was sent today",
        diary(D(2026, 11, 20), latest=D(2026, 11, 21)),
        patient(),
        utc(2026, 11, 23, 1, 30, 15),
        Due(utc(2026, 11, 23, 1, 30, 15), Kind.REMINDER),
    ),
    Case(
        "a day checked in: the next day's time",
        diary(D(2026, 11, 20), latest=D(2026, 11, 22)),
        patient(),
        utc(2026, 11, 22, 20, 0),
        Due(local(NEW_YORK, 2026, 11, 23, 19, 0), Kind.REMINDER),
    ),
    Case(
        "a day already reminded: the next day's time",
        diary(D(2026, 11, 20), latest=D(2026, 11, 21)),
        patient(last_reminded_on=D(2026, 11, 22)),
        utc(2026, 11, 23, 1, 0),
        Due(local(NEW_YORK, 2026, 11, 23, 19, 0), Kind.REMINDER),
    ),
    Case(
        "reminders turned off: nothing",
        diary(D(2026, 11, 20)),
        patient(reminders_on=False),
        utc(2026, 11, 22, 20, 0),
        None,
    ),
    Case(
        "the diary's last day (day 30) still gets its reminder",
        diary(D(2026, 11, 20), latest=D(2026, 12, 19)),
        patient(),
        utc(2026, 12, 20, 12, 0),
        Due(local(NEW_YORK, 2026, 12, 20, 19, 0), Kind.REMINDER),
    ),
    Case(
        "after the diary's last day: nothing",
        diary(D(2026, 11, 20), latest=D(2026, 12, 20)),
        patient(),
        utc(2026, 12, 20, 12, 0),
        None,
    ),
    Case(
        "a treatment booked ahead: its first day",
        diary(D(2026, 12, 1)),
        patient(),
        utc(2026, 11, 22, 20, 0),
        Due(local(NEW_YORK, 2026, 12, 1, 19, 0), Kind.REMINDER),
    ),
    Case(
        "two days missed: a nudge",
        diary(D(2026, 11, 20)),
        patient(),
        utc(2026, 11, 22, 20, 0),
        Due(local(NEW_YORK, 2026, 11, 22, 19, 0), Kind.NUDGE),
    ),
    Case(
        "the same missed stretch, already nudged: the daily reminder",
        diary(D(2026, 11, 20)),
        patient(last_reminded_on=D(2026, 11, 22), nudged_stretch_from=D(2026, 11, 22)),
        utc(2026, 11, 23, 12, 0),
        Due(local(NEW_YORK, 2026, 11, 23, 19, 0), Kind.REMINDER),
    ),
    Case(
        "a new missed stretch after a check-in: a nudge again",
        diary(D(2026, 11, 20), latest=D(2026, 11, 24)),
        patient(last_reminded_on=D(2026, 11, 23), nudged_stretch_from=D(2026, 11, 22)),
        utc(2026, 11, 27, 12, 0),
        Due(local(NEW_YORK, 2026, 11, 27, 19, 0), Kind.NUDGE),
    ),
    Case(
        "the day after treatment has missed nothing yet",
        diary(D(2026, 11, 20)),
        patient(last_reminded_on=D(2026, 11, 20)),
        utc(2026, 11, 21, 12, 0),
        Due(local(NEW_YORK, 2026, 11, 21, 19, 0), Kind.REMINDER),
    ),
    Case(
        "a diary a later treatment has taken over: nothing after it",
        diary(D(2026, 11, 20), latest=D(2026, 11, 22), until=D(2026, 11, 22)),
        patient(),
        utc(2026, 11, 22, 20, 0),
        None,
    ),
    Case(
        "spring forward: a time the clocks skip comes when they jump (03:00 in New York)",
        diary(D(2026, 3, 1), latest=D(2026, 3, 7)),
        patient(reminder_time=dt.time(2, 30)),
        utc(2026, 3, 8, 5, 0),
        Due(utc(2026, 3, 8, 7, 0), Kind.REMINDER),
    ),
    Case(
        "fall back: a time shown twice comes the first time",
        diary(D(2026, 10, 25), latest=D(2026, 10, 31)),
        patient(reminder_time=dt.time(1, 30)),
        utc(2026, 11, 1, 4, 0),
        Due(local(NEW_YORK, 2026, 11, 1, 1, 30), Kind.REMINDER),
    ),
    Case(
        "fall back, in the repeated hour before its second 01:30: the second 01:30",
        diary(D(2026, 10, 25), latest=D(2026, 10, 31)),
        patient(reminder_time=dt.time(1, 30)),
        utc(2026, 11, 1, 6, 10),  # 01:10, the second time
        Due(local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1), Kind.REMINDER),
    ),
    Case(
        "19:00 in New York across the spring change: 23:00 UTC, no longer 00:00",
        diary(D(2026, 3, 1), latest=D(2026, 3, 8)),
        patient(),
        utc(2026, 3, 8, 12, 0),
        Due(utc(2026, 3, 9, 23, 0), Kind.REMINDER),
    ),
    Case(
        "Havana skips midnight: a 00:30 reminder comes at 01:00",
        diary(D(2026, 3, 1), latest=D(2026, 3, 7)),
        patient("America/Havana", reminder_time=dt.time(0, 30)),
        utc(2026, 3, 8, 0, 0),
        Due(utc(2026, 3, 8, 5, 0), Kind.REMINDER),
    ),
    Case(
        "Santiago repeats the last hour of 4 April: reminded at its first 23:30",
        diary(D(2026, 4, 1), latest=D(2026, 4, 3)),
        patient("America/Santiago", reminder_time=dt.time(23, 30)),
        utc(2026, 4, 4, 12, 0),
        Due(local("America/Santiago", 2026, 4, 4, 23, 30), Kind.REMINDER),
    ),
    Case(
        "Lord Howe's half-hour change: 02:15 is skipped, comes at 02:30",
        diary(D(2026, 10, 1), latest=D(2026, 10, 3)),
        patient("Australia/Lord_Howe", reminder_time=dt.time(2, 15)),
        utc(2026, 10, 3, 12, 0),
        Due(utc(2026, 10, 3, 15, 30), Kind.REMINDER),
    ),
    Case(
        "Kiritimati (UTC+14) is a day ahead of UTC",
        diary(D(2026, 11, 20), latest=D(2026, 11, 22)),
        patient("Pacific/Kiritimati", reminder_time=dt.time(9, 0)),
        utc(2026, 11, 22, 12, 0),  # already 02:00 on the 23rd there
        Due(utc(2026, 11, 22, 19, 0), Kind.REMINDER),
    ),
    Case(
        "Pago Pago (UTC-11) is a day behind",
        diary(D(2026, 11, 20), latest=D(2026, 11, 21)),
        patient("Pacific/Pago_Pago"),
        utc(2026, 11, 23, 1, 0),  # 14:00 on the 22nd there
        Due(utc(2026, 11, 23, 6, 0), Kind.REMINDER),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_when_the_next_reminder_is_owed(case: Case) -> None:
    assert next_due(diary=case.diary, patient=case.patient, now=case.now) == case.expected
    if case.expected is not None:
        owed = due(diary=case.diary, patient=case.patient, now=case.expected.at)
        assert owed == case.expected.kind
        before = case.expected.at - dt.timedelta(seconds=1)
        if before >= case.now:
            assert due(diary=case.diary, patient=case.patient, now=before) is None


def test_a_write_keeps_the_same_time_whatever_its_clock_says() -> None:
    checked_in = diary(D(2026, 11, 20), latest=D(2026, 11, 21))
    at_seven = local(NEW_YORK, 2026, 11, 22, 19, 0)
    assert next_reminder_at(diary=checked_in, patient=patient()) == at_seven
    for clock in (utc(2026, 11, 22, 3, 0), utc(2026, 11, 22, 20, 0)):  # that day, before 19:00
        assert next_reminder_at(diary=checked_in, patient=patient(), now=clock) == at_seven
    # Days went by with neither a reminder nor a check-in (reminders were off): a write
    # still keeps the first of them, and the sweep, looking at once, decides from its own
    # clock: owed now (22:00 on the 23rd), or later that day (07:00 on the 24th).
    late = utc(2026, 11, 24, 3, 0)
    assert next_reminder_at(diary=checked_in, patient=patient(), now=late) == late
    assert next_reminder_at(diary=checked_in, patient=patient(), now=utc(2026, 11, 24, 12)) == (
        local(NEW_YORK, 2026, 11, 24, 19, 0)
    )


def test_a_later_treatment_takes_over_the_diary_from_its_first_day() -> None:
    assert diaries_until([(1, D(2026, 11, 20)), (2, D(2026, 12, 1)), (3, D(2026, 11, 25))]) == {
        1: D(2026, 11, 24),
        3: D(2026, 11, 30),
        2: None,
    }
    # Two on the same day: the later recorded one (access.current_of, newest first).
    assert diaries_until([(1, D(2026, 11, 20)), (2, D(2026, 11, 20))]) == {
        1: D(2026, 11, 19),
        2: None,
    }


def test_a_day_a_clock_never_shows_at_that_time_has_no_instant() -> None:
    # Havana: 00:00 to 00:59 on 8 March 2026 never happen, but 00:30 "or later" does.
    zone = ZoneInfo("America/Havana")
    assert first_instant(D(2026, 3, 8), dt.time(0, 30), zone=zone, not_before=utc(2026, 1, 1)) == (
        utc(2026, 3, 8, 5, 0)
    )
    # Nothing on a day once it is over.
    after = utc(2026, 3, 10)
    assert first_instant(D(2026, 3, 8), dt.time(0, 30), zone=zone, not_before=after) is None


# Against the old decision, minute by minute --------------------------------------------


def old_due(
    *, treatment: SimpleNamespace | None, reminder: SimpleNamespace, local_now: dt.datetime
) -> Kind | None:
    """The sweep's decision before this change (recovery/reminders.py `due`), as it was."""
    today = local_now.date()
    if treatment is None or not reminder.reminders_on:
        return None
    if not treatment.treated_on <= today <= treatment.treated_on + dt.timedelta(days=30):
        return None
    if local_now.time() < reminder.reminder_time:
        return None
    latest = treatment.latest
    if reminder.last_reminded_on == today or latest == today:
        return None
    if course.missed_check_in(treated_on=treatment.treated_on, latest=latest, today=today):
        stretch = course.missed_from(treated_on=treatment.treated_on, latest=latest)
        if reminder.nudged_stretch_from != stretch:
            return Kind.NUDGE
    return Kind.REMINDER


ZONES = [
    "America/New_York",
    "Europe/London",
    "America/Havana",
    "America/Santiago",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Africa/Casablanca",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
]


def _changes(zone: str) -> list[dt.datetime]:
    """The hours of 2026 at which the zone's clocks change."""
    tz = ZoneInfo(zone)
    hours = [utc(2026, 1, 1) + dt.timedelta(hours=h) for h in range(365 * 24)]
    return [
        b
        for a, b in zip(hours, hours[1:], strict=False)
        if a.astimezone(tz).utcoffset() != b.astimezone(tz).utcoffset()
    ]


CHANGES = {zone: _changes(zone) or [utc(2026, 6, 1)] for zone in ZONES}
TIMES = [dt.time(h, m) for h, m in [(0, 0), (0, 30), (1, 0), (1, 30), (2, 0), (2, 30), (3, 0)]]
TIMES += [dt.time(19, 0), dt.time(23, 30), dt.time(23, 59), dt.time(8, 15)]
HORIZON_MINUTES = 2 * 24 * 60


def _days(draw: st.DrawFn, today: dt.date, low: int, high: int) -> dt.date:
    return today + dt.timedelta(days=draw(st.integers(low, high)))


@st.composite
def situations(draw: st.DrawFn) -> tuple[str, dt.datetime, SimpleNamespace, list[SimpleNamespace]]:
    """A patient, their settings and treatments, and a moment: half the time on the day of
    a clock change before it, with a reminder time the change skips or shows twice."""
    zone = draw(st.sampled_from(ZONES))
    tz = ZoneInfo(zone)
    change = draw(st.sampled_from(CHANGES[zone]))
    before, after = (change - dt.timedelta(minutes=1)).astimezone(tz), change.astimezone(tz)
    if draw(st.booleans()):  # around the change
        day_starts = dt.datetime.combine(before.date(), dt.time(), tzinfo=tz).astimezone(dt.UTC)
        span = int((change - day_starts).total_seconds() // 60) + 120
        now = day_starts + dt.timedelta(minutes=draw(st.integers(0, span)))
        wall = draw(st.sampled_from([before, after])).replace(tzinfo=None)
        reminder_time = (wall + dt.timedelta(minutes=draw(st.integers(-90, 90)))).time()
        last_reminded_on: dt.date | None = before.date() - dt.timedelta(days=1)
    else:
        now = change + dt.timedelta(minutes=draw(st.integers(-2 * 24 * 60, 24 * 60)))
        reminder_time = draw(
            st.sampled_from(TIMES) | st.builds(dt.time, st.integers(0, 23), st.integers(0, 59))
        )
        last_reminded_on = None
    now += dt.timedelta(seconds=draw(st.integers(0, 59)))
    today = now.astimezone(tz).date()
    if last_reminded_on is None or draw(st.booleans()):
        last_reminded_on = draw(st.none() | st.builds(lambda: _days(draw, today, -3, 0)))

    treatments = []
    for pk in range(1, draw(st.integers(1, 2)) + 1):
        treated_on = _days(draw, today, -32, 2)
        latest: dt.date | None = treated_on + dt.timedelta(days=draw(st.integers(0, 31)))
        if draw(st.booleans()) or latest is None or latest > today:
            latest = None if draw(st.booleans()) else _days(draw, today, -3, 0)
        if latest is not None and latest < treated_on:
            latest = None
        treatments.append(SimpleNamespace(pk=pk, treated_on=treated_on, latest=latest))
    first = treatments[0]
    reminder = SimpleNamespace(
        reminder_time=reminder_time.replace(second=0, microsecond=0),
        reminders_on=draw(st.sampled_from([True, True, True, False])),
        last_reminded_on=last_reminded_on,
        nudged_stretch_from=draw(
            st.none()
            | st.just(course.missed_from(treated_on=first.treated_on, latest=first.latest))
            | st.builds(lambda: _days(draw, today, -5, 1))
        ),
    )
    return zone, now, reminder, treatments


def old_first_due(
    zone: str, now: dt.datetime, reminder: SimpleNamespace, treatments: list[SimpleNamespace]
) -> Due | None:
    """The first moment, within the horizon, at which the old sweep would have sent."""
    newest_first = sorted(treatments, key=lambda t: (t.treated_on, t.pk), reverse=True)
    tz = ZoneInfo(zone)
    minute = now.replace(second=0, microsecond=0)
    moments = [now] + [minute + dt.timedelta(minutes=m) for m in range(1, HORIZON_MINUTES)]
    for moment in moments:
        local_now = moment.astimezone(tz)
        current = access.current_of(newest_first, today=local_now.date())  # type: ignore[arg-type]
        kind = old_due(treatment=current, reminder=reminder, local_now=local_now)  # type: ignore[arg-type]
        if kind is not None:
            return Due(moment, kind)
    return None


def new_first_due(
    zone: str, now: dt.datetime, reminder: SimpleNamespace, treatments: list[SimpleNamespace]
) -> tuple[Due | None, dt.datetime | None]:
    """The first due found from the stored times: as the sweep keeps them (from `now`),
    and the earliest as a write keeps them (from the rows alone)."""
    untils = diaries_until((t.pk, t.treated_on) for t in treatments)
    preferences = Preferences(
        time_zone=zone,
        reminder_time=reminder.reminder_time,
        reminders_on=reminder.reminders_on,
        last_reminded_on=reminder.last_reminded_on,
        nudged_stretch_from=reminder.nudged_stretch_from,
    )
    diaries = [
        Diary(t.treated_on, BELLAFILL, latest=t.latest, until=untils[t.pk]) for t in treatments
    ]
    owed = [next_due(diary=d, patient=preferences, now=now) for d in diaries]
    for diary, one in zip(diaries, owed, strict=True):
        swept = next_reminder_at(diary=diary, patient=preferences, now=now)
        assert swept == (one.at if one is not None else None)
    written = [next_reminder_at(diary=d, patient=preferences) for d in diaries]
    found = [o for o in owed if o is not None]
    return min(found, key=lambda o: o.at, default=None), min(
        (w for w in written if w is not None), default=None
    )


@settings(max_examples=200, deadline=None)
@given(situations())
def test_the_stored_time_is_when_the_old_sweep_would_first_have_sent(
    situation: tuple[str, dt.datetime, SimpleNamespace, list[SimpleNamespace]],
) -> None:
    zone, now, reminder, treatments = situation
    expected = old_first_due(zone, now, reminder, treatments)
    found, written = new_first_due(zone, now, reminder, treatments)
    event(f"owed: {expected.kind if expected else 'nothing within two days'}")
    if found is not None:  # a write's time, whatever its clock, is never later
        assert written is not None and written <= found.at
    if expected is not None:
        assert found == expected
    else:
        horizon = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=HORIZON_MINUTES)
        assert found is None or found.at >= horizon
