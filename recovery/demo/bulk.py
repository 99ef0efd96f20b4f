"""The bulk writer of demo diaries: many patients' check-ins and alerts at once, with raw
inserts, for the generated patients of `manage.py demo --patients N` only.

It writes the check-ins, alerts and kept fields of each treatment that the app's write
functions would have written had each check-in arrived on its own day
(`recovery.checkins.record_check_in`, `recovery.alerts`), without calling them: 20,000
patients' diaries take seconds, not hours. (Not their audit rows: those of a generated
patient's check-ins and alerts are left out.) tests/test_demo_command.py replays its
diaries through the write functions and compares the rows.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import batched
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections, models

from recovery import course
from recovery.alerts import ALERT_LEVELS
from recovery.demo.scenarios import Entry, sent_at
from recovery.models import Alert, CheckIn, Patient, ReminderSettings, Treatment, User
from recovery.reminders import schedule
from recovery.triage import place_of, recount


class DiaryDay(NamedTuple):
    """One check-in of a demo diary: its date, the answers, what the rules made of them."""

    date: dt.date
    day: int
    answers: course.Answers
    assessment: course.Assessment
    note: str
    at: dt.datetime  # when it was sent


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
            sent_at(on=answers.date, day=entry.day, time_zone=time_zone, now=now),
        )
        for entry, answers, result in zip(entries, dated, assessed, strict=True)
    ]


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
    ) -> None:
        self.now = now
        # Its own random sequence: the diaries stay what the same seed always made.
        self.rng = random.Random(f"{seed}:alerts")
        self.clinicians: dict[int, Sequence[User]] = dict(clinicians or {})
        self.inserter = CheckInInserter()
        self.treatments: list[Treatment] = []
        self.alerts: list[Alert] = []

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
        # When each is next owed a reminder, as reminders.schedule keeps it (the generated
        # patients have the default reminder settings: no row of their own).
        by_patient: dict[int, list[Treatment]] = {}
        for treatment in self.treatments:
            by_patient.setdefault(treatment.patient_id, []).append(treatment)
        for treatments in by_patient.values():
            schedule(treatments, reminder=ReminderSettings(patient=treatments[0].patient))
        save_kept_fields(self.treatments)
        for clinic_id in sorted({t.clinic_id for t in self.treatments}):
            recount(clinic_id)


KEPT_FIELDS = (
    "latest_check_in",
    "open_alert",
    "triage",
    "triage_since",
    "triage_valid_until",
    "next_reminder_at",
)


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
            adapt(t.next_reminder_at),
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
