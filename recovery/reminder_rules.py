"""When a patient is owed a daily reminder or a missed-check-in nudge: pure, no database,
no clock (the time is an argument).

The two rules (also `manage.py sweep --help`):

1. **Daily reminder.** On each day of the diary (day 0 to its last day, the patient's own
   dates), once the patient's own clock reads their reminder time or later, a patient with
   reminders on who hasn't checked in that day is owed one reminder that day.
2. **Missed-check-in nudge.** On such a day, a patient who has missed the two days before
   (`course.missed_check_in`, the dashboard's rule) is owed a gentle nudge instead; once
   per missed stretch, then the daily reminder again.

At most one message a day; nothing after the diary ends or with reminders off. The diary a
day belongs to is the patient's latest treatment started by then (`access.current_of`):
each treatment's diary stops the day before a later one begins (`Diary.until`).

`due` says what is owed at an instant, `next_due` when the next one is owed after one, and
`next_reminder_at` the time the sweep waits for (`Treatment.next_reminder_at`).

The long-term watch's two rules (course.py's schedule; also `manage.py sweep --help`):

3. **Long-term reminder.** When a long-term check-in falls due (its due date D, the
   patient's date) and is unanswered, the watch neither stopped nor ended, a patient with
   reminders on is owed one reminder for D, from their reminder time on D.
4. **Long-term nudge.** Still unanswered on D + course.LONG_TERM_NUDGE_DAYS, they are owed
   one nudge for D, from their reminder time that day; then nothing more for D (the clinic
   sees it overdue).

The one-a-day limit is shared with the diary (`Preferences.last_reminded_on`): a day the
diary's reminder took, the long-term one comes the next day. `long_term_due`,
`long_term_next_reminder_at` (`LongTermWatch.next_reminder_at`).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from recovery import course

DEFAULT_TIME = dt.time(19, 0)
DAY = dt.timedelta(days=1)


class Kind(enum.StrEnum):
    REMINDER = "reminder"
    NUDGE = "nudge"
    LONG_TERM = "long_term"
    LONG_TERM_NUDGE = "long_term_nudge"


LONG_TERM_KINDS = frozenset({Kind.LONG_TERM, Kind.LONG_TERM_NUDGE})


@dataclass(frozen=True)
class Preferences:
    """The patient's side: their time zone and settings, and what they were last sent."""

    time_zone: str
    reminder_time: dt.time = DEFAULT_TIME
    reminders_on: bool = True
    # The patient's local date of the last reminder or nudge.
    last_reminded_on: dt.date | None = None
    # The first day of the missed stretch last nudged about.
    nudged_stretch_from: dt.date | None = None


@dataclass(frozen=True)
class Diary:
    """One treatment's diary, as far as reminders go."""

    treated_on: dt.date
    values: course.CourseValues
    latest: dt.date | None = None  # the day of its latest check-in
    until: dt.date | None = None  # the day before a later treatment begins, if one does

    @property
    def last_day(self) -> dt.date:
        ends = self.treated_on + dt.timedelta(days=self.values.diary_days)
        return ends if self.until is None else min(ends, self.until)


@dataclass(frozen=True)
class Due:
    at: dt.datetime  # UTC
    kind: Kind


def owed_on(day: dt.date, *, diary: Diary, patient: Preferences) -> Kind | None:
    """What the patient is owed on `day` (their date) once their reminder time has come."""
    if not patient.reminders_on or not diary.treated_on <= day <= diary.last_day:
        return None
    if patient.last_reminded_on == day or diary.latest == day:
        return None
    if course.missed_check_in(
        treated_on=diary.treated_on, latest=diary.latest, today=day, course=diary.values
    ):
        stretch = course.missed_from(treated_on=diary.treated_on, latest=diary.latest)
        if patient.nudged_stretch_from != stretch:
            return Kind.NUDGE
    return Kind.REMINDER


def due(*, diary: Diary, patient: Preferences, now: dt.datetime) -> Kind | None:
    """What, if anything, the patient is owed at `now` (an aware datetime)."""
    local_now = now.astimezone(ZoneInfo(patient.time_zone))
    if local_now.time() < patient.reminder_time:
        return None
    return owed_on(local_now.date(), diary=diary, patient=patient)


