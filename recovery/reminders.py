"""Daily reminders and missed-check-in nudges for patients: their settings, the time each
treatment's next one is owed (kept by the writes), the sweep that queues those due, and
the sending (the `send_reminder` task).

The rules are recovery.reminder_rules' (also `manage.py sweep --help`): during the diary,
once the patient's own clock passes their reminder time, a patient with reminders on who
hasn't checked in today gets one reminder that day. A patient who has missed two days
(course.missed_check_in, the dashboard's rule) gets a gentle nudge instead, once per missed
stretch. Nothing is sent after the diary ends or when the patient has turned reminders off.

After the diary, the long-term watch (recovery.long_term) is reminded of the same way: on a
check-in's due date one reminder, a week later one nudge if still unanswered, sharing the
one-a-day limit with the diary (LongTermWatch.next_reminder_at, claimed as a treatment's).
Its email carries a fresh single-use sign-in link, valid until the nudge.

Every message is the same few words: no name, no symptoms, no status.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from recovery import (
    audit,
    course,
    emails,
    locks,
    login_links,
    long_term,
    push,
    reminder_rules,
    triage,
)
from recovery.models import (
    AuditAction,
    AuditEvent,
    LongTermWatch,
    Patient,
    PushSubscription,
    ReminderSettings,
    Treatment,
    User,
)
from recovery.reminder_rules import Kind

DEFAULT_TIME = reminder_rules.DEFAULT_TIME
CHECK_IN_PATH = "/check-in/"
# The patient's long-term check-in page (the URL name `long_term`, when it is there).
LONG_TERM_PATH = "/long-term/"  # urls: late_check
# How long the sign-in link in a long-term reminder email lasts: until the nudge.
LONG_TERM_LINK_VALID = dt.timedelta(days=course.LONG_TERM_NUDGE_DAYS)


SENT_ACTIONS = {
    Kind.REMINDER: AuditEvent.Action.REMINDER_SENT,
    Kind.NUDGE: AuditEvent.Action.NUDGE_SENT,
    Kind.LONG_TERM: AuditEvent.Action.LONG_TERM_REMINDER_SENT,
    Kind.LONG_TERM_NUDGE: AuditEvent.Action.LONG_TERM_NUDGE_SENT,
}

# What the phone shows; the same for every patient, and nothing about their health.
MESSAGES: dict[Kind, dict[str, str]] = {
    Kind.REMINDER: {"title": "Aftercare", "body": "Time for today's check-in"},
    Kind.NUDGE: {
        "title": "Aftercare",
        "body": "We haven't had a check-in from you for a couple of days. It takes a minute.",
    },
    Kind.LONG_TERM: {"title": "Aftercare", "body": "Time for your Aftercare check-in"},
    Kind.LONG_TERM_NUDGE: {
        "title": "Aftercare",
        "body": "Your Aftercare check-in is still waiting. It takes a minute.",
    },
}


def payload(kind: Kind) -> dict[str, str]:
    path = LONG_TERM_PATH if kind in reminder_rules.LONG_TERM_KINDS else CHECK_IN_PATH
    return {**MESSAGES[kind], "url": path}


def settings_for(patient: Patient) -> ReminderSettings:
    """The patient's settings; unsaved defaults when they never changed them."""
    try:
        return ReminderSettings.objects.get(patient=patient)
    except ReminderSettings.DoesNotExist:
        return ReminderSettings(patient=patient)


# Changes by the patient ---------------------------------------------------------------


def update_settings(
    *,
    patient: Patient,
    reminder_time: dt.time,
    reminders_on: bool,
    actor: User | None,
    ip_address: str | None,
) -> ReminderSettings:
    reminder_time = reminder_time.replace(second=0, microsecond=0)
    with transaction.atomic():
        # The patient's treatments first (docs/concurrency.md): each keeps its next reminder,
        # then their long-term watch, then the settings.
        locks.patient_treatments_for_update(patient.pk)
        watch = locks.watch_for_update(patient)
        row, created = ReminderSettings.objects.select_for_update().get_or_create(
            patient=patient,
            defaults={"reminder_time": reminder_time, "reminders_on": reminders_on},
        )
        if not created:
            row.reminder_time, row.reminders_on = reminder_time, reminders_on
            row.save(update_fields=["reminder_time", "reminders_on", "updated_at"])
        reschedule_locked(patient.pk, reminder=row)
        if watch is not None:
            long_term.reschedule_watch_locked(watch, reminder=row)
        audit.record_event(
            patient,
            AuditAction.REMINDERS_CHANGED,
            f"{row.reminder_time:%H:%M} {'on' if reminders_on else 'off'}",
            actor=actor,
            ip_address=ip_address,
        )
    return row


