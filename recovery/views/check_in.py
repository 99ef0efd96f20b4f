"""The daily check-in, one piece for both of its doors: the patient's own (/check-in/), and
the one the clinic records from a phone call (/clinic/patients/<id>/check-in/).

Both have the same form, days and refusals (checkins.py): a GET opens a day (?date=,
today by default) holding its answers if it has any, and that read is audited; a POST
records the answers through the form. What differs is who answers and what they are
shown, a `Side` each: the patient gets the result and the guidance for warning signs that
could not be saved; the clinic's form carries the version it was filled in against, and
a check-in the patient changed meanwhile is shown, not overwritten. The row's
`entered_by` is what marks a check-in as taken by the clinic.
"""

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

from recovery import access, alerts, audit, checkins, timeline
from recovery.forms import CheckInForm
from recovery.guidance import (
    RATING_WORDS,
    SCALE_KEY,
    STATUS_WORDS,
    Guidance,
    clinic_reason_words,
    guidance_for,
    offline_contact,
)
from recovery.models import AuditAction, Clinician, Patient, Treatment, User
from recovery.views.types import HtmxHttpRequest


class Side:
    """Who is checking in for which patient, on which treatment's diary. Each side shows its
    own pages: `page` (the form), `saved`, `refused` (the day cannot be filled in) and
    `not_saved` (the answers were refused when sent)."""

    entered_by: User
    check_version = False  # refuse a form filled in against an older check-in of the day

    def __init__(
        self, request: HtmxHttpRequest, patient: Patient, treatment: Treatment, today: dt.date
    ) -> None:
        self.request = request
        self.patient = patient
        self.treatment = treatment
        self.today = today  # the patient's date

    def answered_at(self, form: CheckInForm) -> dt.datetime | None:
        """When the answers were given, if not now."""
        return None


def _check_in(side: PatientSide | ClinicSide) -> HttpResponse:
    request, treatment, today = side.request, side.treatment, side.today
    if request.method == "POST":
        form = CheckInForm(request.POST)
        if not form.is_valid():
            return side.page(form, local_date=form.cleaned_data.get("date") or today, status=422)
        try:
            recorded = form.record(
                treatment=treatment,
                entered_by=side.entered_by,
                today=today,
                at=timezone.now(),
                ip_address=audit.client_ip(request),
                check_version=side.check_version,
                answered_at=side.answered_at(form),
            )
        except checkins.CheckInRefused as error:
            return side.not_saved(form, error)
        return side.saved(recorded)
    local_date = _parse_date(request.GET.get("date"), today)
    if local_date is None:
        return side.refused("That is not a date.")
    try:
        existing = checkins.day_to_fill(treatment=treatment, local_date=local_date, today=today)
    except checkins.CheckInRefused as error:
        return side.refused(str(error))
    if existing is not None:
        audit.record(request, side.patient, AuditAction.CHECK_IN_VIEWED, existing.public_id)
    form = CheckInForm.for_day(local_date=local_date, existing=existing)
    return side.page(form, local_date=local_date, status=200)


def _parse_date(raw: str | None, default: dt.date) -> dt.date | None:
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


# The patient's own ------------------------------------------------------------------------

SOMEONE_ELSES = (
    "This check-in was made on this phone by someone else who was signed in. "
    "It is kept on the phone and will be sent when they sign in again."
)


def _patient_refused(
    request: HtmxHttpRequest,
    patient: Patient,
    message: str,
    *,
    status: int = 400,
    guidance: Guidance | None = None,
) -> HttpResponse:
    context = {"message": message, "clinic": patient.clinic, "guidance": guidance}
    if guidance is not None:
        context["status_label"] = STATUS_WORDS[guidance.status].tag
    return render(request, "recovery/patient/refused.html", context, status=status)


class PatientSide(Side):
    def __init__(
        self, request: HtmxHttpRequest, patient: Patient, treatment: Treatment, today: dt.date
    ) -> None:
        super().__init__(request, patient, treatment, today)
        self.entered_by = patient.user

    def refused(self, message: str) -> HttpResponse:
        return _patient_refused(self.request, self.patient, message)

    def not_saved(self, form: CheckInForm, error: checkins.CheckInRefused) -> HttpResponse:
        """Not saved; warning signs it carried were told to the clinic all the same, and the
        patient is told what to do about them as after any check-in."""
        treatment, local_date = self.treatment, form.cleaned_data["date"]
        guidance = None
        if error.warning_signs:
            assessment = alerts.assess_warning_signs(
                treatment=treatment, local_date=local_date, red_flags=error.warning_signs
            )
            guidance = guidance_for(
                status=assessment.status,
                reasons=assessment.reasons,
                day=treatment.day_on(local_date),
                clinic_name=self.patient.clinic.name,
                values=treatment.product.course,
            )
        status = 409 if isinstance(error, checkins.SubmissionConflict) else 400
        return _patient_refused(
            self.request, self.patient, str(error), status=status, guidance=guidance
        )

    def saved(self, recorded: checkins.RecordedCheckIn) -> HttpResponse:
        return redirect("check_in_result", public_id=recorded.check_in.public_id)

    def answered_at(self, form: CheckInForm) -> dt.datetime | None:
        at: dt.datetime | None = form.cleaned_data["answered_at"]
        return at

    def page(self, form: CheckInForm, *, local_date: dt.date, status: int) -> HttpResponse:
        patient, treatment = self.patient, self.treatment
        day = treatment.day_on(local_date)
        return render(
            self.request,
            "recovery/patient/check_in.html",
            {
                "form": form,
                "patient": patient,
                "clinic": patient.clinic,
                "treatment": treatment,
                "local_date": local_date,
                "day": day,
                "is_today": local_date == self.today,
                "rating_rows": form.rating_questions(),
                "red_flag_rows": form.red_flag_signs(),
                "scale_key": SCALE_KEY,
                "scale_words": RATING_WORDS.values(),
                "red_flags_first": self.request.GET.get("first") == "red_flags",
                "offline_contact": offline_contact(
                    clinic=patient.clinic,
                    values=treatment.product.course,
                    day=day,
                    time_zone=patient.time_zone,
                ),
            },
            status=status,
        )


