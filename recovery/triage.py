"""Where a treatment stands in the clinic's triage order, kept on the row itself.

urgent, contact clinic, missed check-in, watch, on track, diary finished
(recovery-course.md, "What the clinic sees"). An open alert decides the
first two; the latest check-in decides watch and on track; the passing of
days decides missed check-in and diary finished, so each row also records
when time alone will next change it (`triage_valid_until`), and
`sweep_triage` brings due rows up to date — the dashboard runs it for its
clinic before each read, touching only the rows that changed.

How many of a clinic's treatments stand at each level is kept too (and how many
long-term watches at each standing the dashboard shows: recovery.long_term)
(`TriageCounts`, by `recount`), in the transaction of every write that
moves a treatment between levels or on or off the dashboard: the
dashboard reads the counts, and counts only when it searches.

`queue` is what the dashboard reads: a page of rows in that order, in words.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, QuerySet
from django.db.models.fetch_modes import FETCH_RAISE
from django.urls import reverse
from django.utils import timezone

from recovery import access, course, locks
from recovery.guidance import RATING_WORDS, ago, clinic_reason_words, rating_heard
from recovery.models import (
    Alert,
    CheckIn,
    Clinic,
    Clinician,
    LongTermWatch,
    Patient,
    Treatment,
    Triage,
    TriageCounts,
    User,
    tel_uri,
)


@dataclass(frozen=True)
class TriagePlace:
    triage: Triage
    since: dt.datetime
    valid_until: dt.datetime | None


def midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The instant `day` begins in `zone` (a patient's day: recovery.long_term too)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def place_of(treatment: Treatment, *, now: dt.datetime) -> TriagePlace:
    """Needs treatment.product, .patient, .open_alert and .latest_check_in loaded."""
    alert = treatment.open_alert
    if alert is not None:
        level = Triage.URGENT if alert.level == course.Status.URGENT else Triage.CONTACT_CLINIC
        return TriagePlace(level, alert.raised_at or alert.opened_at, None)

    zone = ZoneInfo(treatment.patient.time_zone)
    today = now.astimezone(zone).date()
    values = treatment.product.course
    latest = treatment.latest_check_in
    latest_on = latest.local_date if latest else None
    diary_over = midnight(treatment.diary_ends_on() + dt.timedelta(days=1), zone)
    if now >= diary_over:
        return TriagePlace(Triage.DIARY_FINISHED, diary_over, None)
    if course.missed_check_in(
        treated_on=treatment.treated_on, latest=latest_on, today=today, course=values
    ):
        missed_since = midnight(
            course.missed_from(treated_on=treatment.treated_on, latest=latest_on), zone
        )
        return TriagePlace(Triage.MISSED_CHECK_IN, missed_since, diary_over)
    missed_at = midnight(
        course.missed_from(treated_on=treatment.treated_on, latest=latest_on), zone
    )
    since = latest.updated_at if latest else treatment.created_at
    # Not on track while the latest check-in says otherwise, even once its alert is resolved.
    on_track = latest is None or latest.status == course.Status.ON_TRACK
    triage = Triage.ON_TRACK if on_track else Triage.WATCH
    return TriagePlace(triage, since, min(missed_at, diary_over))


def refresh_triage(treatment: Treatment, *, now: dt.datetime) -> None:
    """Put the treatment in its place now; `treatment` is fresh (locked, or just made).

    Callers that also took a treatment on or off the dashboard (`superseded`) recount."""
    _place(treatment, now=now, also=[])


def keep_current(treatment: Treatment, *, now: dt.datetime, also: Sequence[str] = ()) -> None:
    """Recompute what is kept on the treatment's row from its rows, and put it in its place.

    `treatment` is locked in this transaction (locks.treatment_for_update): its latest
    check-in (the one of the latest day) and its open alert are read here, after the
    lock, so that a write which waited for another never keeps what it read before.
    `also`: fields the caller has just set on it, saved in the same update.
    """
    treatment.latest_check_in = (
        CheckIn.objects.filter(treatment=treatment).order_by("-local_date").first()
    )
    treatment.open_alert = Alert.objects.filter(
        treatment=treatment, resolved_at__isnull=True
    ).first()
    _place(treatment, now=now, also=["latest_check_in", "open_alert", *also])


def _place(treatment: Treatment, *, now: dt.datetime, also: list[str]) -> None:
    before = treatment.triage
    place = place_of(treatment, now=now)
    treatment.triage = place.triage
    treatment.triage_since = place.since
    treatment.triage_valid_until = place.valid_until
    treatment.save(update_fields=[*also, "triage", "triage_since", "triage_valid_until"])
    if place.triage != before:
        recount(treatment.clinic_id)


def counts_of(treatments: QuerySet[Treatment]) -> dict[int, int]:
    """How many of `treatments` stand at each level: a count over their rows."""
    grouped = treatments.order_by().values_list("triage").annotate(n=Count("id"))
    return dict(grouped)


def recount(clinic_id: int) -> TriageCounts:
    """Count the clinic's current treatments at each level again and keep the counts.

    Its TriageCounts row is locked first, so a concurrent write's recount waits for this
    one's transaction and then counts what it committed.
    """
    with transaction.atomic(savepoint=False):
        counts, _ = TriageCounts.objects.select_for_update().get_or_create(clinic_id=clinic_id)
        by_level = counts_of(Treatment.objects.filter(clinic_id=clinic_id, superseded=False))
        for level in Triage:
            setattr(counts, level.name.lower(), by_level.get(level, 0))
        by_standing = dict(
            LongTermWatch.objects.filter(clinic_id=clinic_id, standing__in=LongTermWatch.SHOWN)
            .order_by()
            .values_list("standing")
            .annotate(n=Count("id"))
        )
        for standing in LongTermWatch.SHOWN:
            setattr(counts, f"long_term_{standing}", by_standing.get(standing, 0))
        counts.counted_at = timezone.now()
        counts.save()
    return counts


def treatment_deleted(sender: type[Treatment], instance: Treatment, **kwargs: object) -> None:
    """A treatment deleted (in the admin, or with its patient) leaves the counts."""
    recount(instance.clinic_id)


def counts_for(clinic: Clinic) -> TriageCounts:
    """The clinic's kept counts (counted now if it has none yet)."""
    return TriageCounts.objects.filter(clinic=clinic).first() or recount(clinic.pk)