# Each treatment's next reminder ---------------------------------------------------------
#
# `Treatment.next_reminder_at` is when the sweep next looks at a treatment: the time
# reminder_rules.next_reminder_at gives from the rows (the patient's settings, their
# treatments' dates, each one's latest check-in), whatever the clock of the write. The
# writes that change those keep it: a check-in (follow_check_in), the settings
# (update_settings), a treatment recorded (enrollment.add_treatment) or corrected (the
# admin: reschedule), and the sweep, after it looks. Never later than the next one owed:
# a check-in does not read the patient's other treatments, so one whose diary a later
# treatment has taken over may be looked at once more, and is then cleared.

# What reminders read of a patient's treatments, besides each row.
SCHEDULED_WITH = ("product", "latest_check_in", "patient__reminder_settings")


def preferences_of(reminder: ReminderSettings, *, time_zone: str) -> reminder_rules.Preferences:
    return reminder_rules.Preferences(
        time_zone=time_zone,
        reminder_time=reminder.reminder_time,
        reminders_on=reminder.reminders_on,
        last_reminded_on=reminder.last_reminded_on,
        nudged_stretch_from=reminder.nudged_stretch_from,
    )


def diary_of(
    treatment: Treatment, *, latest: dt.date | None, until: dt.date | None = None
) -> reminder_rules.Diary:
    """Needs treatment.product loaded."""
    return reminder_rules.Diary(
        treated_on=treatment.treated_on,
        values=treatment.product.course,
        latest=latest,
        until=until,
    )


def _loaded_settings(patient: Patient) -> ReminderSettings:
    """The settings loaded with the patient (select_related), or the defaults."""
    try:
        return patient.reminder_settings
    except ReminderSettings.DoesNotExist:
        return ReminderSettings(patient=patient)


def _latest_on(treatment: Treatment) -> dt.date | None:
    latest = treatment.latest_check_in
    return latest.local_date if latest is not None else None


def schedule(treatments: Sequence[Treatment], *, reminder: ReminderSettings) -> list[Treatment]:
    """Set next_reminder_at on every treatment of one patient (loaded with SCHEDULED_WITH);
    the ones whose time changed, unsaved."""
    untils = reminder_rules.diaries_until((t.pk, t.treated_on) for t in treatments)
    changed = []
    for treatment in treatments:
        at = reminder_rules.next_reminder_at(
            diary=diary_of(treatment, latest=_latest_on(treatment), until=untils[treatment.pk]),
            patient=preferences_of(reminder, time_zone=treatment.patient.time_zone),
        )
        if at != treatment.next_reminder_at:
            treatment.next_reminder_at = at
            changed.append(treatment)
    return changed


def reschedule_locked(patient_id: int, *, reminder: ReminderSettings | None = None) -> None:
    """Recompute and save the next reminder of each of the patient's treatments, read here.

    The caller holds their locks (those it knew of), in this transaction; `reminder`: the
    patient's settings when the caller has just written them."""
    treatments = list(
        Treatment.objects.filter(patient_id=patient_id).select_related(*SCHEDULED_WITH)
    )
    if not treatments:
        return
    if reminder is None:
        reminder = _loaded_settings(treatments[0].patient)
    changed = schedule(treatments, reminder=reminder)
    if changed:
        Treatment.objects.bulk_update(changed, ["next_reminder_at"])


def reschedule(*, patient: Patient) -> None:
    """After a correction that moves the patient's reminders (the admin: a treatment's date
    or product changed, one deleted, the patient's time zone)."""
    with transaction.atomic():
        locks.patient_treatments_for_update(patient.pk)
        watch = locks.watch_for_update(patient)
        reschedule_locked(patient.pk)
        if watch is not None:
            long_term.reschedule_watch_locked(watch, reminder=long_term.reminder_settings_of(watch))


def follow_check_in(treatment: Treatment, *, local_date: dt.date) -> None:
    """Set (not save) the next reminder of a treatment just checked in for `local_date`:
    no reminder is owed for a day checked in, and the missed stretch is over.

    `treatment` is locked and loaded as locks.treatment_for_update loads it; its latest
    check-in is the one of the latest day before this one. The patient's other treatments
    are not read (see above).
    """
    latest = _latest_on(treatment)
    treatment.next_reminder_at = reminder_rules.next_reminder_at(
        diary=diary_of(treatment, latest=local_date if latest is None else max(latest, local_date)),
        patient=preferences_of(
            _loaded_settings(treatment.patient), time_zone=treatment.patient.time_zone
        ),
    )


