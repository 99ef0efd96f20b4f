"""Generated patients for `manage.py demo --patients N`: realistic recoveries at random,
written in bulk (`recovery.demo.bulk`), many thousands in seconds.

Not the demo's own patients (`recovery.demo.fixed`): these get no login links and are not
listed; they make a clinic the size the bench measures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import random
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from recovery import course
from recovery.demo.bulk import (
    DiaryDay,
    DiaryWriter,
    RowInserter,
    concrete_attnames,
    pks_by,
    random_uuid_hexes,
)
from recovery.demo.scenarios import Ratings
from recovery.models import AuditEvent, Clinic, Patient, Product, Treatment, User

# fmt: off
FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Mia", "James",
    "Isabella", "Lucas", "Ava", "Mateo", "Harper", "Leo", "Aisha", "Omar", "Mei", "Wei", "Priya",
    "Arjun", "Fatima", "Yusuf", "Sofia", "Diego", "Chloe", "Kenji", "Hana", "Ivan", "Zara",
    "Malik", "Grace", "Samuel", "Nia", "Kwame", "Elena", "Marco", "Lea", "Jonas",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall",
    "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Patel", "Kim", "Chen", "Okafor",
    "Mensah", "Novak", "Rossi",
)
# fmt: on
OTHER_TIME_ZONES = ("America/Chicago", "America/Los_Angeles", "Europe/Dublin", "Europe/Paris")
NOTES = (
    "Feeling fine.",
    "Wore make-up today, no problem.",
    "A little tender when I smile.",
    "Slept on my side, cheek a bit puffy this morning.",
    "Back at work, nobody noticed.",
)
# Red flags as they come: the blood-vessel and infection ones far more often.
RED_FLAG_WEIGHTS = {
    "skin_color": 4,
    "severe_pain": 4,
    "infection": 3,
    "allergy": 1,
    "vision": 1,
    "stroke": 1,
}


NO_RED_FLAGS: frozenset[str] = frozenset()
NOISE = 1 / 40  # patients' readings are off by one about one time in forty
LOG_NO_NOISE = math.log(1 - NOISE)


@dataclass(frozen=True)
class Generated:
    patients: int
    check_ins: int
    seconds: float


def symptom_curve(*, rng: random.Random, peak: int, days: int) -> list[int]:
    """A rating per day: `peak` on day 0, fading to nothing by a day between 2 and 7."""
    resolves_on = rng.randint(2, 7)
    return [
        math.ceil(peak * (resolves_on - d) / resolves_on) if d < resolves_on else 0
        for d in range(days + 1)
    ]


def simulate_recovery(
    *, rng: random.Random, days: int
) -> tuple[list[Ratings], dict[int, frozenset[str]]]:
    """Ratings for days 0..`days` of one recovery, and the red flags answered yes, by day.

    Mostly typical; a few percent slow (a symptom still moderate after the first
    week) or persisting (a mild lump for weeks); rarely a red flag in the first
    week. About one reading in forty is off by one (NOISE), as patients' readings are.
    """
    peaks = {
        "swelling": rng.choice((1, 1, 2, 2, 2)),
        "redness": rng.choice((0, 1, 1, 2)),
        "bruising": rng.choice((0, 1, 1, 2)),
        "lumps": rng.choice((0, 0, 1, 1)),
        "pain": rng.choice((1, 1, 2)),
        "itching": rng.choice((0, 0, 0, 1)),
    }
    curves = [symptom_curve(rng=rng, peak=peaks[s], days=days) for s in course.SYMPTOMS]
    kind = rng.random()
    if kind < 0.04:  # slow to improve: swelling, redness or lumps still moderate after a week
        index, until = rng.choice((0, 1, 3)), rng.randint(8, 12)
        curves[index] = [2 if d <= until else 1 if d <= until + 3 else 0 for d in range(days + 1)]
    elif kind < 0.07:  # a mild lump that lasts past two weeks
        until = rng.randint(16, 35)
        curves[3] = [1 if d <= until else 0 for d in range(days + 1)]
    red_flags: dict[int, frozenset[str]] = {}
    if rng.random() < 0.006:
        flag = rng.choices(list(RED_FLAG_WEIGHTS), weights=list(RED_FLAG_WEIGHTS.values()))[0]
        red_flags[rng.randint(0, min(days, 7))] = frozenset({flag})
    days_values = [[curve[d] for curve in curves] for d in range(days + 1)]
    # Each reading is off by one with probability NOISE: rather than a draw per reading,
    # draw how many readings pass before the next one that is (a geometric variable).
    reading = -1
    while True:
        reading += 1 + int(math.log(1.0 - rng.random()) / LOG_NO_NOISE)
        if reading >= len(days_values) * len(curves):
            break
        values = days_values[reading // len(curves)]
        i = reading % len(curves)
        values[i] = min(course.RATING_MAX, max(course.RATING_MIN, values[i] + rng.choice((-1, 1))))
    ratings = [(v[0], v[1], v[2], v[3], v[4], v[5]) for v in days_values]
    return ratings, red_flags


def checked_in_days(*, rng: random.Random, days: int, forced: Iterable[int]) -> list[int]:
    """The days a patient checks in: about three in four, some stop early, a few never."""
    if rng.random() < 0.13:
        return []
    adherence = rng.triangular(0.45, 1.0, 0.85)
    stops_after = rng.randint(7, 25) if rng.random() < 0.2 else days
    chosen = {d for d in range(min(days, stops_after) + 1) if d == 0 or rng.random() < adherence}
    return sorted(chosen | {d for d in forced if d <= days})


@functools.cache
def answers_for(ratings: Ratings, red_flags: frozenset[str]) -> course.Answers:
    """One Answers per distinct day of answers (most days look alike)."""
    return course.Answers(
        ratings=dict(zip(course.SYMPTOMS, ratings, strict=True)), red_flags=red_flags
    )


DayAnswers = tuple[Ratings, frozenset[str]]  # answers_for's arguments


@functools.cache
def assessment_of(
    day: int, answers: DayAnswers, previous: DayAnswers | None, values: course.CourseValues
) -> course.Assessment:
    """course.assess, once per distinct day, answers and previous answers.

    The ~290,000 check-ins of 20,000 patients have only ~20,000 distinct ones.
    """
    return course.assess(
        day=day,
        answers=answers_for(*answers),
        previous=answers_for(*previous) if previous else None,
        course=values,
    )


def new_generated_patient(*, rng: random.Random, clinic: Clinic, today: dt.date) -> Patient:
    """A patient (unsaved, their user not made yet)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    age = rng.randint(23, 70)  # adults over 22
    return Patient(
        clinic=clinic,
        name=f"{first} {last}",
        email=f"{first}.{last}{rng.randint(1, 9999)}@example.com".lower(),
        date_of_birth=dt.date(today.year - age, 1, 1) + dt.timedelta(days=rng.randint(0, 364)),
        time_zone=rng.choice(OTHER_TIME_ZONES) if rng.random() < 0.05 else clinic.time_zone,
        language="es" if rng.random() < 0.08 else "en",
    )


