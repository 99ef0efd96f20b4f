"""The patient's side: home, the daily check-in, its result, and My recovery."""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from recovery import access, alerts, audit, charts, checkins, course
from recovery.forms import CheckInForm
from recovery.guidance import (
    RATING_WORDS,
    RED_FLAG_SHORT,
    SCALE_KEY,
    SYMPTOM_LABELS,
    Guidance,
    guidance_for,
    offline_contact,
)
from recovery.models import AuditEvent, CheckIn, Patient, Treatment
from recovery.views.types import HtmxHttpRequest


def _guidance(check_in: CheckIn, patient: Patient) -> Guidance:
    return guidance_for(
        status=check_in.course_status,
        reasons=check_in.reasons,
        day=check_in.day,
        clinic_name=patient.clinic.name,
        values=check_in.treatment.product.course,
        symptoms_left=any(rating for _, rating in check_in.ratings()),
    )


def _diary_state(treatment: Treatment | None, today: dt.date) -> str:
    if treatment is None:
        return "none"
    if today < treatment.treated_on:
        return "upcoming"
    if today > treatment.diary_ends_on():
        return "finished"
    return "running"


@require_http_methods(["GET"])
def home(request: HtmxHttpRequest) -> HttpResponse:
    if hasattr(request.user, "clinician"):
        return redirect("clinic:dashboard")
    patient = access.patient_for_request(request)
    today = patient.today()
    treatment = access.current_treatment(patient, today=today)
    context: dict[str, object] = {
        "patient": patient,
        "clinic": patient.clinic,
        "today": today,
        "diary": _diary_state(treatment, today),
    }
    if treatment is not None:
        todays = checkins.check_in_on(treatment=treatment, local_date=today)
        context.update(
            treatment=treatment,
            day=treatment.day_on(today),
            diary_days=treatment.product.diary_days,
            todays_check_in=todays,
            guidance=_guidance(todays, patient) if todays else None,
            open_dates=checkins.open_dates(treatment=treatment, today=today),
            yesterday=today - dt.timedelta(days=1),
        )
    audit.record(request, patient=patient, action=AuditEvent.Action.HOME_VIEWED)
    return render(request, "recovery/patient/home.html", context)


def parse_date(raw: str | None, default: dt.date) -> dt.date | None:
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


SOMEONE_ELSES = (
    "This check-in was made on this phone by someone else who was signed in. "
    "It is kept on the phone and will be sent when they sign in again."
)


def _refused(
    request: HtmxHttpRequest,
    patient: Patient,
    message: str,
    *,
    status: int = 400,
    guidance: Guidance | None = None,
) -> HttpResponse:
    context = {"message": message, "clinic": patient.clinic, "guidance": guidance}
    if guidance is not None:
        context["status_label"] = CheckIn.Status(guidance.status).label
    return render(request, "recovery/patient/refused.html", context, status=status)