def due_for_sweep(*, now: dt.datetime, clinic: Clinic | None = None) -> QuerySet[Treatment]:
    due = Treatment.objects.filter(triage_valid_until__lte=now)
    return due if clinic is None else due.filter(clinic=clinic)


def sweep_triage(*, now: dt.datetime, clinic: Clinic | None = None) -> int:
    """Move the rows whose place the passing of time has changed; returns how many."""
    due_rows = due_for_sweep(now=now, clinic=clinic)
    # Usually none is due (the dashboard asks before every read): the cheapest question first.
    if not due_rows.exists():
        return 0
    with transaction.atomic():
        # Locked, so that a check-in or an alert arriving meanwhile is not overwritten, and
        # read again after the lock; one that a write has moved meanwhile may not be due.
        due = [
            treatment
            for treatment in locks.treatments_for_update(due_rows.values_list("pk", flat=True))
            if treatment.triage_valid_until is not None and treatment.triage_valid_until <= now
        ]
        moved: set[int] = set()
        for treatment in due:
            place = place_of(treatment, now=now)
            if place.triage != treatment.triage:
                moved.add(treatment.clinic_id)
            treatment.triage = place.triage
            treatment.triage_since = place.since
            treatment.triage_valid_until = place.valid_until
        Treatment.objects.bulk_update(
            due, ["triage", "triage_since", "triage_valid_until"], batch_size=500
        )
        for clinic_id in sorted(moved):
            recount(clinic_id)
    return len(due)


