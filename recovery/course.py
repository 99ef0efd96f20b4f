"""The expected recovery course after a filler injection, and when to warn.

This module is the clinical rule book of ../shared/recovery-course.md, in
code. It is pure: no database, no clock. Everything that decides "on track /
watch / contact your clinic / urgent" calls `assess()`; the checklist before
treatment is `checklist_warnings()`. It names things by code; guidance.py
words them.

A rating is 0 (none) to 3 (severe). A rating may be missing (None) only on a
check-in sent from "Something feels wrong — tell us now" before the symptoms
were rated; a missing rating fires no rule and compares with nothing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

SYMPTOMS = ("swelling", "redness", "bruising", "lumps", "pain", "itching")
RED_FLAGS = ("skin_color", "severe_pain", "vision", "stroke", "infection", "allergy")
# Red flags for which the patient is told to call the emergency number first.
EMERGENCY_RED_FLAGS = frozenset({"vision", "stroke", "allergy"})
RATING_MIN, RATING_MAX = 0, 3
SEVERE = 3
# The rules a check-in's reasons name (`<rule>:<symptom>`, `red_flag:<flag>`), in the
# order its reasons are listed; guidance.py words each (and LATE_LUMP, the long-term
# watch's reason, below).
REASON_RULES = ("red_flag", "persisting", "severe", "worsening", "slow_to_improve")


class Status(enum.StrEnum):
    ON_TRACK = "on_track"
    WATCH = "watch"
    CONTACT_CLINIC = "contact_clinic"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return list(Status).index(self)


@dataclass(frozen=True)
class CourseValues:
    """The day numbers of one product's course; a clinic may change them."""

    early_days: int = 3  # before day 3, a symptom growing is expected
    typical_days: int = 7  # most symptoms fade within a week
    expected_max_days: int = 14  # "within a week or two"
    diary_days: int = 30  # the diary runs day 0 to day 30


BELLAFILL = CourseValues()


def expected_max_rating(day: int, values: CourseValues) -> int:
    """The highest rating the expected course allows on `day`: up to moderate in the
    typical first week, mild until the expected maximum, none after ("the shaded band
    usual for this treatment" on the charts)."""
    if day <= values.typical_days:
        return 2
    if day <= values.expected_max_days:
        return 1
    return 0


@dataclass(frozen=True)
class Answers:
    """One day's answers: a rating (or None) per symptom and the red flags."""

    ratings: Mapping[str, int | None]
    red_flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Assessment:
    status: Status
    reasons: tuple[str, ...] = field(default=())


def day_number(treated_on: dt.date, local_date: dt.date) -> int:
    """Day 0 is the treatment date; day N is N calendar days later."""
    return (local_date - treated_on).days


def assess(
    *, day: int, answers: Answers, previous: Answers | None, course: CourseValues = BELLAFILL
) -> Assessment:
    """Status and reasons of one check-in on `day`, given the previous check-in.

    The rules, highest status wins; reasons are those of every rule that
    fired at the final status or above, in rule order then symptom order.
    """
    fired: list[tuple[Status, str]] = []

    # 1. Any red flag answered yes: urgent.
    for flag in RED_FLAGS:
        if flag in answers.red_flags:
            fired.append((Status.URGENT, f"red_flag:{flag}"))

    for symptom in SYMPTOMS:
        now = answers.ratings.get(symptom)
        before = previous.ratings.get(symptom) if previous is not None else None
        if now is None:
            continue
        # 2. Past the expected two weeks, still there at two check-ins in a row
        #    (or at the first check-in there is).
        if day > course.expected_max_days and now >= 1 and (previous is None or (before or 0) >= 1):
            fired.append((Status.CONTACT_CLINIC, f"persisting:{symptom}"))
        # 3. Severe, any day.
        if now == SEVERE:
            fired.append((Status.CONTACT_CLINIC, f"severe:{symptom}"))
        # 4 and 5. Worse than at the previous check-in, after the early days.
        if day >= course.early_days and before is not None and now > before:
            status = Status.CONTACT_CLINIC if now >= 2 else Status.WATCH
            fired.append((status, f"worsening:{symptom}"))
        # 6. Still moderate or severe after the typical week.
        if day > course.typical_days and now >= 2:
            fired.append((Status.WATCH, f"slow_to_improve:{symptom}"))

    if not fired:
        return Assessment(Status.ON_TRACK)
    status = max((s for s, _ in fired), key=lambda s: s.rank)
    # Listed by rule first, then by symptom (the order they fired in).
    ordered = sorted(fired, key=lambda item: REASON_RULES.index(item[1].split(":")[0]))
    return Assessment(status, tuple(r for s, r in ordered if s.rank >= status.rank))


@dataclass(frozen=True)
class DatedAnswers:
    """A day's answers, on the patient's own calendar date."""

    date: dt.date
    answers: Answers


@dataclass(frozen=True)
class DatedAssessment:
    """What the course made of a day's answers, with that day's date and diary day."""

    date: dt.date
    day: int
    assessment: Assessment