def create_generated_patients(
    *, rng: random.Random, count: int, clinics: Sequence[Clinic], today: dt.date, now: dt.datetime
) -> list[Patient]:
    """`count` patients, three in four at the first clinic; one audit row each."""
    weights = [3] + [1] * (len(clinics) - 1)
    patients = [
        new_generated_patient(rng=rng, clinic=rng.choices(clinics, weights=weights)[0], today=today)
        for _ in range(count)
    ]
    # Their users: what new_patient_user() makes (set_unusable_password() stores "!" and 40
    # random characters; here without its 40 calls to the system's random source).
    hexes = random_uuid_hexes()
    usernames = [f"patient-{next(hexes)}" for _ in patients]
    RowInserter(User, ("username", "password")).insert(
        (username, UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20)) for username in usernames
    )
    user_pks = pks_by(User, "username", usernames)
    for patient, username in zip(patients, usernames, strict=True):
        patient.user_id = user_pks[username]
    RowInserter(Patient, concrete_attnames(Patient)).insert_objects(patients)
    enrolled = RowInserter(
        AuditEvent, ("at", "patient_id", "patient_ref", "actor_ref", "action", "object_id")
    )
    at = enrolled.field("at").get_db_prep_save(now, enrolled.connection)
    ref = enrolled.field("patient_ref")
    enrolled.insert(
        (
            at,
            p.pk,
            ref.get_db_prep_save(p.public_id, enrolled.connection),
            "",
            AuditEvent.Action.PATIENT_ENROLLED.value,
            str(p.public_id),
        )
        for p in patients
    )
    return patients