def save_subscription(
    *, patient: Patient, data: push.SubscriptionData, actor: User | None, ip_address: str | None
) -> PushSubscription:
    """Store this phone's subscription for `patient` (a phone belongs to its latest user)."""
    with transaction.atomic():
        row, _ = PushSubscription.objects.update_or_create(
            endpoint=data.endpoint,
            defaults={"patient": patient, "p256dh": data.p256dh, "auth": data.auth, "failures": 0},
        )
        audit.record_event(
            patient, AuditAction.PUSH_SUBSCRIBED, row.pk, actor=actor, ip_address=ip_address
        )
    return row


def delete_subscription(
    *, patient: Patient, endpoint: str, actor: User | None, ip_address: str | None
) -> bool:
    with transaction.atomic():
        rows = list(PushSubscription.objects.filter(patient=patient, endpoint=endpoint))
        for row in rows:
            audit.record_event(
                patient, AuditAction.PUSH_UNSUBSCRIBED, row.pk, actor=actor, ip_address=ip_address
            )
            row.delete()
    return bool(rows)


# The sweep ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    reminders: int
    nudges: int
    triage_moved: int
    long_term_reminders: int = 0
    long_term_nudges: int = 0
    watches_moved: int = 0

    def summary(self) -> str:
        return (
            f"Queued {self.reminders} reminder(s) and {self.nudges} missed-check-in nudge(s); "
            f"moved {self.triage_moved} treatment(s) on the dashboard. "
            f"Queued {self.long_term_reminders} long-term reminder(s) and "
            f"{self.long_term_nudges} long-term nudge(s); "
            f"looked again at {self.watches_moved} long-term watch(es)."
        )


def _claim(pk: int, *, seen: dt.datetime, now: dt.datetime) -> tuple[int, Kind] | None:
    """Take the treatment's reminder due at `seen`, unless someone else has: decide what is
    owed from its rows as they are once it is claimed, mark the patient's day, and move
    its time on. The patient's id and what to send, or None."""
    with transaction.atomic():
        # Whoever moves the time first has it: a second sweep finds it moved, as does one
        # that waited for a check-in or a change of settings (they move it too).
        if not Treatment.objects.filter(pk=pk, next_reminder_at=seen).update(next_reminder_at=None):
            return None
        treatments = list(
            Treatment.objects.filter(patient__treatments=pk).select_related(*SCHEDULED_WITH)
        )
        treatment = next(t for t in treatments if t.pk == pk)
        reminder = _loaded_settings(treatment.patient)
        time_zone = treatment.patient.time_zone
        untils = reminder_rules.diaries_until((t.pk, t.treated_on) for t in treatments)
        diary = diary_of(treatment, latest=_latest_on(treatment), until=untils[pk])
        kind = reminder_rules.due(
            diary=diary, patient=preferences_of(reminder, time_zone=time_zone), now=now
        )
        if kind is not None:
            # The patient's own date (not the server's): at most one a day.
            reminder.last_reminded_on = now.astimezone(zoneinfo.ZoneInfo(time_zone)).date()
            if kind is Kind.NUDGE:
                reminder.nudged_stretch_from = course.missed_from(
                    treated_on=diary.treated_on, latest=diary.latest
                )
            if reminder.pk is None:
                reminder.save()
            else:
                reminder.save(
                    update_fields=["last_reminded_on", "nudged_stretch_from", "updated_at"]
                )
        following = reminder_rules.next_reminder_at(
            diary=diary, patient=preferences_of(reminder, time_zone=time_zone), now=now
        )
        Treatment.objects.filter(pk=pk).update(next_reminder_at=following)
    return None if kind is None else (treatment.patient_id, kind)


def _claim_watch(pk: int, *, seen: dt.datetime, now: dt.datetime) -> tuple[int, Kind] | None:
    """As _claim, for a long-term watch: the watch's row (the claim), then the patient's
    settings; marks the due date reminded or nudged, and the patient's day."""
    with transaction.atomic():
        claimed = LongTermWatch.objects.filter(pk=pk, next_reminder_at=seen)
        if not claimed.update(next_reminder_at=None):
            return None
        watch = LongTermWatch.objects.select_related(*locks.WATCH_LOCKED_WITH).get(pk=pk)
        reminder = long_term.reminder_settings_of(watch)
        rule_watch, patient = long_term.reminder_state(watch, reminder=reminder)
        kind = reminder_rules.long_term_due(watch=rule_watch, patient=patient, now=now)
        fields = ["next_reminder_at"]
        if kind is not None:
            zone = zoneinfo.ZoneInfo(watch.patient.time_zone)
            reminder.last_reminded_on = now.astimezone(zone).date()
            if reminder.pk is None:
                reminder.save()
            else:
                reminder.save(update_fields=["last_reminded_on", "updated_at"])
            if kind is Kind.LONG_TERM_NUDGE:
                watch.nudged_for = watch.due_on
                fields.append("nudged_for")
            else:
                watch.reminded_for = watch.due_on
                fields.append("reminded_for")
        long_term.schedule_reminder(watch, reminder=reminder, now=now)
        watch.save(update_fields=fields)
    return None if kind is None else (watch.patient_id, kind)


