"""`manage.py demo`: two demo clinics, their clinicians, and patients at every point of recovery.

The demo patients' diaries are written relative to today and assessed with the
real rules of `recovery.course`, and each treatment gets what the live app keeps
on it as check-ins arrive (latest check-in, alerts, triage place), so the
dashboard shows what a clinic would see.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import os
import random
import secrets
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import batched
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.urls import reverse
from django.utils import timezone

from recovery import audit, course
from recovery.alerts import ALERT_LEVELS
from recovery.clinicians import give_admin_access
from recovery.enrollment import add_treatment, enroll_patient
from recovery.login_links import issue_login_link
from recovery.models import (
    Alert,
    AuditEvent,
    CheckIn,
    Clinic,
    Clinician,
    Patient,
    Product,
    Treatment,
    User,
)
from recovery.triage import place_of, recount

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
    mobile: str = ""
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
    alert_email: str  # where the demo's alerts go: printed by make run's console backend
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
    alert_email="alerts@demo-clinic.example",
    password="demo-clinic-2026",
    clinicians=(
        ClinicianSpec("nurse@demo-clinic.example", "Nora", "Price", Clinician.Role.ADMIN),
        ClinicianSpec("doctor@demo-clinic.example", "Daniel", "Reyes", Clinician.Role.CLINICIAN),
    ),
    patients=(
        PatientSpec(
            "Ana Silva",
            "ana.demo@example.com",
            dt.date(1988, 4, 12),
            ON_TRACK,
            mobile="+1 212 555 0101",
        ),
        PatientSpec(
            "Ben Carter",
            "ben.demo@example.com",
            dt.date(1979, 9, 3),
            SLOW_TO_IMPROVE,
            mobile="+1 212 555 0102",
        ),
        PatientSpec(
            "Chloe Nguyen",
            "chloe.demo@example.com",
            dt.date(1992, 1, 27),
            PERSISTING,
            mobile="+1 212 555 0103",
        ),
        PatientSpec(
            "David Okafor",
            "david.demo@example.com",
            dt.date(1985, 6, 18),
            RED_FLAG,
            mobile="+1 212 555 0104",
        ),
        PatientSpec(
            "Emma Rossi",
            "emma.demo@example.com",
            dt.date(1990, 11, 5),
            MISSED_CHECK_INS,
            mobile="+1 312 555 0105",
            time_zone="America/Chicago",
        ),
        PatientSpec(
            "Farah Haddad",
            "farah.demo@example.com",
            dt.date(1982, 3, 30),
            DIARY_FINISHED,
            mobile="+1 212 555 0106",
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
    alert_email="alerts@harbour-demo.example",
    password="demo-harbour-2026",
    clinicians=(
        ClinicianSpec("nurse@harbour-demo.example", "Hannah", "Blake", Clinician.Role.CLINICIAN),
    ),
    patients=(
        PatientSpec(
            "Oliver Bennett",
            "oliver.demo@example.com",
            dt.date(1987, 8, 14),
            EARLY_DAYS,
            mobile="+44 7700 900101",
        ),
        PatientSpec(
            "Lucía Fernández",
            "lucia.demo@example.com",
            dt.date(1983, 5, 9),
            NEW_LUMP,
            mobile="+34 600 000 102",
            time_zone="Europe/Madrid",
            language="es",
        ),
        PatientSpec(
            "Priya Shah",
            "priya.demo@example.com",
            dt.date(1995, 2, 21),
            WORSE_AGAIN,
            mobile="+44 7700 900103",
        ),
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
    user: User


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
            "alert_email": spec.alert_email,
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
    # Setting the same password again would sign the clinician out everywhere. (A new
    # user has none: checking would only spend a hash's time on nothing.)
    if not user.password or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    Clinician.objects.update_or_create(user=user, defaults={"clinic": clinic, "role": spec.role})
    give_admin_access(user)
    return DemoClinician(username=spec.username, password=password, role=spec.role.value, user=user)


def save_patient(*, clinic: Clinic, spec: PatientSpec) -> Patient:
    """The demo patient, enrolled once; a re-run starts their record afresh."""
    time_zone = spec.time_zone or clinic.time_zone
    patient = Patient.objects.filter(clinic=clinic, email=spec.email).first()
    if patient is None:
        return enroll_patient(
            clinic=clinic,
            name=spec.name,
            email=spec.email,
            mobile=spec.mobile,
            date_of_birth=spec.date_of_birth,
            time_zone=time_zone,
            language=spec.language,
            enrolled_by=None,
        )
    patient.name, patient.date_of_birth, patient.mobile = spec.name, spec.date_of_birth, spec.mobile
    patient.time_zone, patient.language = time_zone, spec.language
    patient.save(update_fields=["name", "date_of_birth", "mobile", "time_zone", "language"])
    for treatment in patient.treatments.all():
        public_id = treatment.public_id
        treatment.delete()
        audit.record_event(
            actor=None,
            patient=patient,
            action=AuditEvent.Action.TREATMENT_DELETED,
            object_id=public_id,
            ip_address=None,
        )
    return patient


def scenario_diary(
    *, treatment: Treatment, entries: Sequence[Entry], time_zone: str, now: dt.datetime
) -> list[DiaryDay]:
    """`entries` as check-ins, each assessed against the one before with the real rules."""
    dated = [
        course.DatedAnswers(
            treatment.treated_on + dt.timedelta(days=entry.day),
            course.Answers(
                ratings=dict(zip(course.SYMPTOMS, entry.ratings, strict=True)),
                red_flags=frozenset(entry.red_flags),
            ),
        )
        for entry in entries
    ]
    assessed = course.assess_timeline(
        treated_on=treatment.treated_on, check_ins=dated, course=treatment.product.course
    )
    return [
        DiaryDay(
            answers.date,
            result.day,
            answers.answers,
            result.assessment,
            entry.note,
            local_time(
                on=answers.date, hour=8 + entry.day % 12, minute=17, time_zone=time_zone, now=now
            ),
        )
        for entry, answers, result in zip(entries, dated, assessed, strict=True)
    ]


def build_demo_patient(
    *,
    clinic: Clinic,
    spec: PatientSpec,
    products: dict[str, Product],
    writer: DiaryWriter,
    now: dt.datetime,
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
    days = scenario_diary(
        treatment=treatment, entries=scenario.entries, time_zone=patient.time_zone, now=now
    )
    writer.write(treatment, days)
    return DemoPatient(
        name=patient.name,
        email=patient.email,
        state=f"day {scenario.days_since_treatment}, {scenario.label}",
        status=days[-1].assessment.status.value,
        treated_on=treatment.treated_on,
        time_zone=patient.time_zone,
        login_url=issue_login_link(patient=patient, at=now),
    )


def build_demo(*, now: dt.datetime) -> list[DemoClinic]:
    """The demo clinics, clinicians and patients, created or brought up to date."""
    products = {p.code: p for p in Product.objects.all()}
    result = []
    with transaction.atomic():
        writer = DiaryWriter(now=now, seed=0, audit_check_ins=True)
        for spec in DEMO_CLINICS:
            clinic = save_clinic(spec=spec)
            clinicians = [
                save_clinician(clinic=clinic, spec=c, password=spec.password)
                for c in spec.clinicians
            ]
            writer.clinicians[clinic.pk] = [c.user for c in clinicians]
            patients = [
                build_demo_patient(clinic=clinic, spec=p, products=products, writer=writer, now=now)
                for p in spec.patients
            ]
            result.append(DemoClinic(clinic=clinic, clinicians=clinicians, patients=patients))
        writer.finish()
    return result


# --- Diaries as the live app keeps them ------------------------------------------------


class DiaryDay(NamedTuple):
    """One check-in of a demo diary: its date, the answers, what the rules made of them."""

    date: dt.date
    day: int
    answers: course.Answers
    assessment: course.Assessment
    note: str
    at: dt.datetime  # when it was sent


BATCH_SIZE = 2000
# A clinician resolves an alert once its last raise is this old; younger ones stay open.
RESOLVED_AFTER = dt.timedelta(days=3)
# How a demo clinic's calls end, by alert level (mostly advice at home for contact_clinic).
OUTCOME_WEIGHTS = {
    course.Status.CONTACT_CLINIC: {
        Alert.Outcome.ADVISED_AT_HOME: 75,
        Alert.Outcome.SEEN_IN_CLINIC: 17,
        Alert.Outcome.COULD_NOT_REACH: 6,
        Alert.Outcome.REFERRED: 2,
    },
    course.Status.URGENT: {
        Alert.Outcome.SEEN_IN_CLINIC: 55,
        Alert.Outcome.ADVISED_AT_HOME: 20,
        Alert.Outcome.REFERRED: 17,
        Alert.Outcome.COULD_NOT_REACH: 8,
    },
}
# Advice at home, by the symptom of the alert's first reason ("red_flag" for red flags).
ADVISED_NOTES = {
    "swelling": "Called; swelling settling, advised cold compresses.",
    "redness": "Called; redness fading, advised to avoid heat and hard exercise for a few days.",
    "bruising": "Called; ordinary bruising, advised arnica and patience.",
    "lumps": "Called; small bump, not warm or tender. Advised gentle massage, keep checking in.",
    "pain": "Called; tenderness easing with paracetamol, advised to keep checking in.",
    "itching": "Called; mild itching, advised an antihistamine and not to scratch.",
    "red_flag": "Called straight away; photo shows an ordinary bruise, skin colour normal. "
    "Advised to call us at once if it changes.",
}
OUTCOME_NOTES = {
    Alert.Outcome.SEEN_IN_CLINIC: (
        "Seen in clinic the same day; no sign of infection, review in a week.",
        "Came in for a check; settling as expected, reassured.",
        "Seen in clinic; massaged the area, follow-up booked.",
    ),
    Alert.Outcome.REFERRED: (
        "Seen in clinic and referred to the dermatologist on call.",
        "Referred to the emergency department; we will call tomorrow.",
    ),
    Alert.Outcome.COULD_NOT_REACH: (
        "Called twice, no answer; left a voicemail and texted the clinic's number.",
        "No answer; sent a text asking them to call us today.",
    ),
}


def alerts_for(
    treatment: Treatment,
    alerting: Sequence[CheckIn],
    *,
    now: dt.datetime,
    rng: random.Random,
    clinicians: Sequence[User],
) -> list[Alert]:
    """The alerts `alerting` (the treatment's check-ins at an alert level, in date order) made.

    As recovery.alerts.open_or_raise_alert: a check-in opens an alert if none is
    open, else merges its reasons into the open one and raises it if higher. A
    demo clinician resolves an alert (acknowledged, then resolved with an outcome
    and a note) some hours after its last raise once that is over RESOLVED_AFTER
    old; a later check-in at an alert level then opens a new one.
    """
    made: list[Alert] = []
    alert: Alert | None = None
    due: tuple[dt.datetime, dt.datetime] | None = None  # when `alert` is acknowledged, resolved
    for check_in in alerting:
        status, at = course.Status(check_in.status), check_in.created_at
        if alert is not None and due is not None and due[1] <= at:
            resolve(alert, acknowledged_at=due[0], at=due[1], rng=rng, clinicians=clinicians)
            alert = None
        if alert is None:
            alert = Alert(
                treatment=treatment,
                level=status.value,
                reasons=list(check_in.reasons),
                check_in=check_in,
                opened_at=at,
            )
            made.append(alert)
        else:
            alert.reasons += [r for r in check_in.reasons if r not in alert.reasons]
            if course.Status(alert.level).rank >= status.rank:
                continue
            alert.level, alert.raised_at, alert.check_in = status.value, at, check_in
        due = None
        if now - at > RESOLVED_AFTER:
            acknowledged_at = at + dt.timedelta(minutes=rng.randint(10, 20 * 60))
            due = (acknowledged_at, acknowledged_at + dt.timedelta(minutes=rng.randint(5, 4 * 60)))
    if alert is not None and due is not None:
        resolve(alert, acknowledged_at=due[0], at=due[1], rng=rng, clinicians=clinicians)
    return made


def resolve(
    alert: Alert,
    *,
    acknowledged_at: dt.datetime,
    at: dt.datetime,
    rng: random.Random,
    clinicians: Sequence[User],
) -> None:
    """What a demo clinician of the clinic made of `alert`, as recovery.alerts.resolve_alert."""
    if not clinicians:
        return  # nobody to resolve it: it stays open
    weights = OUTCOME_WEIGHTS[course.Status(alert.level)]
    outcome = rng.choices(list(weights), weights=list(weights.values()))[0]
    if outcome == Alert.Outcome.ADVISED_AT_HOME:
        kind, _, symptom = alert.reasons[0].partition(":")  # e.g. persisting:lumps
        note = ADVISED_NOTES["red_flag" if kind == "red_flag" else symptom]
    else:
        note = rng.choice(OUTCOME_NOTES[outcome])
    by = rng.choice(clinicians)
    alert.acknowledged_at, alert.acknowledged_by = acknowledged_at, by
    alert.resolved_at, alert.resolved_by = at, by
    alert.outcome, alert.outcome_note = outcome, note


class DiaryWriter:
    """Writes demo diaries as the live app would have recorded them, day by day.

    For each treatment: its check-ins, the alerts they opened or raised (and
    resolved, see alerts_for), and what the live app keeps on the treatment:
    latest_check_in, open_alert and its triage place (recovery.triage.place_of
    at `now`). write() builds it all in memory; finish() saves it in bulk.
    """

    def __init__(
        self,
        *,
        now: dt.datetime,
        seed: int,
        clinicians: Mapping[int, Sequence[User]] | None = None,
        audit_check_ins: bool = False,
    ) -> None:
        self.now = now
        # Its own random sequence: the diaries stay what the same seed always made.
        self.rng = random.Random(f"{seed}:alerts")
        self.clinicians: dict[int, Sequence[User]] = dict(clinicians or {})
        self.audit_check_ins = audit_check_ins
        self.inserter = CheckInInserter()
        self.treatments: list[Treatment] = []
        self.alerts: list[Alert] = []
        self.audit_events: list[AuditEvent] = []

    def write(self, treatment: Treatment, days: Iterable[DiaryDay]) -> None:
        """`treatment`'s check-ins, in date order (`treatment` saved, its product and patient
        loaded)."""
        alerting: list[CheckIn] = []
        last: tuple[str, DiaryDay] | None = None
        treatment_id, user_id = treatment.pk, treatment.patient.user_id
        for day in days:
            public_id = self.inserter.add(day, treatment_id=treatment_id, user_id=user_id)
            if day.assessment.status in ALERT_LEVELS:
                alerting.append(unsaved_check_in(public_id, day))
            last = (public_id, day)
            if self.audit_check_ins:
                self.audit_events.append(
                    AuditEvent(
                        at=day.at,
                        actor_id=user_id,
                        patient=treatment.patient,
                        patient_ref=treatment.patient.public_id,
                        action=AuditEvent.Action.CHECK_IN_CREATED,
                        object_id=str(uuid.UUID(public_id)),
                    )
                )
        if last is None:
            treatment.latest_check_in = None
        elif alerting and alerting[-1].public_id.hex == last[0]:
            treatment.latest_check_in = alerting[-1]
        else:
            treatment.latest_check_in = unsaved_check_in(*last)
        made = alerts_for(
            treatment,
            alerting,
            now=self.now,
            rng=self.rng,
            clinicians=self.clinicians.get(treatment.clinic_id, ()),
        )
        treatment.open_alert = made[-1] if made and made[-1].resolved_at is None else None
        self.treatments.append(treatment)
        self.alerts += made

    def finish(self) -> None:
        """Save the check-ins, the alerts and the treatments' latest check-in, alert and triage."""
        self.inserter.flush()
        wanted = {
            c.public_id: c
            for c in [
                *(t.latest_check_in for t in self.treatments),
                *(a.check_in for a in self.alerts),
            ]
            if c is not None
        }
        for public_id, pk in pks_by(CheckIn, "public_id", list(wanted)).items():
            wanted[public_id].pk = pk
        for alert in self.alerts:
            alert.check_in = alert.check_in  # sets check_in_id, now that it has a primary key
        RowInserter(Alert, concrete_attnames(Alert)).insert_objects(self.alerts)
        for treatment in self.treatments:
            treatment.latest_check_in = treatment.latest_check_in  # the same: sets the ids
            treatment.open_alert = treatment.open_alert
            place = place_of(treatment, now=self.now)
            treatment.triage = place.triage
            treatment.triage_since = place.since
            treatment.triage_valid_until = place.valid_until
        save_kept_fields(self.treatments)
        for clinic_id in sorted({t.clinic_id for t in self.treatments}):
            recount(clinic_id)
        AuditEvent.objects.bulk_create(self.audit_events, batch_size=BATCH_SIZE)


