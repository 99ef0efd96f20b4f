"""Where a treatment stands in the clinic's triage order, kept on the row itself.

urgent, contact clinic, missed check-in, watch, on track, diary finished
(recovery-course.md, "What the clinic sees"). An open alert decides the
first two; the latest check-in decides watch and on track; the passing of
days decides missed check-in and diary finished, so each row also records
when time alone will next change it (`triage_valid_until`), and
`sweep_triage` brings due rows up to date — the dashboard runs it for its
clinic before each read, touching only the rows that changed.

How many of a clinic's treatments stand at each level is kept too
(`TriageCounts`, by `recount`), in the transaction of every write that
moves a treatment between levels or on or off the dashboard: the
dashboard reads the counts, and counts only when it searches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from recovery import course, locks
from recovery.models import Alert, CheckIn, Clinic, Treatment, Triage, TriageCounts


@dataclass(frozen=True)
class TriagePlace:
    triage: Triage
    since: dt.datetime
    valid_until: dt.datetime | None


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The instant `day` begins in `zone`."""
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
    diary_over = _midnight(treatment.diary_ends_on() + dt.timedelta(days=1), zone)
    if now >= diary_over:
        return TriagePlace(Triage.DIARY_FINISHED, diary_over, None)
    if course.missed_check_in(
        treated_on=treatment.treated_on, latest=latest_on, today=today, course=values
    ):
        missed_since = _midnight(
            course.missed_from(treated_on=treatment.treated_on, latest=latest_on), zone
        )
        return TriagePlace(Triage.MISSED_CHECK_IN, missed_since, diary_over)
    missed_at = _midnight(
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
