"""Alerts: a check-in at contact_clinic or urgent needs a clinician.

A check-in at either level opens an alert on its treatment, or raises the
open one to the higher level; later check-ins never lower or close it. It
stays open until a clinician resolves it with an outcome and a note.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from recovery import audit, course, triage
from recovery.models import Alert, CheckIn, Treatment, User

ALERT_LEVELS = (course.Status.CONTACT_CLINIC, course.Status.URGENT)


class AlertRefused(Exception):
    """The alert cannot be changed that way; the message says why."""


def _merged(reasons: list[str], more: list[str]) -> list[str]:
    return reasons + [r for r in more if r not in reasons]


def open_or_raise_alert(*, check_in: CheckIn, at: dt.datetime) -> Alert | None:
    """Call inside the transaction that saved `check_in` (its treatment row locked)."""
    status = check_in.course_status
    if status not in ALERT_LEVELS:
        return None
    treatment = check_in.treatment
    alert = Alert.objects.filter(treatment=treatment, resolved_at__isnull=True).first()
    if alert is None:
        alert = Alert.objects.create(
            treatment=treatment,
            level=status.value,
            reasons=list(check_in.reasons),
            check_in=check_in,
            opened_at=at,
        )
        notify = True
    else:
        raised = course.Status(alert.level).rank < status.rank
        alert.reasons = _merged(alert.reasons, list(check_in.reasons))
        fields = ["reasons"]
        if raised:
            alert.level, alert.raised_at, alert.check_in = status.value, at, check_in
            fields += ["level", "raised_at", "check_in"]
        alert.save(update_fields=fields)
        notify = raised
    if treatment.open_alert_id != alert.pk:
        treatment.open_alert = alert
        treatment.save(update_fields=["open_alert"])
    if notify:
        transaction.on_commit(lambda: email_clinic(alert=alert))
    return alert


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
    message = EmailMultiAlternatives(
        subject=render_to_string("emails/alert-subject.txt", context).strip(),
        body=render_to_string("emails/alert-body.txt", context),
        to=[clinic.alert_email],
    )
    message.attach_alternative(render_to_string("emails/alert-body.html", context), "text/html")
    message.send()


def acknowledge_alert(*, alert: Alert, by: User, at: dt.datetime, ip_address: str | None) -> Alert:
    """A clinician says "I'm calling them"."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update().select_related("treatment__patient").get(pk=alert.pk)
        )
        if alert.resolved_at is not None:
            raise AlertRefused("This alert is already resolved.")
        if alert.acknowledged_at is not None:
            raise AlertRefused("This alert is already acknowledged.")
        alert.acknowledged_at, alert.acknowledged_by = at, by
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit.record_event(
            actor=by,
            patient=alert.treatment.patient,
            action="alert.acknowledged",
            object_id=alert.public_id,
            ip_address=ip_address,
        )
    return alert


def resolve_alert(
    *,
    alert: Alert,
    by: User,
    outcome: Alert.Outcome,
    note: str,
    at: dt.datetime,
    ip_address: str | None,
) -> Alert:
    """Close the alert with what came of it; the treatment goes back to its place by check-ins."""
    if outcome not in Alert.Outcome.values:
        raise AlertRefused(f"Unknown outcome: {outcome!r}.")
    if not note.strip():
        raise AlertRefused("Say what was done in a note.")
    with transaction.atomic():
        # The treatment first, as record_check_in locks it: a check-in arriving meanwhile
        # then waits and opens a new alert, instead of raising the one being resolved.
        treatment = (
            Treatment.objects.select_for_update(of=("self",))
            .select_related("product", "patient", "latest_check_in")
            .get(pk=alert.treatment_id)
        )
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.resolved_at is not None:
            raise AlertRefused("This alert is already resolved.")
        alert.resolved_at, alert.resolved_by = at, by
        alert.outcome, alert.outcome_note = outcome, note.strip()
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = at, by
        alert.save(
            update_fields=[
                "resolved_at",
                "resolved_by",
                "outcome",
                "outcome_note",
                "acknowledged_at",
                "acknowledged_by",
            ]
        )
        treatment.open_alert = None
        # An earlier treatment stayed on the dashboard only for this alert.
        treatment.superseded = Treatment.objects.filter(
            patient_id=treatment.patient_id, pk__gt=treatment.pk
        ).exists()
        treatment.save(update_fields=["open_alert", "superseded"])
        triage.refresh_triage(treatment, now=at)
        triage.recount(treatment.clinic_id)  # it may have left the dashboard
        audit.record_event(
            actor=by,
            patient=treatment.patient,
            action="alert.resolved",
            object_id=alert.public_id,
            ip_address=ip_address,
        )
    return alert