def next_due(*, diary: Diary, patient: Preferences, now: dt.datetime) -> Due | None:
    """The first instant from `now` on at which `due` is not None, and what is owed then;
    None if nothing more is owed for this diary (as things stand: a check-in, a change of
    settings or a new treatment can change it)."""
    if not patient.reminders_on:
        return None
    zone = ZoneInfo(patient.time_zone)
    # From the day before the patient's today: a clock put back can show it again.
    day = max(diary.treated_on, now.astimezone(zone).date() - DAY)
    best: Due | None = None
    while day <= diary.last_day:
        if best is not None and _utc(dt.datetime.combine(day, dt.time())) - MAX_OFFSET > best.at:
            break  # no instant showing this day, or a later one, comes before the best
        kind = owed_on(day, diary=diary, patient=patient)
        if kind is not None:
            at = first_instant(day, patient.reminder_time, zone=zone, not_before=now)
            if at is not None and (best is None or at < best.at):
                best = Due(at, kind)
        day += DAY
    return best


def looks_from(*, diary: Diary, patient: Preferences) -> dt.datetime:
    """The first instant of the first day not yet done with: the day after the patient's
    last reminder or this diary's latest check-in, or the diary's first day."""
    done = [diary.treated_on - DAY, diary.latest, patient.last_reminded_on]
    day = max(d for d in done if d is not None) + DAY
    zone = ZoneInfo(patient.time_zone)
    # A midnight the clocks skip: the moment they jump (the offset before it, fold=0).
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def next_reminder_at(
    *, diary: Diary, patient: Preferences, now: dt.datetime | None = None
) -> dt.datetime | None:
    """The time the sweep waits for (Treatment.next_reminder_at): when the next reminder
    or nudge is owed from the first day not yet done with on (looks_from), or from `now`
    if that is later (the sweep, having just looked).

    From the rows alone, without `now`: every write keeps the same time whatever its clock
    says. It is `next_due` at the write's time, or earlier when a day went by with neither
    a reminder nor a check-in (reminders were off, the sweep did not run): the sweep then
    looks at once, and moves it on.
    """
    start = looks_from(diary=diary, patient=patient)
    owed = next_due(diary=diary, patient=patient, now=start if now is None else max(now, start))
    return owed.at if owed is not None else None


def diaries_until(treatments: Iterable[tuple[int, dt.date]]) -> dict[int, dt.date | None]:
    """For one patient's treatments, (id, treated_on) each, the day before the next one
    begins (`Diary.until`): their diary follows the latest treatment started (by date, then
    the later recorded), as access.current_of chooses it. None for the last."""
    ordered = sorted(treatments, key=lambda t: (t[1], t[0]))
    following = [*ordered[1:], None]
    return {
        pk: None if after is None else after[1] - DAY
        for (pk, _), after in zip(ordered, following, strict=True)
    }


# The long-term watch -------------------------------------------------------------------


@dataclass(frozen=True)
class Watch:
    """A long-term watch, as far as reminders go (LongTermWatch's kept fields)."""

    # The due date of the check-in asked for now, if it is open: due or overdue and
    # unanswered, the watch neither stopped nor ended (else None).
    open_due_on: dt.date | None
    reminded_for: dt.date | None = None
    nudged_for: dt.date | None = None

    @property
    def nudge_on(self) -> dt.date | None:
        if self.open_due_on is None:
            return None
        return self.open_due_on + dt.timedelta(days=course.LONG_TERM_NUDGE_DAYS)


def long_term_owed_on(day: dt.date, *, watch: Watch, patient: Preferences) -> Kind | None:
    """What the watch owes the patient on `day` (their date) once their reminder time
    has come: a reminder from the due date on, a nudge from the nudge day on (in its stead
    if the reminder never went), each once; none on a day already reminded."""
    due_on, nudge_on = watch.open_due_on, watch.nudge_on
    if not patient.reminders_on or due_on is None or nudge_on is None or day < due_on:
        return None
    if patient.last_reminded_on == day:
        return None
    if day >= nudge_on:
        return Kind.LONG_TERM_NUDGE if watch.nudged_for != due_on else None
    return Kind.LONG_TERM if watch.reminded_for != due_on else None