def _someone_elses(request: HtmxHttpRequest, patient: Patient) -> bool:
    """A check-in whose form says it is another patient's (for_patient): one kept on a
    shared phone while someone else was signed in. Asked before anything else about it,
    so that no other refusal (final, for the phone) can make the phone drop it."""
    try:
        owner = uuid.UUID(request.POST.get("for_patient", ""))
    except ValueError:
        return False  # none (the clinic's form, an older page), or not one: the form says
    return owner != patient.public_id


@require_http_methods(["GET", "POST"])
def by_patient(request: HtmxHttpRequest) -> HttpResponse:
    """The patient's check-in for today (or yesterday, if they missed it)."""
    patient = access.patient_for_request(request)
    if request.method == "POST" and _someone_elses(request, patient):
        # It stays on the phone (offline.js keeps it on a 403) until its patient signs in.
        return _patient_refused(request, patient, SOMEONE_ELSES, status=403)
    today = patient.today()
    treatment = access.current_treatment(patient, today=today)
    if treatment is None:
        message = "Your clinic hasn't recorded a treatment for you yet."
        return _patient_refused(request, patient, message)
    return _check_in(PatientSide(request, patient, treatment, today))


# The clinic's, from a phone call ----------------------------------------------------------


def _clinic_refused(
    request: HtmxHttpRequest, clinician: Clinician, patient: Patient, message: str
) -> HttpResponse:
    return render(
        request,
        "recovery/clinic/check_in.html",
        {"clinician": clinician, "patient": patient, "refusal": message},
        status=400,
    )


class ClinicSide(Side):
    check_version = True

    def __init__(
        self,
        request: HtmxHttpRequest,
        clinician: Clinician,
        patient: Patient,
        treatment: Treatment,
        today: dt.date,
    ) -> None:
        super().__init__(request, patient, treatment, today)
        self.clinician = clinician
        self.entered_by = clinician.user

    def refused(self, message: str) -> HttpResponse:
        return _clinic_refused(self.request, self.clinician, self.patient, message)

    def not_saved(self, form: CheckInForm, error: checkins.CheckInRefused) -> HttpResponse:
        if isinstance(error, checkins.CheckInChanged):
            return self._changed(form, error)
        return self.refused(str(error))

    def saved(self, recorded: checkins.RecordedCheckIn) -> HttpResponse:
        saved_on = date_format(recorded.check_in.local_date, "l j F")
        messages.success(self.request, f"The check-in for {saved_on} is saved.")
        return redirect("clinic:patient", public_id=self.patient.public_id)

    def _changed(self, form: CheckInForm, error: checkins.CheckInChanged) -> HttpResponse:
        """The day's check-in changed after the clinician opened the form: nothing saved
        (409); what it says now, and the clinician's answers kept, to save again against it."""
        current = error.current
        data = self.request.POST.copy()
        data["version"] = str(current.version if current is not None else 0)
        data["idempotency_key"] = str(uuid.uuid4())
        extra: dict[str, object] = {"changed": str(error), "current": current}
        if current is not None:
            audit.record(self.request, self.patient, AuditAction.CHECK_IN_VIEWED, current.public_id)
            extra.update(
                current_status=timeline.status_words(current.status),
                current_reasons=[clinic_reason_words(r) for r in current.reasons],
                current_saved=timeline.time_text(
                    current.updated_at, ZoneInfo(self.clinician.clinic.time_zone)
                ),
            )
        local_date = form.cleaned_data["date"]
        return self.page(CheckInForm(data), local_date=local_date, status=409, **extra)

    def page(
        self, form: CheckInForm, *, local_date: dt.date, status: int, **extra: object
    ) -> HttpResponse:
        treatment, today = self.treatment, self.today
        return render(
            self.request,
            "recovery/clinic/check_in.html",
            {
                **extra,
                "clinician": self.clinician,
                "patient": self.patient,
                "treatment": treatment,
                "form": form,
                "local_date": local_date,
                "day": treatment.day_on(local_date),
                "is_today": local_date == today,
                "other_dates": [
                    d
                    for d in checkins.open_dates(treatment=treatment, today=today)
                    if d != local_date
                ],
                "today": today,
                "rating_rows": form.rating_questions(),
                "red_flag_rows": form.red_flag_questions(),
            },
            status=status,
        )


@require_http_methods(["GET", "POST"])
def by_clinic(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """A check-in the clinic records for one of its patients from a phone call; it opens
    or raises alerts like any other check-in."""
    clinician = access.clinician_for_request(request)
    patient = access.patient_for_clinician(clinician, public_id)
    today = patient.today()
    treatment = access.current_treatment(patient, today=today)
    if treatment is None:
        message = "No treatment is recorded for this patient yet."
        return _clinic_refused(request, clinician, patient, message)
    return _check_in(ClinicSide(request, clinician, patient, treatment, today))