# The dashboard's queue: what a clinician reads of it ----------------------------------------

PER_PAGE = 25

# What a screen reader says of every rating of every symptom, made once: a page shows 25
# rows of six.
_HEARD = {
    (symptom, value): rating_heard(symptom, value)
    for symptom in course.SYMPTOMS
    for value in (None, *RATING_WORDS)
}


@dataclass(frozen=True)
class Ratings:
    """A check-in's six ratings for the ratings cell: seen at a glance (ratings.glances),
    heard in words."""

    seen: list[tuple[str, int | None]]  # (symptom, rating)
    heard: str

    @classmethod
    def of(cls, check_in: CheckIn) -> Ratings:
        ratings = check_in.ratings()
        return cls(seen=ratings, heard="; ".join(_HEARD[s, v] for s, v in ratings))


@dataclass(frozen=True)
class OpenAlert:
    public_id: uuid.UUID
    urgent: bool
    level: str
    reasons: tuple[str, ...]
    opened_at: dt.datetime
    opened_ago: str
    raised_ago: str | None
    acknowledged_ago: str | None
    acknowledged_by: str | None
    # How to reach the patient, and what they wrote with the check-in that raised it.
    mobile: str
    mobile_uri: str
    note: str


@dataclass(frozen=True)
class Row:
    public_id: uuid.UUID
    url: str
    name: str
    level: str  # the slug, as in ?level=
    triage: str  # the level in words
    day: str
    ratings: Ratings | None
    checked_in_at: dt.datetime | None
    checked_in_ago: str
    alert: OpenAlert | None


def _person(user: User | None) -> str:
    if user is None:
        return "a former staff member"
    return user.get_full_name() or user.email or user.username


# Enough of the patient's note to act on; the whole of it is on the alert's panel.
NOTE_CHARACTERS = 140


def _open_alert(alert: Alert, patient: Patient, now: dt.datetime) -> OpenAlert:
    acknowledged = alert.acknowledged_at
    note = alert.patient_note
    return OpenAlert(
        mobile=patient.mobile,
        mobile_uri=tel_uri(patient.mobile) if patient.mobile else "",
        note=note if len(note) <= NOTE_CHARACTERS else note[: NOTE_CHARACTERS - 1] + "…",
        public_id=alert.public_id,
        urgent=alert.level == course.Status.URGENT,
        level=alert.get_level_display(),
        reasons=tuple(clinic_reason_words(r) for r in alert.reasons),
        opened_at=alert.opened_at,
        opened_ago=ago(alert.opened_at, now),
        raised_ago=ago(alert.raised_at, now) if alert.raised_at else None,
        acknowledged_ago=ago(acknowledged, now) if acknowledged else None,
        acknowledged_by=_person(alert.acknowledged_by) if acknowledged else None,
    )


def _day(treatment: Treatment, now: dt.datetime) -> str:
    """The day of the diary in the patient's own time zone."""
    today = now.astimezone(ZoneInfo(treatment.patient.time_zone)).date()
    if today < treatment.treated_on:
        return "—"
    if today > treatment.diary_ends_on():
        return "finished"
    return str(treatment.day_on(today))


# What a row reads of its treatment: loading only these saves a sixth of the page's query
# (datetimes and JSON parsed for nothing); FETCH_RAISE makes a forgotten one an error.
ROW_FIELDS = (
    "triage",
    "treated_on",
    "patient__public_id",
    "patient__name",
    "patient__time_zone",
    "patient__mobile",
    "product__diary_days",
    *(f"latest_check_in__{symptom}" for symptom in course.SYMPTOMS),
    "latest_check_in__updated_at",
    *(
        f"open_alert__{name}"
        for name in ("public_id", "level", "reasons", "opened_at", "raised_at", "acknowledged_at")
    ),
    "open_alert__check_in__note",
    "open_alert__report__note",
    "open_alert__late_check__note",
    *(
        f"open_alert__acknowledged_by__{name}"
        for name in ("first_name", "last_name", "email", "username")
    ),
)