def sweep(*, now: dt.datetime) -> SweepResult:
    """Refresh the dashboard's triage and the long-term watches' standings
    (long_term.sweep_watches), then queue the reminders and nudges due at `now`, the
    diary's and the long-term watches'.

    Reads only the treatments whose next reminder time has come (an index range: the cost
    follows how many are due, not how many patients are in their diary), and claims each
    with a conditional update, so that sweeps running at once send each reminder once.
    """
    moved = triage.sweep_triage(now=now)
    # The watches time has moved first (a due date come): they then wait for a reminder.
    watches_moved = long_term.sweep_watches(now=now)
    counts = dict.fromkeys(Kind, 0)
    for model, claim in ((Treatment, _claim), (LongTermWatch, _claim_watch)):
        due = list(
            model.objects.filter(next_reminder_at__lte=now)
            .order_by("next_reminder_at", "pk")
            .values_list("pk", "next_reminder_at")
        )
        for pk, seen in due:
            assert seen is not None
            claimed = claim(pk, seen=seen, now=now)
            if claimed is not None:
                patient_id, kind = claimed
                send_reminder.enqueue(patient_id, kind.value)
                counts[kind] += 1
    return SweepResult(
        reminders=counts[Kind.REMINDER],
        nudges=counts[Kind.NUDGE],
        triage_moved=moved,
        long_term_reminders=counts[Kind.LONG_TERM],
        long_term_nudges=counts[Kind.LONG_TERM_NUDGE],
        watches_moved=watches_moved,
    )


# Sending --------------------------------------------------------------------------------


def _email(patient: Patient, kind: Kind) -> None:
    """The same words as the push (MESSAGES), from templates/emails/reminder-*."""
    context: dict[str, object] = {
        "site_name": settings.SITE_NAME,
        "nudge": kind is Kind.NUDGE,
        "url": settings.SITE_URL + CHECK_IN_PATH,
        "settings_url": settings.SITE_URL + reverse("reminders"),
    }
    emails.send_templated_email("reminder", context, to=[patient.email])


def _long_term_email(patient: Patient, kind: Kind, *, at: dt.datetime) -> None:
    """From templates/emails/long-term-*: the push's words, and a fresh single-use link
    that signs the patient in (months on, their session has usually lapsed), lasting
    until the nudge."""
    link = login_links.issue_login_link(patient=patient, at=at, valid_for=LONG_TERM_LINK_VALID)
    context: dict[str, object] = {
        "site_name": settings.SITE_NAME,
        "nudge": kind is Kind.LONG_TERM_NUDGE,
        "words": MESSAGES[kind]["body"],
        "url": link,
        "days": LONG_TERM_LINK_VALID.days,
        "settings_url": settings.SITE_URL + reverse("reminders"),
    }
    emails.send_templated_email("long-term", context, to=[patient.email])


def deliver(*, patient_id: int, kind: Kind, at: dt.datetime | None = None) -> str:
    """Send one reminder or nudge: Web Push to the patient's phones, else email.

    Returns the channel used: "push", "email" or "none".
    """
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        return "none"
    sent = False
    if push.enabled():
        for subscription in list(patient.push_subscriptions.all()):
            if push.send(subscription, payload(kind)) is push.Outcome.SENT:
                sent = True
    channel = "push" if sent else "email" if patient.email else "none"
    if channel == "email" and kind in reminder_rules.LONG_TERM_KINDS:
        _long_term_email(patient, kind, at=timezone.now() if at is None else at)
    elif channel == "email":
        _email(patient, kind)
    audit.record_event(patient, SENT_ACTIONS[kind], channel, actor=None, ip_address=None)
    return channel


@task()
def send_reminder(patient_id: int, kind: str) -> str:
    """The sweep's queued sending (`manage.py db_worker`): one reminder or nudge to a
    patient; returns the channel used."""
    return deliver(patient_id=patient_id, kind=Kind(kind))
