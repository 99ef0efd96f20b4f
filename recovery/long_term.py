"""The long-term watch for late lumps after a PMMA product (recovery-course.md, "Long-term
watch (PMMA)"): its check-ins, stopping and starting it again, and where it stands.

A patient treated with a watched product (course.LONG_TERM_PRODUCTS) has one watch, which
follows their latest treatment of such a product (`LongTermWatch.treatment`): a new one
restarts the clock. After that treatment's diary the patient answers a short check-in
when one is due (course.long_term_schedule), or at any time between; a yes to a new lump
opens a `contact_clinic` alert with reason `late_lump` on the treatment the patient's
dashboard row follows.

What the dashboard reads is kept on the watch's row, as a treatment's triage place is
(recovery.triage): its standing, since when and until when time alone keeps it there
(`standing_valid_until`, brought up to date by `sweep_watches`), and the clinic's counts
of each standing shown (TriageCounts.long_term_*, by triage.recount).

Locks, in this order (docs/concurrency.md): the treatment(s), then the watch's row, then
the alert, then the clinic's counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.fetch_modes import FETCH_RAISE
from django.utils.formats import date_format

from recovery import access, alerts, audit, course, locks, reminder_rules, triage
from recovery.guidance import LATE_ANSWER_WORDS, STANDING_WORDS
from recovery.models import (
    AuditAction,
    Clinic,
    Clinician,
    LateCheck,
    LongTermWatch,
    Patient,
    ReminderSettings,
    Treatment,
    Triage,
    User,
)


class LateCheckRefused(Exception):
    """The long-term check-in cannot be saved (or the watch changed); the message says why,
    in the patient's words."""


class LateCheckConflict(LateCheckRefused):
    """The same idempotency key came back with other answers (409)."""


@dataclass(frozen=True)
class LateAnswers:
    """What the long-term check-in asks: a new lump (or hardness, redness, swelling) at a
    treated area, and the context questions answered yes (course.LONG_TERM_CONTEXT)."""

    lump: bool
    context: frozenset[str] = frozenset()
    note: str = ""


@dataclass(frozen=True)
class RecordedLateCheck:
    check: LateCheck
    replayed: bool  # the same submission had already been saved


def followed(watch: LongTermWatch) -> Treatment:
    """The treatment the watch counts from (loaded with it)."""
    treatment = watch.treatment
    assert treatment is not None, "only a correction deleting it empties it, and follows"
    return treatment


def opens_on(watch: LongTermWatch) -> dt.date:
    """The first day a long-term check-in can be answered: the day after the diary of the
    treatment it follows (until then the diary asks about lumps). Needs watch.treatment
    and its product loaded."""
    return followed(watch).diary_ends_on() + dt.timedelta(days=1)


# The standings in which a due check-in waits for its answer.
OPEN = (course.Standing.DUE, course.Standing.OVERDUE)


def _clock(watch: LongTermWatch, *, today: dt.date) -> course.WatchPlace:
    """What time alone says of the watch on `today` (its check-ins not read: neither the
    end nor the due dates depend on them)."""
    return course.long_term_place(followed(watch).treated_on, today=today)


def next_due_on(watch: LongTermWatch, *, today: dt.date) -> dt.date | None:
    """The first due date after `today`, if the watch has one left (stopped or not)."""
    return _clock(watch, today=today).next_due_on


def answers_of(watch: LongTermWatch) -> list[course.LateAnswer]:
    """The watch's check-ins, as the course reads them: one query (none if not saved)."""
    checks = LateCheck.objects.filter(watch=watch) if watch.pk else LateCheck.objects.none()
    return [
        course.LateAnswer(date, lump) for date, lump in checks.values_list("local_date", "lump")
    ]


def place_of(
    watch: LongTermWatch, *, today: dt.date, answers: Sequence[course.LateAnswer] | None = None
) -> course.WatchPlace:
    """Where the watch stands on the patient's `today`, from its check-ins: `answers`, or
    read here (answers_of)."""
    return course.long_term_place(
        followed(watch).treated_on,
        today=today,
        answers=answers_of(watch) if answers is None else answers,
        stopped=watch.is_stopped,
    )