def long_term_due(*, watch: Watch, patient: Preferences, now: dt.datetime) -> Kind | None:
    """What, if anything, the watch owes the patient at `now` (an aware datetime)."""
    local_now = now.astimezone(ZoneInfo(patient.time_zone))
    if local_now.time() < patient.reminder_time:
        return None
    return long_term_owed_on(local_now.date(), watch=watch, patient=patient)


def long_term_next_reminder_at(
    *, watch: Watch, patient: Preferences, now: dt.datetime | None = None
) -> dt.datetime | None:
    """The time the sweep waits for (LongTermWatch.next_reminder_at): the first instant,
    from the first day not yet done with (the due date, or the day after the last message)
    or from `now` if later, at which `long_term_due` is not None; None if nothing more is
    owed for this due date (as things stand)."""
    due_on, nudge_on = watch.open_due_on, watch.nudge_on
    if not patient.reminders_on or due_on is None or nudge_on is None:
        return None
    if watch.nudged_for == due_on:
        return None
    zone = ZoneInfo(patient.time_zone)
    done = patient.last_reminded_on
    start = max(due_on, done + DAY) if done is not None else due_on
    if watch.reminded_for == due_on:
        start = max(start, nudge_on)
    not_before = dt.datetime.combine(start, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    if now is not None:
        not_before = max(not_before, now)
    day = max(start, not_before.astimezone(zone).date() - DAY)
    # A few days at most: a reminder owed on a day is owed on the next too, unless the nudge
    # takes over (owed then as well), and the last message's day is behind `start`.
    for _ in range(course.LONG_TERM_NUDGE_DAYS + 3):
        if long_term_owed_on(day, watch=watch, patient=patient) is not None:
            at = first_instant(day, patient.reminder_time, zone=zone, not_before=not_before)
            if at is not None:
                return at
        day += DAY
    return None


# The patient's clock ---------------------------------------------------------------------

# More than any UTC offset there is (-12:00 to +14:00).
MAX_OFFSET = dt.timedelta(hours=15)
# Clocks change at most once in this long (tzdata has no two changes within hours).
PROBE = dt.timedelta(hours=1)


def first_instant(
    day: dt.date, at: dt.time, *, zone: ZoneInfo, not_before: dt.datetime
) -> dt.datetime | None:
    """The first instant from `not_before` on at which a clock in `zone` shows `day` at
    `at` or later; None if it never does.

    Between its changes a zone's clock runs with UTC at a fixed offset; a time skipped
    when it goes forward comes at the moment it jumps, a time shown twice when it goes
    back comes the first time.
    """
    shows_from = dt.datetime.combine(day, at)
    shows_until = dt.datetime.combine(day + DAY, dt.time())
    start = max(not_before.astimezone(dt.UTC), _utc(shows_from) - MAX_OFFSET)
    for piece_start, piece_end, offset in _fixed_offsets(
        zone, start, _utc(shows_until) + MAX_OFFSET
    ):
        first = max(piece_start, _utc(shows_from - offset))
        if first < min(piece_end, _utc(shows_until - offset)):
            return first
    return None


def _utc(wall: dt.datetime) -> dt.datetime:
    return wall.replace(tzinfo=dt.UTC)


def _offset(zone: ZoneInfo, at: dt.datetime) -> dt.timedelta:
    offset = at.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _fixed_offsets(
    zone: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> Iterator[tuple[dt.datetime, dt.datetime, dt.timedelta]]:
    """The spans from `start` to `end` (UTC) over which `zone` keeps one offset, in order."""
    piece_start, offset = start, _offset(zone, start)
    probe = start
    while probe < end:
        step = min(probe + PROBE, end)
        if _offset(zone, step) != offset:
            change = _change(zone, probe, step, offset)
            yield piece_start, change, offset
            piece_start, offset = change, _offset(zone, change)
        probe = step
    if piece_start < end:
        yield piece_start, end, offset


def _change(
    zone: ZoneInfo, low: dt.datetime, high: dt.datetime, before: dt.timedelta
) -> dt.datetime:
    """The first whole second in (low, high] at which `zone`'s offset is no longer `before`
    (clocks change on a whole second)."""
    lo, hi = math.floor(low.timestamp()), math.ceil(high.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset(zone, dt.datetime.fromtimestamp(mid, dt.UTC)) == before:
            lo = mid
        else:
            hi = mid
    return dt.datetime.fromtimestamp(hi, dt.UTC)