def generated_days(
    *,
    rng: random.Random,
    treatment: Treatment,
    today: dt.date,
    values: course.CourseValues,
    now: dt.datetime,
) -> Iterator[DiaryDay]:
    """A realistic diary up to today, each check-in sent between 7am and 11pm.

    Each check-in is assessed with the real rules as course.assess_timeline
    does: in date order, against the one before.
    """
    treated_on, zone = treatment.treated_on, ZoneInfo(treatment.patient.time_zone)
    days = min(course.day_number(treated_on, today), values.diary_days)
    ratings, red_flags = simulate_recovery(rng=rng, days=days)
    previous: DayAnswers | None = None
    for d in checked_in_days(rng=rng, days=days, forced=red_flags):
        answers = (ratings[d], red_flags.get(d, NO_RED_FLAGS))
        on = treated_on + dt.timedelta(days=d)
        minute = int(rng.random() * 16 * 60)
        at = dt.datetime.combine(on, dt.time(7 + minute // 60, minute % 60), tzinfo=zone)
        if on == today:  # earlier days' times have all passed
            at = min(at, now)
        note = rng.choice(NOTES) if rng.random() < 0.05 else ""
        yield DiaryDay(
            on, d, answers_for(*answers), assessment_of(d, answers, previous, values), note, at
        )
        previous = answers


@contextlib.contextmanager
def sqlite_page_cache(*, mebibytes: int, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """On SQLite, a page cache that holds the indexes the bulk inserts write to.

    With the default 2 MB the random public_id index spills to disk: the
    check-ins of 20,000 patients insert about 15% faster with this.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{mebibytes * 1024}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def add_generated_patients(
    *,
    count: int,
    clinics: Sequence[Clinic],
    clinicians: Mapping[int, Sequence[User]],
    product: Product,
    seed: int,
    now: dt.datetime,
) -> Generated:
    """`count` more patients treated over the last 60 days, in bulk and in one transaction,
    three in four at the first of `clinics`; `clinicians` (by clinic id) resolve their alerts.

    Each gets one audit row (enrolled); their treatments and check-ins are not
    audited one by one.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    values = product.course
    with transaction.atomic(), sqlite_page_cache(mebibytes=256):
        patients = create_generated_patients(
            rng=rng,
            count=count,
            clinics=clinics,
            today=timezone.localdate(now, timezone=ZoneInfo(clinics[0].time_zone)),
            now=now,
        )
        todays = {
            tz: timezone.localdate(now, timezone=ZoneInfo(tz))
            for tz in {p.time_zone for p in patients}
        }
        treatments = [
            Treatment(
                patient=p,
                clinic=p.clinic,
                product=product,
                treated_on=todays[p.time_zone] - dt.timedelta(days=rng.randint(0, 60)),
                areas=rng.choice(("left and right cheek", "left cheek", "right cheek")),
                injection_sites=rng.randint(4, 16),
            )
            for p in patients
        ]
        RowInserter(Treatment, concrete_attnames(Treatment)).insert_objects(treatments)
        writer = DiaryWriter(
            now=now,
            seed=seed,
            clinicians=clinicians,
        )
        for treatment in treatments:
            writer.write(
                treatment,
                generated_days(
                    rng=rng,
                    treatment=treatment,
                    today=todays[treatment.patient.time_zone],
                    values=values,
                    now=now,
                ),
            )
        writer.finish()
    return Generated(
        patients=count, check_ins=writer.inserter.count, seconds=time.perf_counter() - started
    )
