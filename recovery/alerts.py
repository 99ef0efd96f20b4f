"""Alerts: a check-in at contact_clinic or urgent needs a clinician.

A check-in at either level opens an alert on its treatment, or raises the
open one to the higher level; later check-ins never lower or close it. It
stays open until a clinician resolves it with an outcome and a note.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from recovery import audit, course, emails, locks, triage
from recovery.guidance import clinic_reason_words
from recovery.models import (
    Alert,
    AuditAction,
    AuditEvent,
    CheckIn,
    LateCheck,
    Patient,
    Treatment,
    User,
    WarningSignReport,
    tel_uri,
)

ALERT_LEVELS = (course.Status.CONTACT_CLINIC, course.Status.URGENT)


class AlertRefused(Exception):
    """The alert cannot be changed that way; the message says why."""


def _merged(reasons: list[str], more: list[str]) -> list[str]:
    return reasons + [r for r in more if r not in reasons]


def open_or_raise_alert(*, check_in: CheckIn, at: dt.datetime) -> Alert | None:
    """Call inside the transaction that saved `check_in`, its treatment locked
    (locks.treatment_for_update); the caller then keeps the treatment's row current
    (triage.keep_current)."""
    status = check_in.course_status
    if status not in ALERT_LEVELS:
        return None
    return _open_or_raise(
        treatment=check_in.treatment,
        status=status,
        reasons=list(check_in.reasons),
        at=at,
        check_in=check_in,
    )


def _open_or_raise(
    *,
    treatment: Treatment,
    status: course.Status,
    reasons: list[str],
    at: dt.datetime,
    check_in: CheckIn | None = None,
    report: WarningSignReport | None = None,
    late_check: LateCheck | None = None,
) -> Alert:
    alert = (
        Alert.objects.select_for_update()
        .filter(treatment=treatment, resolved_at__isnull=True)
        .first()
    )
    if alert is None:
        alert = Alert.objects.create(
            treatment=treatment,
            level=status.value,
            reasons=reasons,
            check_in=check_in,
            report=report,
            late_check=late_check,
            opened_at=at,
        )
        action, notify = AuditEvent.Action.ALERT_OPENED, True
    else:
        raised = course.Status(alert.level).rank < status.rank
        merged = _merged(alert.reasons, reasons)
        fields = []
        if merged != alert.reasons:
            alert.reasons = merged
            fields.append("reasons")
        if raised:
            alert.level, alert.raised_at = status.value, at
            alert.check_in, alert.report, alert.late_check = check_in, report, late_check
            fields += ["level", "raised_at", "check_in", "report", "late_check"]
        action, notify = None, raised
        if fields:
            # What the clinician was shown is no longer what the alert says.
            alert.version += 1
            alert.save(update_fields=[*fields, "version"])
            action = (
                AuditEvent.Action.ALERT_RAISED if raised else AuditEvent.Action.ALERT_REASONS_ADDED
            )
    if action:
        audit.record_event(treatment.patient, action, alert.public_id, actor=None, ip_address=None)
    if notify:
        transaction.on_commit(lambda: email_clinic(alert=alert))
    return alert


def open_for_late_lump(*, treatment: Treatment, late_check: LateCheck, at: dt.datetime) -> Alert:
    """A long-term check-in said yes to a new lump: contact_clinic, reason late_lump
    (course.LATE_LUMP), on `treatment`, locked in this transaction; the caller then keeps
    its row current (triage.keep_current)."""
    return _open_or_raise(
        treatment=treatment,
        status=course.Status.CONTACT_CLINIC,
        reasons=[course.LATE_LUMP],
        at=at,
        late_check=late_check,
    )


def assess_warning_signs(
    *, treatment: Treatment, local_date: dt.date, red_flags: frozenset[str]
) -> course.Assessment:
    """What the course makes of warning signs sent without ratings (rule 1: urgent)."""
    return course.assess(
        day=treatment.day_on(local_date),
        answers=course.Answers(ratings={}, red_flags=red_flags),
        previous=None,
        course=treatment.product.course,
    )


def open_or_raise_for_report(report: WarningSignReport, *, at: dt.datetime) -> Alert | None:
    """Warning signs kept without a check-in (checkins.record_check_in) open or raise the
    alert; the course decides the level (a red flag is urgent), as for a check-in. With the
    treatment locked; the caller then keeps its row current (triage.keep_current)."""
    treatment = report.treatment
    assessment = assess_warning_signs(
        treatment=treatment, local_date=report.local_date, red_flags=frozenset(report.red_flags)
    )
    if assessment.status not in ALERT_LEVELS:
        return None
    return _open_or_raise(
        treatment=treatment,
        status=assessment.status,
        reasons=list(assessment.reasons),
        at=at,
        report=report,
    )


def email_clinic(*, alert: Alert) -> None:
    """Tell the clinic's alert address; no health details, no name: only a link."""
    clinic = alert.treatment.clinic
    if not clinic.alert_email:
        return
    context = {
        "clinic": clinic,
        "urgent": alert.level == course.Status.URGENT,
        "url": settings.SITE_URL
        + reverse("clinic:patient", kwargs={"public_id": alert.treatment.patient.public_id}),
        "site_name": settings.SITE_NAME,
    }
    emails.send_templated_email("alert", context, to=[clinic.alert_email])