def _refused_check_in(
    request: HtmxHttpRequest,
    patient: Patient,
    treatment: Treatment,
    error: checkins.CheckInRefused,
    *,
    local_date: dt.date,
) -> HttpResponse:
    """Not saved; warning signs it carried were told to the clinic all the same, and the
    patient is told what to do about them as after any check-in."""
    guidance = None
    if error.warning_signs:
        assessment = alerts.assess_warning_signs(
            treatment=treatment, local_date=local_date, red_flags=error.warning_signs
        )
        guidance = guidance_for(
            status=assessment.status,
            reasons=assessment.reasons,
            day=treatment.day_on(local_date),
            clinic_name=patient.clinic.name,
            values=treatment.product.course,
        )
    status = 409 if isinstance(error, checkins.SubmissionConflict) else 400
    return _refused(request, patient, str(error), status=status, guidance=guidance)


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
def check_in(request: HtmxHttpRequest) -> HttpResponse:
    patient = access.patient_for_request(request)
    if request.method == "POST" and _someone_elses(request, patient):
        # It stays on the phone (offline.js keeps it on a 403) until its patient signs in.
        return _refused(request, patient, SOMEONE_ELSES, status=403)
    today = patient.today()
    treatment = access.current_treatment(patient, today=today)
    if treatment is None:
        return _refused(request, patient, "Your clinic hasn't recorded a treatment for you yet.")
    red_flags_first = request.GET.get("first") == "red_flags"

    if request.method == "POST":
        form = CheckInForm(request.POST)
        if form.is_valid():
            try:
                recorded = form.record(
                    treatment=treatment,
                    entered_by=patient.user,
                    today=today,
                    at=timezone.now(),
                    ip_address=audit.client_ip(request),
                    answered_at=form.cleaned_data["answered_at"],
                )
            except checkins.CheckInRefused as error:
                return _refused_check_in(
                    request, patient, treatment, error, local_date=form.cleaned_data["date"]
                )
            return redirect("check_in_result", public_id=recorded.check_in.public_id)
        local_date = form.cleaned_data.get("date") or today
        status = 422
    else:
        local_date = parse_date(request.GET.get("date"), today)
        if local_date is None:
            return _refused(request, patient, "That is not a date.")
        try:
            existing = checkins.day_to_fill(treatment=treatment, local_date=local_date, today=today)
        except checkins.CheckInRefused as error:
            return _refused(request, patient, str(error))
        if existing is not None:
            audit.record(
                request,
                patient=patient,
                action=AuditEvent.Action.CHECK_IN_VIEWED,
                object_id=existing.public_id,
            )
        form = CheckInForm.for_day(local_date=local_date, existing=existing)
        status = 200

    return render(
        request,
        "recovery/patient/check_in.html",
        {
            "form": form,
            "patient": patient,
            "clinic": patient.clinic,
            "treatment": treatment,
            "local_date": local_date,
            "day": treatment.day_on(local_date),
            "is_today": local_date == today,
            "rating_rows": form.rating_questions(),
            "red_flag_rows": form.red_flag_signs(),
            "scale_key": SCALE_KEY,
            "scale_words": RATING_WORDS.values(),
            "red_flags_first": red_flags_first,
            "offline_contact": offline_contact(
                clinic=patient.clinic,
                values=treatment.product.course,
                day=treatment.day_on(local_date),
                time_zone=patient.time_zone,
            ),
        },
        status=status,
    )


def _answer_words(check_in: CheckIn) -> list[tuple[str, str]]:
    words = [
        (SYMPTOM_LABELS[s], RATING_WORDS[r][0] if r is not None else "Not answered")
        for s, r in check_in.ratings()
    ]
    flags = [RED_FLAG_SHORT[f] for f in course.RED_FLAGS if f in check_in.red_flags]
    words.append(("Warning signs", "Yes: " + "; ".join(flags) if flags else "None"))
    return words


@require_http_methods(["GET"])
def check_in_result(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = access.patient_for_request(request)
    check_in = access.check_in_for_patient(patient, public_id)
    audit.record(
        request,
        patient=patient,
        action=AuditEvent.Action.CHECK_IN_VIEWED,
        object_id=check_in.public_id,
    )
    return render(
        request,
        "recovery/patient/result.html",
        {
            "patient": patient,
            "clinic": patient.clinic,
            "check_in": check_in,
            "guidance": _guidance(check_in, patient),
            "answers": _answer_words(check_in),
            "can_edit": check_in.local_date == patient.today(),
        },
    )


@require_http_methods(["GET"])
def my_recovery(request: HtmxHttpRequest) -> HttpResponse:
    patient = access.patient_for_request(request)
    treatment: Treatment | None = access.current_treatment(patient, today=patient.today())
    context: dict[str, object] = {"patient": patient, "clinic": patient.clinic}
    if treatment is not None:
        rows = list(treatment.check_ins.order_by("local_date"))
        today = treatment.day_on(patient.today())
        values = treatment.product.course
        context.update(
            treatment=treatment,
            charts=charts.symptom_charts(
                ratings_by_day=[(c.day, dict(c.ratings())) for c in rows],
                values=values,
                today=today,
            ),
            table=charts.diary_table(
                [(c.day, dict(c.ratings()), c.get_status_display()) for c in rows],
                today=today,
                last_day=values.diary_days,
            ),
        )
    audit.record(request, patient=patient, action=AuditEvent.Action.RECOVERY_VIEWED)
    return render(request, "recovery/patient/recovery.html", context)
