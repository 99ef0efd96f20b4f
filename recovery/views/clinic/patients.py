"""One patient, as the clinic sees them: the timeline, and a check-in taken by phone."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods

from recovery import access, audit, checkins, course, timeline
from recovery.forms import CheckInForm, resolve_form_for
from recovery.guidance import SYMPTOM_LABELS, clinic_reason_words
from recovery.models import AuditEvent, Clinician, Patient, Treatment, tel_uri
from recovery.views.patient import parse_date
from recovery.views.types import HtmxHttpRequest


@require_http_methods(["GET"])
def patient(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Everything about one patient of the clinic, the open alert first."""
    clinician = access.clinician_for_request(request)
    patient = access.patient_for_clinician(clinician, public_id)
    today = patient.today()
    zone = ZoneInfo(clinician.clinic.time_zone)
    page = timeline.timeline_of(patient, today=today, now=timezone.now(), clinic_zone=zone)
    context = {
        "clinician": clinician,
        "clinic_time_zone": clinician.clinic.time_zone,
        "patient": patient,
        "today": today,
        "age": page.age,
        "mobile_uri": tel_uri(patient.mobile),
        "treatments": page.treatments,
        "open_alerts": [(p, resolve_form_for(p.alert)) for p in page.open_alerts],
        "alert_history": page.alerts,
        "several_treatments": len(page.treatments) > 1,
        "symptoms": [SYMPTOM_LABELS[s] for s in course.SYMPTOMS],
        "diary": page.diary,
    }
    audit.record(
        request,
        patient=patient,
        action=AuditEvent.Action.PATIENT_VIEWED,
        object_id=patient.public_id,
    )
    return render(request, "recovery/clinic/patient.html", context)


def _refused(
    request: HtmxHttpRequest, clinician: Clinician, patient: Patient, message: str
) -> HttpResponse:
    return render(
        request,
        "recovery/clinic/check_in.html",
        {"clinician": clinician, "patient": patient, "refusal": message},
        status=400,
    )


@require_http_methods(["GET", "POST"])
def check_in_for_patient(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """A check-in the clinic records for the patient from a phone call.

    The same form, days and refusals as the patient's own; the row's
    `entered_by` (the clinician) is what marks it as taken by the clinic. It
    opens or raises alerts like any other check-in.
    """
    clinician = access.clinician_for_request(request)
    patient = access.patient_for_clinician(clinician, public_id)
    today = patient.today()
    treatment = access.current_treatment(patient, today=today)
    if treatment is None:
        return _refused(
            request, clinician, patient, "No treatment is recorded for this patient yet."
        )

    if request.method == "POST":
        form = CheckInForm(request.POST)
        if form.is_valid():
            try:
                recorded = form.record(
                    treatment=treatment,
                    entered_by=clinician.user,
                    today=today,
                    at=timezone.now(),
                    ip_address=audit.client_ip(request),
                    check_version=True,
                )
            except checkins.CheckInChanged as error:
                return _changed(request, clinician, patient, treatment, form, error, today=today)
            except checkins.CheckInRefused as error:
                return _refused(request, clinician, patient, str(error))
            saved_on = date_format(recorded.check_in.local_date, "l j F")
            messages.success(request, f"The check-in for {saved_on} is saved.")
            return redirect("clinic:patient", public_id=patient.public_id)
        local_date = form.cleaned_data.get("date") or today
        status = 422
    else:
        parsed = parse_date(request.GET.get("date"), today)
        if parsed is None:
            return _refused(request, clinician, patient, "That is not a date.")
        local_date = parsed
        try:
            existing = checkins.day_to_fill(treatment=treatment, local_date=local_date, today=today)
        except checkins.CheckInRefused as error:
            return _refused(request, clinician, patient, str(error))
        if existing is not None:
            audit.record(
                request,
                patient=patient,
                action=AuditEvent.Action.CHECK_IN_VIEWED,
                object_id=existing.public_id,
            )
        form = CheckInForm.for_day(local_date=local_date, existing=existing)
        status = 200

    return _check_in_page(
        request,
        clinician,
        patient,
        treatment,
        form,
        local_date=local_date,
        today=today,
        status=status,
    )


def _changed(
    request: HtmxHttpRequest,
    clinician: Clinician,
    patient: Patient,
    treatment: Treatment,
    form: CheckInForm,
    error: checkins.CheckInChanged,
    *,
    today: dt.date,
) -> HttpResponse:
    """The day's check-in changed after the clinician opened the form: nothing saved (409);
    what it says now, and the clinician's answers kept, to save again against it."""
    current = error.current
    data = request.POST.copy()
    data["version"] = str(current.version if current is not None else 0)
    data["idempotency_key"] = str(uuid.uuid4())
    if current is not None:
        audit.record(
            request,
            patient=patient,
            action=AuditEvent.Action.CHECK_IN_VIEWED,
            object_id=current.public_id,
        )
    extra: dict[str, object] = {"changed": str(error), "current": current}
    if current is not None:
        extra.update(
            current_status=timeline.status_words(current.status),
            current_reasons=[clinic_reason_words(r) for r in current.reasons],
            current_saved=timeline.time_text(
                current.updated_at, ZoneInfo(clinician.clinic.time_zone)
            ),
        )
    return _check_in_page(
        request,
        clinician,
        patient,
        treatment,
        CheckInForm(data),
        local_date=form.cleaned_data["date"],
        today=today,
        status=409,
        **extra,
    )


def _check_in_page(
    request: HtmxHttpRequest,
    clinician: Clinician,
    patient: Patient,
    treatment: Treatment,
    form: CheckInForm,
    *,
    local_date: dt.date,
    today: dt.date,
    status: int,
    **extra: object,
) -> HttpResponse:
    return render(
        request,
        "recovery/clinic/check_in.html",
        {
            **extra,
            "clinician": clinician,
            "patient": patient,
            "treatment": treatment,
            "form": form,
            "local_date": local_date,
            "day": treatment.day_on(local_date),
            "is_today": local_date == today,
            "other_dates": [
                d for d in checkins.open_dates(treatment=treatment, today=today) if d != local_date
            ],
            "today": today,
            "rating_rows": form.rating_questions(),
            "red_flag_rows": form.red_flag_questions(),
        },
        status=status,
    )