def _put_in_place(
    watch: LongTermWatch,
    *,
    now: dt.datetime,
    answers: Sequence[course.LateAnswer] | None = None,
) -> bool:
    """Set (not save) the watch's kept standing from its rows as they are now (`answers`:
    its check-ins, when the caller holds them); whether a standing the dashboard counts
    changed."""
    zone = ZoneInfo(watch.patient.time_zone)
    place = place_of(watch, today=now.astimezone(zone).date(), answers=answers)
    before = watch.standing
    watch.standing = place.standing.value
    watch.due_on = place.due_on
    watch.standing_since = triage.midnight(place.since, zone) if place.since else now
    watch.standing_valid_until = triage.midnight(place.until, zone) if place.until else None
    schedule_reminder(watch)
    if before == watch.standing:
        return False
    return before in LongTermWatch.SHOWN or watch.standing in LongTermWatch.SHOWN


KEPT_FIELDS = ["standing", "due_on", "standing_since", "standing_valid_until", "next_reminder_at"]


def reminder_settings_of(watch: LongTermWatch) -> ReminderSettings:
    """The patient's settings loaded with the watch (locks.WATCH_LOCKED_WITH), or the
    defaults."""
    try:
        return watch.patient.reminder_settings
    except ReminderSettings.DoesNotExist:
        return ReminderSettings(patient=watch.patient)


def reminder_state(
    watch: LongTermWatch, *, reminder: ReminderSettings
) -> tuple[reminder_rules.Watch, reminder_rules.Preferences]:
    """The pure rule's view of the watch (its kept standing) and of the patient."""
    return (
        reminder_rules.Watch(
            open_due_on=watch.due_on if watch.standing in OPEN else None,
            reminded_for=watch.reminded_for,
            nudged_for=watch.nudged_for,
        ),
        reminder_rules.Preferences(
            time_zone=watch.patient.time_zone,
            reminder_time=reminder.reminder_time,
            reminders_on=reminder.reminders_on,
            last_reminded_on=reminder.last_reminded_on,
        ),
    )