def assess_timeline(
    *, treated_on: dt.date, check_ins: Sequence[DatedAnswers], course: CourseValues = BELLAFILL
) -> list[DatedAssessment]:
    """Assess every check-in of one treatment, in date order, each against the one before."""
    results = []
    previous: Answers | None = None
    for item in sorted(check_ins, key=lambda c: c.date):
        day = day_number(treated_on, item.date)
        results.append(
            DatedAssessment(
                item.date,
                day,
                assess(day=day, answers=item.answers, previous=previous, course=course),
            )
        )
        previous = item.answers
    return results


# What the clinic sees -------------------------------------------------------------------


def missed_check_in(
    *, treated_on: dt.date, latest: dt.date | None, today: dt.date, course: CourseValues = BELLAFILL
) -> bool:
    """During the diary, no check-in on the last two days (yesterday and the day before).

    Both days must be diary days: a patient treated yesterday has missed nothing yet.
    """
    if not (
        treated_on + dt.timedelta(days=2)
        <= today
        <= treated_on + dt.timedelta(days=course.diary_days)
    ):
        return False
    return latest is None or latest < today - dt.timedelta(days=2)


def missed_from(*, treated_on: dt.date, latest: dt.date | None) -> dt.date:
    """The first day on which `missed_check_in` holds if no check-in comes."""
    start = treated_on + dt.timedelta(days=2)
    return start if latest is None else max(start, latest + dt.timedelta(days=3))


# Long-term watch (PMMA) ------------------------------------------------------------------
#
# PMMA stays for good, and granulomas appear months to years later: after the diary, a
# short check-in ("any new lump, hardness, redness or swelling at a treated area?")
# monthly for the first year, then every three months, until five years after the last
# treatment of the product (a new treatment restarts the clock). The first month is the
# diary itself (days 0 to 30), so the watch starts at two months.

LATE_LUMP = "late_lump"  # the reason of a long-term check-in answered yes
LONG_TERM_FIRST_MONTH = 2
LONG_TERM_MONTHLY_UNTIL = 12  # monthly up to and including month 12 …
LONG_TERM_EVERY_MONTHS = 3  # … then every three months …
LONG_TERM_YEARS = 5  # … up to and including five years after the last treatment
# The products whose treatments are watched: PMMA microspheres stay for good.
LONG_TERM_PRODUCTS = frozenset({"bellafill"})
# A due check-in unanswered this many days after its due date is nudged once (on the
# patient's reminder time) and, this many more days on, shown to the clinic as overdue;
# it is not asked again: the next due date replaces it.
LONG_TERM_NUDGE_DAYS = 7
LONG_TERM_OVERDUE_DAYS = 14
# What the check-in asks besides the lump, as context for the clinician, never a trigger.
LONG_TERM_CONTEXT = ("recent_illness", "recent_vaccination", "recent_dental_work")