KEPT_FIELDS = ("latest_check_in", "open_alert", "triage", "triage_since", "triage_valid_until")


def save_kept_fields(treatments: Sequence[Treatment], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Save the fields the live app keeps on each treatment, with one executemany() a batch.

    bulk_update() would write a CASE WHEN per field over every row of the batch:
    minutes for 20,000 treatments.
    """
    connection = connections[using]
    column = {f.name: f.get_attname_column()[1] or "" for f in Treatment._meta.concrete_fields}
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(Treatment._meta.db_table)} SET "
        f"{', '.join(f'{quote(column[name])} = %s' for name in KEPT_FIELDS)} "
        f"WHERE {quote(column['id'])} = %s"
    )
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (
            t.latest_check_in_id,
            t.open_alert_id,
            int(t.triage),
            adapt(t.triage_since),
            adapt(t.triage_valid_until),
            t.pk,
        )
        for t in treatments
    ]
    with connection.cursor() as cursor:
        for batch in batched(rows, BATCH_SIZE):
            cursor.executemany(sql, batch)


def unsaved_check_in(public_id: str, day: DiaryDay) -> CheckIn:
    """What alerts_for and place_of read of a check-in the inserter wrote (pk set later)."""
    return CheckIn(
        public_id=uuid.UUID(public_id),
        local_date=day.date,
        day=day.day,
        status=day.assessment.status.value,
        reasons=list(day.assessment.reasons),
        created_at=day.at,
        updated_at=day.at,
    )


def random_uuid_hexes() -> Iterator[str]:
    """Version 4 UUIDs like uuid4()'s, as 32 hex digits (UUID.hex).

    Reads the system's random source 16 KB at a time and sets the version and
    variant bits of a whole pool at once: a seventh of the CPU of uuid.UUID(bytes=...).hex.
    """
    while True:
        pool = bytearray(os.urandom(16 * 1024))
        pool[6::16] = bytes(b & 0x0F | 0x40 for b in pool[6::16])  # version 4
        pool[8::16] = bytes(b & 0x3F | 0x80 for b in pool[8::16])  # the RFC 4122 variant
        digits = pool.hex()
        for start in range(0, len(digits), 32):
            yield digits[start : start + 32]


class RowInserter:
    """Inserts rows of one model's table, given as values ready for the database.

    bulk_create() prepares every value of every row through its field and
    compiles a statement per batch (and, with DEBUG on, quotes every value of it
    for the query log): several times the CPU of one executemany() of a statement
    built once, on SQLite. On PostgreSQL, where executemany() still sends a
    statement per row, COPY is four to five times faster again. The columns not
    written get their field's default, computed once.
    """

    def __init__(
        self, model: type[models.Model], columns: Sequence[str], *, using: str = DEFAULT_DB_ALIAS
    ) -> None:
        self.model = model
        self.connection = connection = connections[using]
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        by_name = {f.attname: f for f in fields}
        self.fields = [by_name[name] for name in columns]
        others = [f for f in fields if f.attname not in columns]
        self.defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        names = ", ".join(quote(f.get_attname_column()[1] or "") for f in self.fields + others)
        self.sql = (
            f"INSERT INTO {table} ({names}) "
            f"VALUES ({', '.join(['%s'] * (len(self.fields) + len(others)))})"
        )
        self.copy_sql = f"COPY {table} ({names}) FROM STDIN"

    def field(self, attname: str) -> models.Field[Any, Any]:
        return next(f for f in self.fields if f.attname == attname)

    def insert(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Insert `rows` (values of the columns, in order); returns how many."""
        count = 0
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                with (
                    self.connection.wrap_database_errors,
                    cursor.cursor.copy(self.copy_sql) as copy,
                ):
                    for row in rows:
                        copy.write_row((*row, *self.defaults))
                        count += 1
                return count
            for batch in batched(rows, BATCH_SIZE):
                cursor.executemany(self.sql, [(*row, *self.defaults) for row in batch])
                count += len(batch)
        return count

    def insert_objects(self, objs: Sequence[Patient | Treatment | Alert]) -> None:
        """bulk_create() for `objs` (unsaved, with a public_id each), setting their primary keys.

        Their primary keys are read back by public_id, unique and set on creation.
        """
        connection = self.connection
        self.insert(
            tuple(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in self.fields)
            for obj in objs
        )
        pks = pks_by(self.model, "public_id", [obj.public_id for obj in objs])
        for obj in objs:
            obj.pk = pks[obj.public_id]
            obj._state.adding, obj._state.db = False, connection.alias


def pks_by(model: type[models.Model], key: str, values: Sequence[Any]) -> dict[Any, int]:
    """The primary keys of `model`'s rows whose `key` (a unique field) is in `values`."""
    pks: dict[Any, int] = {}
    for chunk in batched(values, BATCH_SIZE):
        pks.update(model._default_manager.filter(**{f"{key}__in": chunk}).values_list(key, "pk"))
    return pks


def concrete_attnames(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if not f.primary_key]


class CheckInInserter:
    """Inserts check-ins in batches (RowInserter); dates, lists, UUIDs prepared cheaply."""

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
        self.inserter = RowInserter(CheckIn, self.COLUMNS, using=using)
        self.connection = self.inserter.connection
        # A UUID column takes the 32 hex digits as they are, a native one a UUID.
        self.uuid_type = uuid.UUID if self.connection.features.has_native_uuid_field else str
        self.local_date = self.inserter.field("local_date")
        self.json = self.inserter.field("reasons")
        self._dates: dict[dt.date, object] = {}
        self._lists: dict[tuple[str, ...], object] = {}
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0
        self.uuids = random_uuid_hexes()

    def _date(self, value: dt.date) -> object:
        if value not in self._dates:
            self._dates[value] = self.local_date.get_db_prep_save(value, self.connection)
        return self._dates[value]

    def _list(self, value: tuple[str, ...]) -> object:
        if value not in self._lists:
            self._lists[value] = self.json.get_db_prep_save(list(value), self.connection)
        return self._lists[value]

    def add(self, day: DiaryDay, *, treatment_id: int, user_id: int) -> str:
        """Queue one check-in of a patient's (their user's) treatment; returns its public_id's
        hex digits."""
        when = self.connection.ops.adapt_datetimefield_value(day.at)
        red_flags = day.answers.red_flags
        public_id = next(self.uuids)
        self.rows.append(
            (
                self.uuid_type(public_id),
                treatment_id,
                self._date(day.date),
                day.day,
                *map(day.answers.ratings.__getitem__, course.SYMPTOMS),
                self._list(
                    tuple(f for f in course.RED_FLAGS if f in red_flags) if red_flags else ()
                ),
                day.note,
                day.assessment.status.value,
                self._list(day.assessment.reasons),
                user_id,
                when,
                when,
            )
        )
        if len(self.rows) >= BATCH_SIZE:
            self.flush()
        return public_id

    def flush(self) -> None:
        self.count += self.inserter.insert(self.rows)
        self.rows = []


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
    clinics: Sequence[DemoClinic],
    product: Product,
    seed: int,
    now: dt.datetime,
) -> Generated:
    """`count` more patients treated over the last 60 days, in bulk and in one transaction.

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
            clinics=[c.clinic for c in clinics],
            today=timezone.localdate(now, timezone=ZoneInfo(clinics[0].clinic.time_zone)),
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
            clinicians={c.clinic.pk: [d.user for d in c.clinicians] for c in clinics},
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
                clinics=clinics,
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
    lines.append(f"Clinicians sign in at {settings.SITE_URL}{reverse('clinic:sign_in')}.")
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