def schedule_reminder(
    watch: LongTermWatch,
    *,
    reminder: ReminderSettings | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Set (not save) the watch's next reminder time from its kept standing and the
    patient's settings (`reminder` when the caller has just written them); `now`: only the
    sweep, having just looked."""
    if watch.standing not in OPEN:  # nothing owed: the settings need not be read
        watch.next_reminder_at = None
        return
    rule_watch, patient = reminder_state(
        watch, reminder=reminder_settings_of(watch) if reminder is None else reminder
    )
    watch.next_reminder_at = reminder_rules.long_term_next_reminder_at(
        watch=rule_watch, patient=patient, now=now
    )


def reschedule_watch_locked(watch: LongTermWatch, *, reminder: ReminderSettings) -> None:
    """After the patient's reminder settings changed: the watch, locked by the caller
    (locks.watch_for_update), keeps its next reminder."""
    before = watch.next_reminder_at
    schedule_reminder(watch, reminder=reminder)
    if watch.next_reminder_at != before:
        LongTermWatch.objects.filter(pk=watch.pk).update(next_reminder_at=watch.next_reminder_at)


def _keep(
    watch: LongTermWatch,
    *,
    now: dt.datetime,
    also: Collection[str] = (),
    answers: Sequence[course.LateAnswer] | None = None,
) -> None:
    """Put the locked watch in its place (from `answers`, or its check-ins read here), save
    it with `also`, and recount if it moved."""
    moved = _put_in_place(watch, now=now, answers=answers)
    watch.save(update_fields=[*also, *KEPT_FIELDS])
    if moved:
        triage.recount(watch.clinic_id)


def watch_of(patient: Patient) -> LongTermWatch | None:
    """The patient's watch, with what the pages read of it; None if they have none."""
    return (
        LongTermWatch.objects.select_related("patient", "treatment__product")
        .filter(patient=patient)
        .first()
    )


# Following the treatments -------------------------------------------------------------


def follow_treatments(patient: Patient, *, at: dt.datetime) -> LongTermWatch | None:
    """After a write that added, changed or deleted one of the patient's treatments, with
    their treatments locked in this transaction: the watch follows their latest treatment
    of a watched product (made for the first; a later one restarts the clock, and a watch
    stopped starts again); with none left, the watch goes with its check-ins."""
    latest = (
        Treatment.objects.filter(patient=patient, product__code__in=course.LONG_TERM_PRODUCTS)
        .select_related("product")
        .order_by("-treated_on", "-id")
        .first()
    )
    watch = locks.watch_for_update(patient)
    if latest is None:
        if watch is not None:
            watch.delete()
            triage.recount(patient.clinic_id)
        return None
    if watch is None:
        watch = LongTermWatch(patient=patient, clinic_id=patient.clinic_id, treatment=latest)
        _put_in_place(watch, now=at)
        watch.save()
        if watch.standing in LongTermWatch.SHOWN:
            triage.recount(watch.clinic_id)
        return watch
    also = ["treatment", "clinic"]
    restarted = watch.treatment is None or latest.treated_on > watch.treatment.treated_on
    if restarted and watch.is_stopped:
        watch.stopped_at, watch.stopped_by = None, None
        also += ["stopped_at", "stopped_by"]
    watch.treatment = latest
    watch.clinic_id = patient.clinic_id
    _keep(watch, now=at, also=also)
    return watch


def follow_corrected_treatments(patient: Patient, *, at: dt.datetime) -> None:
    """After a correction of the patient's treatments (the admin: a date or a product
    changed, one deleted): lock them, then follow_treatments."""
    with transaction.atomic():
        locks.patient_treatments_for_update(patient.pk)
        follow_treatments(patient, at=at)


# The patient's check-in ---------------------------------------------------------------


def refusal_of(watch: LongTermWatch | None, *, today: dt.date) -> str | None:
    """Why a long-term check-in cannot be answered today, or None if it can."""
    if watch is None:
        return "There are no long-term check-ins for your treatment."
    if watch.is_stopped:
        return "You stopped the long-term check-ins. You can start them again on this page."
    if today < opens_on(watch):
        return (
            "Your long-term check-ins start after your daily diary, on "
            f"{date_format(opens_on(watch), 'j F Y')}. Until then, your daily check-in asks "
            "about lumps."
        )
    if _clock(watch, today=today).standing is course.Standing.ENDED:
        return "Your long-term check-ins have ended: five years have passed since treatment."
    return None


def answers_digest(answers: LateAnswers) -> str:
    sent = {"lump": answers.lump, "context": sorted(answers.context), "note": answers.note}
    return hashlib.sha256(json.dumps(sent, sort_keys=True).encode()).hexdigest()


def _replayed(
    idempotency_key: uuid.UUID, *, watch: LongTermWatch, digest: str
) -> RecordedLateCheck | None:
    earlier = LateCheck.objects.filter(idempotency_key=idempotency_key).first()
    if earlier is None:
        return None
    if earlier.watch_id != watch.pk:
        raise LateCheckRefused("This submission can't be accepted.")
    if earlier.answers_digest != digest:
        raise LateCheckConflict(
            "This check-in was already sent with other answers, so nothing was changed. "
            "Please answer again."
        )
    return RecordedLateCheck(earlier, replayed=True)


def record_late_check(
    *,
    patient: Patient,
    answers: LateAnswers,
    idempotency_key: uuid.UUID | None = None,
    entered_by: User | None,
    at: dt.datetime,
    ip_address: str | None = None,
) -> RecordedLateCheck:
    """Save the patient's long-term check-in for their today (at `at`).

    A lump opens a `contact_clinic` alert with reason `late_lump` (or adds the reason to
    the open one) on the treatment the patient's diary follows now. The same submission
    sent again (same key, same answers) changes nothing; other answers with the same key,
    or a check-in the watch cannot take (stopped, not started, ended), are refused
    (LateCheckRefused) and nothing is saved.
    """
    unknown = answers.context - set(course.LONG_TERM_CONTEXT)
    if unknown:
        raise LateCheckRefused(f"Unknown question: {', '.join(sorted(unknown))}.")
    if len(answers.note) > 2000:
        raise LateCheckRefused("Please keep the note under 2,000 characters.")
    digest = answers_digest(answers)
    today = at.astimezone(ZoneInfo(patient.time_zone)).date()
    with transaction.atomic():
        current = access.current_treatment(patient, today=today)
        treatment = locks.treatment_for_update(current.pk) if current is not None else None
        watch = locks.watch_for_update(patient)
        if watch is not None and idempotency_key is not None:
            replayed = _replayed(idempotency_key, watch=watch, digest=digest)
            if replayed is not None:
                return replayed
        refusal = refusal_of(watch, today=today)
        if refusal is not None:
            raise LateCheckRefused(refusal)
        assert watch is not None and treatment is not None
        # Read once: under the watch's lock no other check-in of it is written, so its place
        # afterwards is that of these and this one.
        earlier = answers_of(watch)
        place = place_of(watch, today=today, answers=earlier)
        check = LateCheck.objects.create(
            watch=watch,
            local_date=today,
            due_on=place.due_on,
            lump=answers.lump,
            note=answers.note,
            idempotency_key=idempotency_key,
            answers_digest=digest if idempotency_key is not None else "",
            entered_by=entered_by,
            created_at=at,
            **{code: code in answers.context for code in course.LONG_TERM_CONTEXT},
        )
        audit.record_event(
            patient,
            AuditAction.LATE_CHECK_CREATED,
            check.public_id,
            actor=entered_by,
            ip_address=ip_address,
        )
        if answers.lump:
            alerts.open_for_late_lump(treatment=treatment, late_check=check, at=at)
            triage.keep_current(treatment, now=at)
        _keep(watch, now=at, answers=[*earlier, course.LateAnswer(today, answers.lump)])
    return RecordedLateCheck(check, replayed=False)


# Stopping and starting again ----------------------------------------------------------


def stop_watch(
    *, patient: Patient, by: User | None, at: dt.datetime, ip_address: str | None
) -> LongTermWatch:
    """The patient no longer wants long-term check-ins: none is due or reminded of, the
    clinic sees that they stopped (and when). LateCheckRefused if there is no watch."""
    return _set_stopped(patient=patient, stopped=True, by=by, at=at, ip_address=ip_address)


def resume_watch(
    *, patient: Patient, by: User | None, at: dt.datetime, ip_address: str | None
) -> LongTermWatch:
    """Long-term check-ins again, on the schedule they had."""
    return _set_stopped(patient=patient, stopped=False, by=by, at=at, ip_address=ip_address)


def _set_stopped(
    *, patient: Patient, stopped: bool, by: User | None, at: dt.datetime, ip_address: str | None
) -> LongTermWatch:
    with transaction.atomic():
        watch = locks.watch_for_update(patient)
        if watch is None:
            raise LateCheckRefused("There are no long-term check-ins for your treatment.")
        if watch.is_stopped == stopped:
            return watch  # sent twice: already so
        watch.stopped_at, watch.stopped_by = (at, by) if stopped else (None, None)
        _keep(watch, now=at, also=["stopped_at", "stopped_by"])
        action = AuditAction.LONG_TERM_STOPPED if stopped else AuditAction.LONG_TERM_RESUMED
        audit.record_event(patient, action, watch.public_id, actor=by, ip_address=ip_address)
    return watch


# The passing of time --------------------------------------------------------------------


def sweep_watches(*, now: dt.datetime, clinic: Clinic | None = None) -> int:
    """Move the watches (of `clinic`, or every clinic's) whose standing the passing of time
    has changed (a due date come, a check-in overdue, the end); returns how many were
    looked at."""
    due = LongTermWatch.objects.filter(standing_valid_until__lte=now)
    if clinic is not None:
        due = due.filter(clinic=clinic)
    if not due.exists():
        return 0
    moved: set[int] = set()
    with transaction.atomic():
        # Read again after the lock: one that a write has moved meanwhile may not be due.
        watches = [
            watch
            for watch in locks.watches_for_update(due.values_list("pk", flat=True))
            if watch.standing_valid_until is not None and watch.standing_valid_until <= now
        ]
        for watch in watches:
            if _put_in_place(watch, now=now):
                moved.add(watch.clinic_id)
        LongTermWatch.objects.bulk_update(watches, KEPT_FIELDS, batch_size=500)
        for clinic_id in sorted(moved):
            triage.recount(clinic_id)
    return len(watches)


# The dashboard's long-term group --------------------------------------------------------

# The most a long-term list shows (the oldest standing first); the count says how many.
WATCHES_SHOWN = 100


@dataclass(frozen=True)
class WatchRow:
    """One patient in the dashboard's long-term list."""

    public_id: uuid.UUID
    url: str
    name: str
    standing: str  # in words (guidance.STANDING_WORDS)
    due_on: dt.date | None
    since: dt.datetime
    last_answered_on: dt.date | None
    last_lump: bool | None  # the last answer: yes (True) or no to a new lump; None: none yet
    last_words: str  # … in words (guidance.LATE_ANSWER_WORDS)


@dataclass(frozen=True)
class WatchGroup:
    """The dashboard's long-term group: how many stand at each standing shown
    (LongTermWatch.SHOWN), and, when one is asked for, those patients."""

    by_standing: dict[str, int]
    standing: course.Standing | None
    rows: list[WatchRow]

    @property
    def total(self) -> int:
        return self.by_standing.get(self.standing, 0) if self.standing else 0


def _last(field: str) -> Subquery:
    return Subquery(
        LateCheck.objects.filter(watch=OuterRef("pk"))
        .order_by("-local_date", "-created_at", "-pk")
        .values(field)[:1]
    )


def watch_group(
    clinician: Clinician,
    *,
    search: str,
    standing: course.Standing | None,
    now: dt.datetime,
    by_standing: dict[str, int],
) -> WatchGroup:
    """The clinician's clinic's long-term watches at `standing` (none listed if None) whose
    patient's name contains `search`, the longest standing first; `by_standing` the kept
    counts, counted again here for a search. A fixed number of queries."""
    watches = LongTermWatch.objects.filter(clinic=clinician.clinic)
    if search:
        watches = watches.filter(patient__name__icontains=search)
        counted = dict(
            watches.filter(standing__in=LongTermWatch.SHOWN)
            .values_list("standing")
            .annotate(n=Count("pk"))
            .order_by()
        )
        by_standing = {s: counted.get(s, 0) for s in LongTermWatch.SHOWN}
    rows: list[WatchRow] = []
    if standing is not None:
        url = triage.patient_urls()
        listed = (
            watches.filter(standing=standing)
            .order_by("standing_since", "pk")
            .select_related("patient")
            .only("standing", "standing_since", "due_on", "patient__public_id", "patient__name")
            .annotate(last_on=_last("local_date"), last_lump=_last("lump"))
            .fetch_mode(FETCH_RAISE)[:WATCHES_SHOWN]
        )
        rows = [
            WatchRow(
                public_id=w.patient.public_id,
                url=url(w.patient.public_id),
                name=w.patient.name,
                standing=STANDING_WORDS[course.Standing(w.standing)],
                due_on=w.due_on,
                since=w.standing_since,
                last_answered_on=w.last_on,
                last_lump=w.last_lump,
                last_words=LATE_ANSWER_WORDS[w.last_lump],
            )
            for w in listed
        ]
    return WatchGroup(by_standing=by_standing, standing=standing, rows=rows)


@dataclass(frozen=True)
class Dashboard:
    queue: triage.Queue
    long_term: WatchGroup


def dashboard(
    clinician: Clinician,
    *,
    search: str,
    level: Triage | None,
    standing: course.Standing | None,
    page: int,
    now: dt.datetime,
) -> Dashboard:
    """What the dashboard reads: the triage queue and the long-term group, after the rows
    and watches the passing of time has moved are put in their place (the one write of
    the dashboard's GET besides its audit row; usually none is due: one cheap query each)."""
    triage.sweep_triage(now=now, clinic=clinician.clinic)
    sweep_watches(now=now, clinic=clinician.clinic)
    queue = triage.queue(clinician, search=search, level=level, page=page, now=now)
    group = watch_group(
        clinician, search=search, standing=standing, now=now, by_standing=queue.long_term
    )
    return Dashboard(queue=queue, long_term=group)