def patient_urls() -> Callable[[uuid.UUID], str]:
    """The patient page's address for any patient, reversed once for a page of rows."""
    marker = uuid.UUID(int=0)
    before, after = reverse("clinic:patient", kwargs={"public_id": marker}).split(str(marker))
    return lambda public_id: f"{before}{public_id}{after}"


def _row(treatment: Treatment, now: dt.datetime, url: Callable[[uuid.UUID], str]) -> Row:
    latest = treatment.latest_check_in
    level = Triage(treatment.triage)
    public_id = treatment.patient.public_id
    return Row(
        public_id=public_id,
        url=url(public_id),
        name=treatment.patient.name,
        level=level.name.lower(),
        triage=level.label,
        day=_day(treatment, now),
        ratings=Ratings.of(latest) if latest else None,
        checked_in_at=latest.updated_at if latest else None,
        checked_in_ago=ago(latest.updated_at, now) if latest else "none yet",
        alert=(
            _open_alert(treatment.open_alert, treatment.patient, now)
            if treatment.open_alert
            else None
        ),
    )


@dataclass(frozen=True)
class Queue:
    """One page of the dashboard's queue, and the counts beside it."""

    rows: list[Row]
    # How many stand at each level: the counts the write functions keep, or, for a
    # search, the matching rows counted.
    by_level: dict[int, int]
    total: int  # the rows at the level asked for (at every level if none)
    page: int  # the page shown: the one asked for, or the nearest there is
    num_pages: int
    first_number: int  # the first row's number in the whole list, from 1
    # The kept counts of the long-term watches at each standing the dashboard shows
    # (LongTermWatch.SHOWN), read with the others (empty for a search).
    long_term: dict[str, int]

    @property
    def everyone(self) -> int:
        return sum(self.by_level.values())

    @property
    def last_number(self) -> int:
        return self.first_number + len(self.rows) - 1


def queue(
    clinician: Clinician, *, search: str, level: Triage | None, page: int, now: dt.datetime
) -> Queue:
    """The clinician's clinic's current treatments in triage order, the longest waiting
    first within a level: page `page` of those at `level` (every level if None) whose
    patient's name contains `search` (everyone if ""). The same few queries however many
    patients the clinic has."""
    treatments = access.treatments_for_clinician(clinician).filter(superseded=False)
    by_level: dict[int, int]
    long_term: dict[str, int] = {}  # a search counts the watches it matches (long_term)
    if search:
        treatments = treatments.filter(patient__name__icontains=search)
        by_level = counts_of(treatments)
    else:
        kept = counts_for(clinician.clinic)
        by_level, long_term = kept.by_level(), kept.by_standing()
    if level is not None:
        treatments = treatments.filter(triage=level)
        total = by_level.get(level, 0)
    else:
        total = sum(by_level.values())
    # Out of range: the nearest page there is (a refresh after the list shrank lands there).
    num_pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), num_pages)
    start = (page - 1) * PER_PAGE
    page_treatments = (
        treatments.order_by("triage", "triage_since", "id")
        .select_related(
            "patient",
            "product",
            "latest_check_in",
            "open_alert",
            "open_alert__acknowledged_by",
            "open_alert__check_in",
            "open_alert__report",
            "open_alert__late_check",
        )
        .only(*ROW_FIELDS)
        .fetch_mode(FETCH_RAISE)[start : start + PER_PAGE]
    )
    patient_url = patient_urls()
    return Queue(
        rows=[_row(t, now, patient_url) for t in page_treatments],
        by_level=by_level,
        total=total,
        page=page,
        num_pages=num_pages,
        first_number=start + 1,
        long_term=long_term,
    )
