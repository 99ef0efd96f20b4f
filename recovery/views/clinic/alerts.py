"""Alerts on the clinic's side: "I'm calling them", then resolving with an outcome.

Both act on one alert of the clinician's own clinic (another clinic's is a
404) and go back to the patient's page; the domain functions in
recovery/alerts.py write the audit rows.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from recovery import access, alerts, audit
from recovery.forms import resolve_form_for
from recovery.models import Alert, AuditAction, Clinician
from recovery.views.types import HtmxHttpRequest


def panel_context(clinician: Clinician, alert: Alert, **extra: object) -> dict[str, object]:
    return {
        "clinician": clinician,
        "clinic_time_zone": clinician.clinic.time_zone,
        "panel": alerts.AlertPanel.of(alert),
        "resolve_form": resolve_form_for(alert),
        **extra,
    }


def _wants_panel(request: HtmxHttpRequest, alert: Alert) -> bool:
    """An htmx request aimed at this alert's panel (not a boosted page load)."""
    return bool(request.htmx) and request.htmx.target == f"alert-{alert.public_id}"


def _panel(
    request: HtmxHttpRequest, clinician: Clinician, alert: Alert, *, message: str = "", status: int
) -> HttpResponse:
    """The alert's panel alone, at the heading level of the page it is swapped into."""
    heading_level = 2 if request.POST.get("heading_level") == "2" else 3
    return render(
        request,
        "recovery/clinic/patient.html#alert_panel",
        panel_context(clinician, alert, message=message, heading_level=heading_level),
        status=status,
    )


def _alert_page(
    request: HtmxHttpRequest,
    clinician: Clinician,
    alert: Alert,
    *,
    status: int = 200,
    **extra: object,
) -> HttpResponse:
    """The alert's own page: its panel as panel_context makes it, with `extra` (a `message`,
    the `resolve_form` as sent)."""
    context = panel_context(clinician, alert, patient=alert.treatment.patient, **extra)
    return render(request, "recovery/clinic/resolve_alert.html", context, status=status)


def _seen_version(request: HtmxHttpRequest) -> int | None:
    """The version of the alert that the clinician's page showed, as its form sent it."""
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        return None
    return version if version >= 1 else None


@require_http_methods(["POST"])
def acknowledge(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """ "I'm calling them": the clinician says they have the alert in hand.

    Acknowledging an alert that is already acknowledged or resolved is refused
    (400) with who did it and when, so two people don't call the same patient;
    one that has changed since the clinician's page showed it is refused (409)
    and shown as it is now.
    """
    clinician = access.clinician_for_request(request)
    alert = access.alert_for_clinician(clinician, public_id)
    seen_version = _seen_version(request)
    try:
        if seen_version is None:
            raise alerts.AlertRefused("This page is out of date: read the alert again below.")
        alert = alerts.acknowledge_alert(
            alert=alert,
            seen_version=seen_version,
            by=clinician.user,
            at=timezone.now(),
            ip_address=audit.client_ip(request),
        )
    except alerts.AlertRefused as error:
        status = 409 if isinstance(error, alerts.AlertChanged) else 400
        alert = access.alert_for_clinician(clinician, public_id)
        audit.record(request, alert.treatment.patient, AuditAction.ALERT_VIEWED, alert.public_id)
        if _wants_panel(request, alert):
            return _panel(request, clinician, alert, message=str(error), status=status)
        return _alert_page(request, clinician, alert, message=str(error), status=status)
    if _wants_panel(request, alert):
        return _panel(request, clinician, alert, status=200)
    return redirect("clinic:patient", public_id=alert.treatment.patient.public_id)


@require_http_methods(["GET", "POST"])
def resolve(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Close the alert with its outcome and a note; a resolved alert stays resolved (400).

    The form carries the version of the alert its page showed: if the alert has been
    raised, given a new reason or acknowledged since, nothing is resolved (409) and the
    alert is shown as it is now, the clinician's outcome and note kept to send again.
    """
    clinician = access.clinician_for_request(request)
    alert = access.alert_for_clinician(clinician, public_id)
    patient = alert.treatment.patient
    if alert.resolved_at is not None:
        audit.record(request, patient, AuditAction.ALERT_VIEWED, alert.public_id)
        return _alert_page(
            request,
            clinician,
            alert,
            message="This alert is already resolved.",
            status=400 if request.method == "POST" else 200,
        )

    if request.method == "POST":
        form = resolve_form_for(alert, request.POST)
        if form.is_valid():
            try:
                alerts.resolve_alert(
                    alert=alert,
                    seen_version=form.cleaned_data["version"],
                    by=clinician.user,
                    outcome=Alert.Outcome(form.cleaned_data["outcome"]),
                    note=form.cleaned_data["note"],
                    at=timezone.now(),
                    ip_address=audit.client_ip(request),
                )
            except alerts.AlertRefused as error:
                alert = access.alert_for_clinician(clinician, public_id)
                audit.record(request, patient, AuditAction.ALERT_VIEWED, alert.public_id)
                changed = isinstance(error, alerts.AlertChanged) and alert.is_open
                return _alert_page(
                    request,
                    clinician,
                    alert,
                    resolve_form=resolve_form_for(alert, request.POST if changed else None),
                    message=str(error),
                    status=409 if changed else 400,
                )
            messages.success(request, "The alert is resolved.")
            return redirect("clinic:patient", public_id=patient.public_id)
        status = 422
    else:
        form = resolve_form_for(alert)
        status = 200
    audit.record(request, patient, AuditAction.ALERT_VIEWED, alert.public_id)
    return _alert_page(request, clinician, alert, resolve_form=form, status=status)