class AlertChanged(AlertRefused):
    """The alert changed after the clinician's page showed it: they must read it again."""

    def __init__(self, alert: Alert) -> None:
        self.alert = alert
        super().__init__(
            "This alert has changed since your page showed it "
            f"(it is now {alert.get_level_display().lower()}). "
            "Read it again below before you act on it; nothing was changed."
        )


def _locked_as_seen(
    alert: Alert, *, seen_version: int, unless_acknowledged: bool = False
) -> tuple[Treatment, Alert]:
    """The alert's treatment and the alert, locked in that order (docs/concurrency.md),
    the alert as committed now; refused if it is resolved (or, `unless_acknowledged`,
    acknowledged), AlertChanged if it is no longer the version the clinician's page showed."""
    treatment = locks.treatment_for_update(alert.treatment_id)
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    alert.treatment = treatment
    if alert.resolved_at is not None:
        raise AlertRefused("This alert is already resolved.")
    if unless_acknowledged and alert.acknowledged_at is not None:
        raise AlertRefused("This alert is already acknowledged.")
    if alert.version != seen_version:
        raise AlertChanged(alert)
    return treatment, alert


def _save_by_clinician(
    alert: Alert, fields: list[str], *, action: AuditAction, by: User, ip_address: str | None
) -> None:
    """Save what the clinician changed as the alert's next version (a page showing this one
    is now stale), and audit it."""
    alert.version += 1
    alert.save(update_fields=[*fields, "version"])
    audit.record_event(
        alert.treatment.patient, action, alert.public_id, actor=by, ip_address=ip_address
    )


def acknowledge_alert(
    *, alert: Alert, seen_version: int, by: User, at: dt.datetime, ip_address: str | None
) -> Alert:
    """A clinician says "I'm calling them", about the alert as their page showed it."""
    with transaction.atomic():
        _, alert = _locked_as_seen(alert, seen_version=seen_version, unless_acknowledged=True)
        alert.acknowledged_at, alert.acknowledged_by = at, by
        _save_by_clinician(
            alert,
            ["acknowledged_at", "acknowledged_by"],
            action=AuditAction.ALERT_ACKNOWLEDGED,
            by=by,
            ip_address=ip_address,
        )
    return alert


def resolve_alert(
    *,
    alert: Alert,
    seen_version: int,
    by: User,
    outcome: Alert.Outcome,
    note: str,
    at: dt.datetime,
    ip_address: str | None,
) -> Alert:
    """Close the alert, as the clinician's page showed it, with what came of it; the
    treatment goes back to its place by check-ins.

    AlertChanged if the alert has been raised, given a new reason or acknowledged since
    that page showed version `seen_version`: nothing is resolved that was not shown.
    """
    if outcome not in Alert.Outcome.values:
        raise AlertRefused(f"Unknown outcome: {outcome!r}.")
    if not note.strip():
        raise AlertRefused("Say what was done in a note.")
    with transaction.atomic():
        # A check-in arriving meanwhile waits for the treatment's lock, then opens a new
        # alert; one that came first has raised this one, and the version says so.
        treatment, alert = _locked_as_seen(alert, seen_version=seen_version)
        alert.resolved_at, alert.resolved_by = at, by
        alert.outcome, alert.outcome_note = outcome, note.strip()
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = at, by
        _save_by_clinician(
            alert,
            [
                "resolved_at",
                "resolved_by",
                "outcome",
                "outcome_note",
                "acknowledged_at",
                "acknowledged_by",
            ],
            action=AuditAction.ALERT_RESOLVED,
            by=by,
            ip_address=ip_address,
        )
        # An earlier treatment stayed on the dashboard only for this alert.
        superseded = Treatment.objects.filter(
            patient_id=treatment.patient_id, pk__gt=treatment.pk
        ).exists()
        leaves_dashboard = superseded and not treatment.superseded
        if leaves_dashboard:
            treatment.superseded = True
            treatment.save(update_fields=["superseded"])
        triage.keep_current(treatment, now=at)  # recounts if its level moved
        if leaves_dashboard:
            triage.recount(treatment.clinic_id)
    return alert


# How the clinic's pages show an alert ----------------------------------------------------


@dataclass(frozen=True)
class AlertPanel:
    """An alert as the clinic's pages show it."""

    alert: Alert
    reasons: tuple[str, ...]
    dom_id: str
    # How to reach the patient, first thing in the panel.
    patient: Patient
    mobile_uri: str
    # The patient's own words with the check-in (or warning signs) that opened or raised it.
    note: str

    @classmethod
    def of(cls, alert: Alert) -> AlertPanel:
        patient = alert.treatment.patient
        return cls(
            alert=alert,
            reasons=tuple(clinic_reason_words(r) for r in alert.reasons),
            dom_id=f"alert-{alert.public_id}",
            patient=patient,
            mobile_uri=tel_uri(patient.mobile) if patient.mobile else "",
            note=alert.patient_note,
        )
