"""The patient's side: home, a check-in's result, and My recovery (the check-in itself is
views/check_in.py)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from recovery import access, audit, checkins, course, diary, long_term
from recovery.guidance import (
    RED_FLAG_SHORT,
    SYMPTOM_LABELS,
    Guidance,
    guidance_for,
    rating_word,
)
from recovery.models import AuditAction, CheckIn, Patient, Treatment
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
    if context["diary"] == "finished":
        context.update(_long_term_card(patient, today))
    audit.record(request, patient, AuditAction.HOME_VIEWED)
    return render(request, "recovery/patient/home.html", context)


def _long_term_card(patient: Patient, today: dt.date) -> dict[str, object]:
    """After the diary: the long-term check-in, due or next, if the patient has a watch."""
    watch = long_term.watch_of(patient)
    if watch is None:
        return {}
    place = long_term.place_of(watch, today=today)
    return {
        "watch": watch,
        "late_check_due": place.standing in long_term.OPEN and not watch.is_stopped,
        "late_check_open": long_term.refusal_of(watch, today=today) is None,
        "next_due_on": long_term.next_due_on(watch, today=today),
    }


def _answer_words(check_in: CheckIn) -> list[tuple[str, str]]:
    words = [(SYMPTOM_LABELS[s], rating_word(r)) for s, r in check_in.ratings()]
    flags = [RED_FLAG_SHORT[f] for f in course.RED_FLAGS if f in check_in.red_flags]
    words.append(("Warning signs", "Yes: " + "; ".join(flags) if flags else "None"))
    return words


@require_http_methods(["GET"])
def check_in_result(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = access.patient_for_request(request)
    check_in = access.check_in_for_patient(patient, public_id)
    audit.record(request, patient, AuditAction.CHECK_IN_VIEWED, check_in.public_id)
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
    today = patient.today()
    treatment: Treatment | None = access.current_treatment(patient, today=today)
    context: dict[str, object] = {"patient": patient, "clinic": patient.clinic}
    if treatment is not None:
        read = diary.my_recovery(treatment, today=today)
        context.update(treatment=treatment, charts=read.charts, table=read.table)
    audit.record(request, patient, AuditAction.RECOVERY_VIEWED)
    return render(request, "recovery/patient/recovery.html", context)
