"""`manage.py demo`: two demo clinics, their clinicians, and patients at every point of recovery.

The demo patients' diaries are written relative to today and assessed with the
real rules of `recovery.course`, so the dashboard shows what a clinic would see.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import random
import secrets
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.urls import reverse
from django.utils import timezone

from recovery import audit, course
from recovery.clinicians import give_admin_access
from recovery.enrollment import add_treatment, enroll_patient
from recovery.login_links import issue_login_link
from recovery.models import (
    AuditEvent,
    CheckIn,
    Clinic,
    Clinician,
    Patient,
    Product,
    Treatment,
    User,
)

# One day's ratings, in the order of course.SYMPTOMS:
# (swelling, redness, bruising, lumps, pain, itching), each 0 (none) to 3 (severe).
Ratings = tuple[int, int, int, int, int, int]

# A typical recovery after Bellafill, day by day; from day 7 on, nothing.
TYPICAL_COURSE: tuple[Ratings, ...] = (
    (2, 1, 1, 1, 2, 0),  # day 0: just treated, puffy and tender
    (2, 1, 2, 1, 1, 0),  # day 1: the bruises show
    (2, 1, 1, 1, 1, 1),  # day 2: a little itchy
    (1, 1, 1, 1, 1, 1),
    (1, 0, 1, 1, 0, 0),
    (1, 0, 0, 1, 0, 0),
    (1, 0, 0, 0, 0, 0),
)
NOTHING: Ratings = (0, 0, 0, 0, 0, 0)


def typical(day: int) -> Ratings:
    return TYPICAL_COURSE[day] if day < len(TYPICAL_COURSE) else NOTHING


def at_least(ratings: Ratings, *, symptom: str, rating: int) -> Ratings:
    """`ratings` with `symptom` raised to `rating` if it was lower."""
    index = course.SYMPTOMS.index(symptom)
    values = list(ratings)
    values[index] = max(values[index], rating)
    return (values[0], values[1], values[2], values[3], values[4], values[5])


@dataclass(frozen=True)
class Entry:
    """One day of a demo diary."""

    day: int
    ratings: Ratings
    red_flags: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    label: str  # what the clinic should see, e.g. "slow to improve"
    days_since_treatment: int  # today is this day of the diary
    entries: tuple[Entry, ...]


def diary(
    *,
    days: Iterable[int],
    lasting: tuple[str, int] | None = None,
    notes: dict[int, str] | None = None,
) -> tuple[Entry, ...]:
    """Typical check-ins on `days`; `lasting=(symptom, rating)` keeps one symptom at least that."""
    entries = []
    for day in days:
        ratings = typical(day)
        if lasting is not None:
            ratings = at_least(ratings, symptom=lasting[0], rating=lasting[1])
        entries.append(Entry(day, ratings, note=(notes or {}).get(day, "")))
    return tuple(entries)


ON_TRACK = Scenario(
    "on track",
    5,
    diary(
        days=range(6),
        notes={0: "Home from the clinic, cheeks a bit puffy.", 5: "Hardly any swelling left."},
    ),
)
SLOW_TO_IMPROVE = Scenario(
    "slow to improve",
    10,
    diary(
        days=[0, 1, 2, 3, 4, 5, 7, 8, 9, 10],
        lasting=("swelling", 2),
        notes={9: "Left cheek still swollen in the mornings."},
    ),
)
PERSISTING = Scenario(
    "persisting past day 14",
    17,
    diary(
        days=[d for d in range(18) if d not in {6, 11}],
        lasting=("lumps", 1),
        notes={15: "Two small bumps under the left cheek, not sore.", 17: "Bumps still there."},
    ),
)
RED_FLAG = Scenario(
    "red flag",
    2,
    (
        *diary(days=[0, 1]),
        Entry(
            2,
            at_least(typical(2), symptom="pain", rating=2),
            red_flags=("skin_color",),
            note="A pale, blotchy patch near one injection on the right cheek; it hurts more.",
        ),
    ),
)
MISSED_CHECK_INS = Scenario("missed check-ins since day 4", 8, diary(days=range(5)))
DIARY_FINISHED = Scenario(
    "diary finished",
    40,
    diary(
        days=[d for d in range(31) if d not in {6, 9, 13, 18, 19, 24, 27}],
        notes={30: "All settled, thank you!"},
    ),
)
EARLY_DAYS = Scenario("on track", 3, diary(days=range(4)))
NEW_LUMP = Scenario(
    "a new lump after the first week",
    9,
    (
        *diary(days=range(9)),
        Entry(9, at_least(NOTHING, symptom="lumps", rating=1), note="Small bump near my lip."),
    ),
)
WORSE_AGAIN = Scenario(
    "swelling worse again",
    4,
    (
        *diary(days=range(4)),
        Entry(4, at_least(typical(4), symptom="swelling", rating=2), note="Puffier today."),
    ),
)


@dataclass(frozen=True)
class PatientSpec:
    name: str
    email: str
    date_of_birth: dt.date
    scenario: Scenario
    time_zone: str = ""  # the clinic's unless set
    language: str = "en"
    product: str = "bellafill"
    areas: str = "left and right cheek"


@dataclass(frozen=True)
class ClinicianSpec:
    username: str
    first_name: str
    last_name: str
    role: Clinician.Role


@dataclass(frozen=True)
class ClinicSpec:
    name: str
    phone: str
    after_hours_phone: str
    emergency_number: str
    hours: str
    time_zone: str
    password: str  # of every clinician of the demo clinic, printed for `make run`
    clinicians: tuple[ClinicianSpec, ...]
    patients: tuple[PatientSpec, ...]


RIVERSIDE = ClinicSpec(
    name="Riverside Skin Clinic",
    phone="+1 212 555 0142",
    after_hours_phone="+1 212 555 0199",
    emergency_number="911",
    hours="Mon–Fri 9am–6pm",
    time_zone="America/New_York",
    password="demo-clinic-2026",
    clinicians=(
        ClinicianSpec("nurse@demo-clinic.example", "Nora", "Price", Clinician.Role.ADMIN),
        ClinicianSpec("doctor@demo-clinic.example", "Daniel", "Reyes", Clinician.Role.CLINICIAN),
    ),
    patients=(
        PatientSpec("Ana Silva", "ana.demo@example.com", dt.date(1988, 4, 12), ON_TRACK),
        PatientSpec("Ben Carter", "ben.demo@example.com", dt.date(1979, 9, 3), SLOW_TO_IMPROVE),
        PatientSpec("Chloe Nguyen", "chloe.demo@example.com", dt.date(1992, 1, 27), PERSISTING),
        PatientSpec("David Okafor", "david.demo@example.com", dt.date(1985, 6, 18), RED_FLAG),
        PatientSpec(
            "Emma Rossi",
            "emma.demo@example.com",
            dt.date(1990, 11, 5),
            MISSED_CHECK_INS,
            time_zone="America/Chicago",
        ),
        PatientSpec(
            "Farah Haddad",
            "farah.demo@example.com",
            dt.date(1982, 3, 30),
            DIARY_FINISHED,
            product="dermal-filler",
            areas="nasolabial folds",
        ),
    ),
)
HARBOUR = ClinicSpec(
    name="Harbour Aesthetics",
    phone="+44 20 7946 0321",
    after_hours_phone="+44 20 7946 0999",
    emergency_number="999",
    hours="Tue–Sat 10am–7pm",
    time_zone="Europe/London",
    password="demo-harbour-2026",
    clinicians=(
        ClinicianSpec("nurse@harbour-demo.example", "Hannah", "Blake", Clinician.Role.CLINICIAN),
    ),
    patients=(
        PatientSpec("Oliver Bennett", "oliver.demo@example.com", dt.date(1987, 8, 14), EARLY_DAYS),
        PatientSpec(
            "Lucía Fernández",
            "lucia.demo@example.com",
            dt.date(1983, 5, 9),
            NEW_LUMP,
            time_zone="Europe/Madrid",
            language="es",
        ),
        PatientSpec("Priya Shah", "priya.demo@example.com", dt.date(1995, 2, 21), WORSE_AGAIN),
    ),
)
DEMO_CLINICS = (RIVERSIDE, HARBOUR)


# What was created, for the summary and --json.
@dataclass(frozen=True)
class DemoPatient:
    name: str
    email: str
    state: str
    status: str
    treated_on: dt.date
    time_zone: str
    login_url: str


@dataclass(frozen=True)
class DemoClinician:
    username: str
    password: str
    role: str


@dataclass(frozen=True)
class DemoClinic:
    clinic: Clinic
    clinicians: list[DemoClinician]
    patients: list[DemoPatient]


# --- The fixed demo -------------------------------------------------------------------


def local_time(
    *, on: dt.date, hour: int, minute: int, time_zone: str, now: dt.datetime
) -> dt.datetime:
    """`hour:minute` on `on` in `time_zone`, but never later than `now`."""
    return min(dt.datetime.combine(on, dt.time(hour, minute), tzinfo=ZoneInfo(time_zone)), now)


def save_clinic(*, spec: ClinicSpec) -> Clinic:
    clinic, _ = Clinic.objects.update_or_create(
        name=spec.name,
        defaults={
            "phone": spec.phone,
            "after_hours_phone": spec.after_hours_phone,
            "emergency_number": spec.emergency_number,
            "hours": spec.hours,
            "time_zone": spec.time_zone,
        },
    )
    return clinic


def save_clinician(*, clinic: Clinic, spec: ClinicianSpec, password: str) -> DemoClinician:
    user, _ = User.objects.update_or_create(
        username=spec.username,
        defaults={
            "email": spec.username,
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "is_active": True,
        },
    )
    # Setting the same password again would sign the clinician out everywhere.
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    Clinician.objects.update_or_create(user=user, defaults={"clinic": clinic, "role": spec.role})
    give_admin_access(user)
    return DemoClinician(username=spec.username, password=password, role=spec.role.value)


def save_patient(*, clinic: Clinic, spec: PatientSpec) -> Patient:
    """The demo patient, enrolled once; a re-run starts their record afresh."""
    time_zone = spec.time_zone or clinic.time_zone
    patient = Patient.objects.filter(clinic=clinic, email=spec.email).first()
    if patient is None:
        return enroll_patient(
            clinic=clinic,
            name=spec.name,
            email=spec.email,
            date_of_birth=spec.date_of_birth,
            time_zone=time_zone,
            language=spec.language,
            enrolled_by=None,
        )
    patient.name, patient.date_of_birth = spec.name, spec.date_of_birth
    patient.time_zone, patient.language = time_zone, spec.language
    patient.save(update_fields=["name", "date_of_birth", "time_zone", "language"])
    for treatment in patient.treatments.all():
        public_id = treatment.public_id
        treatment.delete()
        audit.record_event(
            actor=None,
            patient=patient,
            action="treatment.deleted",
            object_id=public_id,
            ip_address=None,
        )
    return patient


def write_diary(
    *, treatment: Treatment, entries: Sequence[Entry], time_zone: str, now: dt.datetime
) -> list[CheckIn]:
    """Save `entries` as check-ins, each assessed against the one before with the real rules."""
    check_ins = []
    previous: course.Answers | None = None
    for entry in entries:
        answers = course.Answers(
            ratings=dict(zip(course.SYMPTOMS, entry.ratings, strict=True)),
            red_flags=frozenset(entry.red_flags),
        )
        assessment = course.assess(
            day=entry.day, answers=answers, previous=previous, course=treatment.product.course
        )
        local_date = treatment.treated_on + dt.timedelta(days=entry.day)
        at = local_time(
            on=local_date, hour=8 + entry.day % 12, minute=17, time_zone=time_zone, now=now
        )
        check_ins.append(
            CheckIn(
                treatment=treatment,
                local_date=local_date,
                day=entry.day,
                **dict(zip(course.SYMPTOMS, entry.ratings, strict=True)),
                red_flags=[f for f in course.RED_FLAGS if f in entry.red_flags],
                note=entry.note,
                status=assessment.status.value,
                reasons=list(assessment.reasons),
                entered_by=treatment.patient.user,
                created_at=at,
                updated_at=at,
            )
        )
        previous = answers
    CheckIn.objects.bulk_create(check_ins)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            at=c.created_at,
            actor=treatment.patient.user,
            patient=treatment.patient,
            action="check_in.created",
            object_id=str(c.public_id),
        )
        for c in check_ins
    )
    return check_ins


def build_demo_patient(
    *, clinic: Clinic, spec: PatientSpec, products: dict[str, Product], now: dt.datetime
) -> DemoPatient:
    patient = save_patient(clinic=clinic, spec=spec)
    today = timezone.localdate(now, timezone=ZoneInfo(patient.time_zone))
    scenario = spec.scenario
    treatment = add_treatment(
        patient=patient,
        product=products[spec.product],
        treated_on=today - dt.timedelta(days=scenario.days_since_treatment),
        areas=spec.areas,
        injection_sites=8,
        lot_number="DEMO-0001",
        recorded_by=None,
    )
    check_ins = write_diary(
        treatment=treatment, entries=scenario.entries, time_zone=patient.time_zone, now=now
    )
    return DemoPatient(
        name=patient.name,
        email=patient.email,
        state=f"day {scenario.days_since_treatment}, {scenario.label}",
        status=check_ins[-1].status,
        treated_on=treatment.treated_on,
        time_zone=patient.time_zone,
        login_url=issue_login_link(patient=patient, at=now),
    )


def build_demo(*, now: dt.datetime) -> list[DemoClinic]:
    """The demo clinics, clinicians and patients, created or brought up to date."""
    products = {p.code: p for p in Product.objects.all()}
    result = []
    with transaction.atomic():
        for spec in DEMO_CLINICS:
            clinic = save_clinic(spec=spec)
            clinicians = [
                save_clinician(clinic=clinic, spec=c, password=spec.password)
                for c in spec.clinicians
            ]
            patients = [
                build_demo_patient(clinic=clinic, spec=p, products=products, now=now)
                for p in spec.patients
            ]
            result.append(DemoClinic(clinic=clinic, clinicians=clinicians, patients=patients))
    return result


# --- Generated patients (--patients N) -----------------------------------------------

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
BATCH_SIZE = 2000


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
    week. About one reading in forty is off by one, as patients' readings are.
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
    ratings = []
    for d in range(days + 1):
        values = [curve[d] for curve in curves]
        for i, value in enumerate(values):
            if rng.random() < 1 / 40:
                values[i] = min(
                    course.RATING_MAX, max(course.RATING_MIN, value + rng.choice((-1, 1)))
                )
        ratings.append((values[0], values[1], values[2], values[3], values[4], values[5]))
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


def generated_diary(
    *, rng: random.Random, treated_on: dt.date, today: dt.date, values: course.CourseValues
) -> list[tuple[course.DatedAnswers, course.DatedAssessment]]:
    """A realistic diary up to today, each check-in assessed with the real rules."""
    days = min(course.day_number(treated_on, today), values.diary_days)
    ratings, red_flags = simulate_recovery(rng=rng, days=days)
    dated = [
        course.DatedAnswers(
            treated_on + dt.timedelta(days=d),
            answers_for(ratings[d], red_flags.get(d, frozenset())),
        )
        for d in checked_in_days(rng=rng, days=days, forced=red_flags)
    ]
    assessed = course.assess_timeline(treated_on=treated_on, check_ins=dated, course=values)
    return list(zip(dated, assessed, strict=True))


def random_uuids() -> Iterator[uuid.UUID]:
    """Version 4 UUIDs like uuid4()'s, reading the system's random source 16 KB at a time."""
    while True:
        pool = os.urandom(16 * 1024)
        for start in range(0, len(pool), 16):
            yield uuid.UUID(bytes=pool[start : start + 16], version=4)


class CheckInInserter:
    """Inserts generated check-ins with one executemany() per batch.

    bulk_create() prepares every value of every row through its field and
    compiles one statement per batch: about six times the CPU of this (over
    30 s for the ~290,000 check-ins of 20,000 patients). Here the statement
    is built once, dates and reason lists are prepared once per distinct value,
    and columns not written get their field's default.
    """

    COLUMNS = (
        "public_id",
        "treatment_id",
        "local_date",
        "day",
        *course.SYMPTOMS,
        "red_flags",
        "note",
        "status",
        "reasons",
        "entered_by_id",
        "created_at",
        "updated_at",
    )

    def __init__(self, *, using: str = DEFAULT_DB_ALIAS) -> None:
        self.connection = connection = connections[using]
        fields = [f for f in CheckIn._meta.concrete_fields if not f.primary_key]
        by_name = {f.attname: f for f in fields}
        others = [f for f in fields if f.attname not in self.COLUMNS]
        self.defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
        columns = [by_name[name] for name in self.COLUMNS] + others
        quote = connection.ops.quote_name
        self.sql = (
            f"INSERT INTO {quote(CheckIn._meta.db_table)} "
            f"({', '.join(quote(f.get_attname_column()[1] or '') for f in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        self.public_id = by_name["public_id"]
        self.local_date = by_name["local_date"]
        self.json = by_name["reasons"]
        self._dates: dict[dt.date, object] = {}
        self._lists: dict[tuple[str, ...], object] = {}
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0
        self.uuids = random_uuids()

    def _date(self, value: dt.date) -> object:
        if value not in self._dates:
            self._dates[value] = self.local_date.get_db_prep_save(value, self.connection)
        return self._dates[value]

    def _list(self, value: tuple[str, ...]) -> object:
        if value not in self._lists:
            self._lists[value] = self.json.get_db_prep_save(list(value), self.connection)
        return self._lists[value]

    def add(
        self,
        *,
        treatment: Treatment,
        answers: course.DatedAnswers,
        result: course.DatedAssessment,
        note: str,
        at: dt.datetime,
    ) -> None:
        when = self.connection.ops.adapt_datetimefield_value(at)
        red_flags = answers.answers.red_flags
        self.rows.append(
            (
                self.public_id.get_db_prep_save(next(self.uuids), self.connection),
                treatment.pk,
                self._date(answers.date),
                result.day,
                *map(answers.answers.ratings.__getitem__, course.SYMPTOMS),
                self._list(
                    tuple(f for f in course.RED_FLAGS if f in red_flags) if red_flags else ()
                ),
                note,
                result.assessment.status.value,
                self._list(result.assessment.reasons),
                treatment.patient.user_id,
                when,
                when,
                *self.defaults,
            )
        )
        if len(self.rows) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            with self.connection.cursor() as cursor:
                cursor.executemany(self.sql, self.rows)
            self.count += len(self.rows)
            self.rows = []


def new_generated_patient(
    *, rng: random.Random, clinic: Clinic, today: dt.date
) -> tuple[User, Patient]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    # What set_unusable_password() stores, without its 40 calls to the system's random source.
    user = User(
        username=f"patient-{uuid.uuid4().hex}",
        password=UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20),
    )
    age = rng.randint(23, 70)  # adults over 22
    patient = Patient(
        clinic=clinic,
        user=user,
        name=f"{first} {last}",
        email=f"{first}.{last}{rng.randint(1, 9999)}@example.com".lower(),
        date_of_birth=dt.date(today.year - age, 1, 1) + dt.timedelta(days=rng.randint(0, 364)),
        time_zone=rng.choice(OTHER_TIME_ZONES) if rng.random() < 0.05 else clinic.time_zone,
        language="es" if rng.random() < 0.08 else "en",
    )
    return user, patient


def create_generated_patients(
    *, rng: random.Random, count: int, clinics: Sequence[Clinic], today: dt.date, now: dt.datetime
) -> list[Patient]:
    """`count` patients, three in four at the first clinic; one audit row each."""
    weights = [3] + [1] * (len(clinics) - 1)
    pairs = [
        new_generated_patient(rng=rng, clinic=rng.choices(clinics, weights=weights)[0], today=today)
        for _ in range(count)
    ]
    User.objects.bulk_create([user for user, _ in pairs], batch_size=BATCH_SIZE)
    for user, patient in pairs:
        patient.user = user  # now that it has its primary key
    patients = Patient.objects.bulk_create([p for _, p in pairs], batch_size=BATCH_SIZE)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(at=now, patient=p, action="patient.enrolled", object_id=str(p.public_id))
            for p in patients
        ],
        batch_size=BATCH_SIZE,
    )
    return patients


def add_generated_patients(
    *, count: int, clinics: Sequence[Clinic], product: Product, seed: int, now: dt.datetime
) -> Generated:
    """`count` more patients treated over the last 60 days, in bulk and in one transaction.

    Each gets one audit row (enrolled); their treatments and check-ins are not
    audited one by one.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    values = product.course
    with transaction.atomic():
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
        treatments = Treatment.objects.bulk_create(
            [
                Treatment(
                    patient=p,
                    product=product,
                    treated_on=todays[p.time_zone] - dt.timedelta(days=rng.randint(0, 60)),
                    areas=rng.choice(("left and right cheek", "left cheek", "right cheek")),
                    injection_sites=rng.randint(4, 16),
                )
                for p in patients
            ],
            batch_size=BATCH_SIZE,
        )
        inserter = CheckInInserter()
        for treatment in treatments:
            zone = ZoneInfo(treatment.patient.time_zone)
            for answers, result in generated_diary(
                rng=rng,
                treated_on=treatment.treated_on,
                today=todays[treatment.patient.time_zone],
                values=values,
            ):
                minute = int(rng.random() * 16 * 60)  # between 7am and 11pm
                local = dt.time(7 + minute // 60, minute % 60)
                inserter.add(
                    treatment=treatment,
                    answers=answers,
                    result=result,
                    note=rng.choice(NOTES) if rng.random() < 0.05 else "",
                    at=min(dt.datetime.combine(answers.date, local, tzinfo=zone), now),
                )
        inserter.flush()
    return Generated(
        patients=count, check_ins=inserter.count, seconds=time.perf_counter() - started
    )


# --- The command ---------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Create the demo, or bring it up to date: two clinics (Riverside Skin Clinic, Harbour "
        "Aesthetics), a clinician login for each, and patients at every point of recovery (on "
        "track, slow to improve, persisting past day 14, red flag, missed check-ins, diary "
        "finished). Safe to run again: the demo patients' diaries are rebuilt relative to today "
        "and every demo patient gets a fresh single-use login link. --patients N adds N more "
        "generated patients treated over the last 60 days (they are not listed, and get no "
        "login links: --json reports only their number as extra_patients)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--patients",
            type=int,
            default=0,
            metavar="N",
            help="Also add N generated patients, in bulk and in one transaction.",
        )
        parser.add_argument(
            "--seed", type=int, default=2026, help="Random seed for the generated patients."
        )
        parser.add_argument("--json", action="store_true", help="Print what was created as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["patients"] < 0:
            raise CommandError("--patients must be 0 or more.")
        now = timezone.now()
        clinics = build_demo(now=now)
        generated = None
        if options["patients"] > 0:
            generated = add_generated_patients(
                count=options["patients"],
                clinics=[c.clinic for c in clinics],
                product=Product.objects.get(code="bellafill"),
                seed=options["seed"],
                now=now,
            )
        if options["json"]:
            self.stdout.write(json.dumps(as_json(clinics=clinics, generated=generated), indent=2))
        else:
            self.stdout.write(summary(clinics=clinics, generated=generated))


def as_json(*, clinics: Sequence[DemoClinic], generated: Generated | None) -> dict[str, object]:
    return {
        "clinics": [
            {
                "name": clinic.clinic.name,
                "clinicians": [
                    {"username": c.username, "password": c.password, "role": c.role}
                    for c in clinic.clinicians
                ],
                "patients": [
                    {
                        "name": p.name,
                        "email": p.email,
                        "state": p.state,
                        "status": p.status,
                        "time_zone": p.time_zone,
                        "treated_on": p.treated_on.isoformat(),
                        "login_url": p.login_url,
                    }
                    for p in clinic.patients
                ],
            }
            for clinic in clinics
        ],
        "extra_patients": generated.patients if generated else 0,
        "extra_check_ins": generated.check_ins if generated else 0,
    }


def summary(*, clinics: Sequence[DemoClinic], generated: Generated | None) -> str:
    patients = sum(len(c.patients) for c in clinics)
    lines = [f"Demo ready: {len(clinics)} clinics, {patients} demo patients as of today.", ""]
    for clinic in clinics:
        lines.append(f"{clinic.clinic.name} ({clinic.clinic.time_zone})")
        for c in clinic.clinicians:
            role = " (clinic admin)" if c.role == Clinician.Role.ADMIN else ""
            lines.append(f"  clinician: {c.username} / password {c.password}{role}")
        for p in clinic.patients:
            lines.append(f"  {p.name} — {p.state}")
            lines.append(f"    {p.login_url}")
        lines.append("")
    lines.append(
        f"Clinicians sign in at {settings.SITE_URL}{reverse('admin:login')} (enrollment is in "
        "the admin for now)."
    )
    lines.append(
        f"Patient links work once and expire after {settings.LOGIN_LINK_MAX_AGE_HOURS} hours; "
        "run `manage.py demo` again for fresh ones."
    )
    if generated is not None:
        lines.append(
            f"Added {generated.patients:,} generated patients with {generated.check_ins:,} "
            f"check-ins in {generated.seconds:.1f} s."
        )
    return "\n".join(lines)