def add_months(start: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later, or the month's last day when it has
    fewer days (31 January + 1 month is 28 or 29 February; 29 February + 12 is 28)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def long_term_months() -> tuple[int, ...]:
    """The months after the last treatment at which a long-term check-in is due."""
    monthly = range(LONG_TERM_FIRST_MONTH, LONG_TERM_MONTHLY_UNTIL + 1)
    quarterly = range(
        LONG_TERM_MONTHLY_UNTIL + LONG_TERM_EVERY_MONTHS,
        12 * LONG_TERM_YEARS + 1,
        LONG_TERM_EVERY_MONTHS,
    )
    return (*monthly, *quarterly)


def long_term_schedule(treated_on: Sequence[dt.date]) -> tuple[dt.date, ...]:
    """The due dates (the patient's local dates) of the long-term check-ins after the
    treatments of one product on `treated_on` (any order): counted from the last one."""
    if not treated_on:
        return ()
    last = max(treated_on)
    return tuple(add_months(last, months) for months in long_term_months())


def long_term_due(
    treated_on: Sequence[dt.date], *, today: dt.date, answered: Sequence[dt.date] = ()
) -> dt.date | None:
    """The due date of the long-term check-in the patient should answer now (DUE or
    OVERDUE in `long_term_place`): the latest due date on or before `today`, until the
    next one (the last one: for three months, then the watch has ended), unless answered
    on or after it. A check-in missed is not asked again: the next due date replaces it.
    None when nothing is due."""
    if not treated_on:
        return None
    place = long_term_place(
        max(treated_on), today=today, answers=[LateAnswer(a, lump=False) for a in answered]
    )
    return place.due_on if place.standing in (Standing.DUE, Standing.OVERDUE) else None


@dataclass(frozen=True)
class LateAnswer:
    """One long-term check-in: the patient's date, and whether it said yes to a lump."""

    date: dt.date
    lump: bool


class Standing(enum.StrEnum):
    """Where a patient's long-term watch stands; the clinic sees the first three."""

    DUE = "due"  # a check-in is due and not yet answered
    OVERDUE = "overdue"  # … and nudged, and still not answered a week later
    ANSWERED_YES = "answered_yes"  # the due check-in (or one since) said yes to a lump
    UP_TO_DATE = "up_to_date"  # answered no; the next one is not due yet
    WAITING = "waiting"  # before the first due date (the diary, and the month after it)
    ENDED = "ended"  # five years and a last interval after the last treatment
    STOPPED = "stopped"  # the patient stopped it


@dataclass(frozen=True)
class WatchPlace:
    """Where a long-term watch stands on the patient's date, and when that changes."""

    standing: Standing
    due_on: dt.date | None  # the due date it answers to (the latest passed), if any
    since: dt.date | None  # the patient's date the standing began
    until: dt.date | None  # the first date on which time alone changes it (None: never)
    next_due_on: dt.date | None = None  # the first due date after the patient's date, if any


def long_term_place(
    treated_on: dt.date,
    *,
    today: dt.date,
    answers: Sequence[LateAnswer] = (),
    stopped: bool = False,
) -> WatchPlace:
    """Where the watch of treatments last given on `treated_on` stands on `today`.

    The due check-in is the latest due date on or before `today`. Any check-in on or after
    it answers it: with a lump, ANSWERED_YES (a later "no" does not take a "yes" back);
    otherwise UP_TO_DATE, until the next due date. Unanswered it is DUE, then OVERDUE
    from LONG_TERM_OVERDUE_DAYS on, until the next due date replaces it. The watch ends
    one last interval (three months) after the five-year check-in, or when stopped.
    """
    if stopped:
        return WatchPlace(Standing.STOPPED, None, None, None)
    schedule = long_term_schedule([treated_on])
    passed = [d for d in schedule if d <= today]
    if not passed:
        return WatchPlace(Standing.WAITING, None, None, schedule[0], next_due_on=schedule[0])
    due_on = passed[-1]
    following = schedule[len(passed)] if len(passed) < len(schedule) else None
    ends_on = add_months(schedule[-1], LONG_TERM_EVERY_MONTHS)
    if following is None and today >= ends_on:
        return WatchPlace(Standing.ENDED, None, ends_on, None)
    next_change = following or ends_on
    answered = sorted(a.date for a in answers if due_on <= a.date <= today)
    lumps = sorted(a.date for a in answers if due_on <= a.date <= today and a.lump)
    if lumps:
        return WatchPlace(Standing.ANSWERED_YES, due_on, lumps[0], next_change, following)
    if answered:
        return WatchPlace(Standing.UP_TO_DATE, due_on, answered[0], next_change, following)
    # Every interval is longer than this (the shortest, a February, is 28 days).
    overdue_on = due_on + dt.timedelta(days=LONG_TERM_OVERDUE_DAYS)
    if today < overdue_on:
        return WatchPlace(Standing.DUE, due_on, due_on, overdue_on, following)
    return WatchPlace(Standing.OVERDUE, due_on, overdue_on, next_change, following)


def is_watched(product_code: str) -> bool:
    """Whether treatments of the product are watched for late lumps (PMMA)."""
    return product_code in LONG_TERM_PRODUCTS


# Before treatment (the checklist) -------------------------------------------------------

MINIMUM_AGE = 22  # "over 21": FDA reads it as 22 or older
SKIN_TEST_DAYS = 28  # the skin test is read at least four weeks before treatment
SKIN_TEST_PRODUCT = "bellafill"  # the product whose patients need a skin test first


class SkinTest(enum.StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"
    EQUIVOCAL = "equivocal"
    NOT_DONE = "not_done"


# What the checklist asks, yes or no, in its order: each yes is a contraindication.
CONTRAINDICATIONS = (
    "lidocaine_allergy",
    "bovine_collagen_allergy",
    "anaphylaxis_history",
    "multiple_severe_allergies",
    "keloid_tendency",
)


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Age in whole years on `day` (someone born on 29 February turns a year older on 1 March)."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


def checklist_warnings(
    *,
    date_of_birth: dt.date,
    treated_on: dt.date,
    product_code: str,
    skin_test: str,
    skin_test_on: dt.date | None,
    answered_yes: Collection[str],
) -> list[str]:
    """What the clinician must review before going ahead, by code, in a stable order.

    - `under_22`: the patient is younger than 22 on the treatment date;
    - `skin_test_positive`, `skin_test_equivocal`: a contraindication, for any product;
    - for Bellafill otherwise, `skin_test_missing` (no negative skin test read) or
      `skin_test_too_recent` (read fewer than 28 days before treatment);
    - each contraindication answered yes, by its code.
    """
    codes = []
    if age_on(date_of_birth, treated_on) < MINIMUM_AGE:
        codes.append("under_22")
    if skin_test in (SkinTest.POSITIVE, SkinTest.EQUIVOCAL):
        codes.append(f"skin_test_{skin_test}")
    elif product_code == SKIN_TEST_PRODUCT:
        if skin_test != SkinTest.NEGATIVE or skin_test_on is None:
            codes.append("skin_test_missing")
        elif (treated_on - skin_test_on).days < SKIN_TEST_DAYS:
            codes.append("skin_test_too_recent")
    return codes + [code for code in CONTRAINDICATIONS if code in answered_yes]
