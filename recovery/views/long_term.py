"""The patient's long-term check-in (recovery.long_term): the question, the answer, and
stopping or starting the watch again."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from recovery import access, audit, long_term
from recovery.forms import LateCheckForm
from recovery.guidance import (
    LATE_ALL_CLEAR,
    LONG_TERM_CONTEXT_HINT,
    LONG_TERM_CONTEXT_WORDS,
    late_lump_guidance,
)
from recovery.models import AuditAction, Patient, User
from recovery.views.types import HtmxHttpRequest


def _actor(request: HtmxHttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _page(
    request: HtmxHttpRequest,
    patient: Patient,
    form: LateCheckForm | None = None,
    *,
    status: int = 200,
    problem: str = "",
) -> HttpResponse:
    """The page, with `form` as sent (a new one if None) and `problem` said at the top."""
    form = form or LateCheckForm(initial={"idempotency_key": uuid.uuid4()})
    watch = long_term.watch_of(patient)
    today = patient.today()
    place = long_term.place_of(watch, today=today) if watch is not None else None
    return render(
        request,
        "recovery/patient/long_term.html",
        {
            "patient": patient,
            "clinic": patient.clinic,
            "form": form,
            "watch": watch,
            "refusal": long_term.refusal_of(watch, today=today),
            "due_on": place.due_on if place and place.standing in long_term.OPEN else None,
            "next_due_on": long_term.next_due_on(watch, today=today) if watch else None,
            "context_hint": LONG_TERM_CONTEXT_HINT,
            "problem": problem,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def late_check(request: HtmxHttpRequest) -> HttpResponse:
    patient = access.patient_for_request(request)
    if request.method == "POST":
        form = LateCheckForm(request.POST)
        if not form.is_valid():
            return _page(request, patient, form, status=400)
        try:
            recorded = long_term.record_late_check(
                patient=patient,
                answers=form.answers(),
                idempotency_key=form.cleaned_data["idempotency_key"],
                entered_by=_actor(request),
                at=timezone.now(),
                ip_address=audit.client_ip(request),
            )
        except long_term.LateCheckRefused as refused:
            status = 409 if isinstance(refused, long_term.LateCheckConflict) else 400
            return _page(request, patient, form, status=status, problem=str(refused))
        return redirect("late_check_result", public_id=recorded.check.public_id)
    audit.record(request, patient, AuditAction.LONG_TERM_VIEWED)
    return _page(request, patient)


@require_http_methods(["GET"])
def late_check_result(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = access.patient_for_request(request)
    check = access.late_check_for_patient(patient, public_id)
    audit.record(request, patient, AuditAction.LONG_TERM_VIEWED, public_id)
    watch = check.watch
    return render(
        request,
        "recovery/patient/long_term_result.html",
        {
            "patient": patient,
            "clinic": patient.clinic,
            "check": check,
            "guidance": late_lump_guidance(patient.clinic.name) if check.lump else None,
            "status_label": "Contact your clinic",
            "all_clear": LATE_ALL_CLEAR,
            "context": [LONG_TERM_CONTEXT_WORDS[c][1] for c in check.context()],
            "next_due_on": long_term.next_due_on(watch, today=patient.today()),
        },
    )


@require_http_methods(["POST"])
def stop_or_resume(request: HtmxHttpRequest) -> HttpResponse:
    patient = access.patient_for_request(request)
    change = {"stop": long_term.stop_watch, "resume": long_term.resume_watch}.get(
        request.POST.get("action", "")
    )
    if change is None:
        problem = "Choose whether to stop or to start the check-ins again."
        return _page(request, patient, status=400, problem=problem)
    try:
        change(
            patient=patient,
            by=_actor(request),
            at=timezone.now(),
            ip_address=audit.client_ip(request),
        )
    except long_term.LateCheckRefused as refused:
        return _page(request, patient, status=400, problem=str(refused))
    return redirect("late_check")
