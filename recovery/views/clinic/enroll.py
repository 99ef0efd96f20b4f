"""Enrollment at the treatment visit, a returning patient's next session, and sign-in links.

A patient's sign-in link is shown once (as a QR code to scan in the room, and as
text to read out). An enrollment redirects after its POST, so a refresh cannot send
it again; the link waits in the clinician's session for the one page the redirect
leads to, which takes it out: it is never logged, cached or put in a URL, and that
page shows it only once. A "new link" button's POST shows its link in its answer.
Each form carries a one-time key: sent twice (a double tap, the back button), it
records one patient, one treatment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import segno
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from recovery import access, audit, enrollment, login_links
from recovery.forms import EnrollmentForm, TreatmentForm
from recovery.models import AuditAction, Clinician, Patient, Treatment
from recovery.views.types import HtmxHttpRequest


def qr_code_svg(url: str) -> SafeString:
    """The URL as a QR code, an inline SVG with no style attributes (strict CSP)."""
    svg = segno.make(url, error="m").svg_inline(
        omitsize=True,
        dark="#000",
        light="#fff",
        svgclass="qr-code",
        lineclass=None,
        title="QR code of the patient's sign-in link",
    )
    # Built from the URL alone: no user-supplied markup.
    return mark_safe(svg.replace("<svg ", '<svg role="img" ', 1))


def _link_page(
    request: HtmxHttpRequest,
    clinician: Clinician,
    patient: Patient,
    *,
    login_url: str | None = None,
    emailed_to: str = "",
    treatment: Treatment | None = None,
) -> HttpResponse:
    """The patient's sign-in link as a QR code (or the news that it was emailed)."""
    context: dict[str, object] = {
        "clinician": clinician,
        "patient": patient,
        "treatment": treatment,
        "emailed_to": emailed_to,
        "hours": settings.LOGIN_LINK_MAX_AGE_HOURS,
    }
    if treatment is not None:
        context["screening"] = enrollment.screening_of(treatment)
    if login_url is not None:
        context.update(login_url=login_url, qr_svg=qr_code_svg(login_url))
    return render(request, "recovery/clinic/enrolled.html", context)


# The link just made for a patient, until the page after the enrollment's redirect shows it.
JUST_ENROLLED = "just_enrolled"


@never_cache
@require_http_methods(["GET"])
def enrolled(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Where an enrollment's POST leads: the patient, their treatment and, this once, the
    QR code of their first sign-in link (after that, a button makes a new one)."""
    clinician = access.clinician_for_request(request)
    patient = access.patient_for_clinician(clinician, public_id)
    waiting = request.session.get(JUST_ENROLLED) or {}
    login_url = None
    if waiting.get("patient") == str(patient.public_id):
        login_url = str(waiting["login_url"])
        del request.session[JUST_ENROLLED]
    audit.record(request, patient, AuditAction.PATIENT_VIEWED, patient.public_id)
    return _link_page(
        request,
        clinician,
        patient,
        login_url=login_url,
        treatment=enrollment.latest_treatment(patient),
    )


def _refused(request: HtmxHttpRequest, clinician: Clinician, message: str) -> HttpResponse:
    return render(
        request,
        "recovery/clinic/enroll/refused.html",
        {"clinician": clinician, "message": message},
        status=400,
    )


def _screened_write[Form: TreatmentForm, Written](
    form: Form,
    write: Callable[[], Written],
    *,
    recorded: Callable[[Written], HttpResponse],
    sent_again: Callable[[Treatment], HttpResponse],
) -> HttpResponse | Form:
    """A valid form's treatment and checklist, written once per form (its submission key).

    The page `recorded` makes of what `write` wrote; `sent_again`'s, for the treatment the
    form recorded when first sent; or, when the checklist raised warnings the clinician
    has not confirmed going ahead with, the form to show again with them.
    """
    try:
        written = write()
    except enrollment.UnreviewedWarnings as error:
        return form.review_again(error.warnings)
    except enrollment.AlreadyRecorded as done:
        return sent_again(done.treatment)
    return recorded(written)


def _show_link_once(request: HtmxHttpRequest, enrolled: enrollment.Enrolled) -> HttpResponse:
    """The enrolled patient's page, which shows their first sign-in link (this once)."""
    request.session[JUST_ENROLLED] = {
        "patient": str(enrolled.patient.public_id),
        "login_url": enrolled.login_url,
    }
    return redirect("clinic:enrolled", public_id=enrolled.patient.public_id)


@never_cache
@require_http_methods(["GET", "POST"])
def enroll(request: HtmxHttpRequest) -> HttpResponse:
    clinician = access.clinician_for_request(request)
    clinic = clinician.clinic
    now = timezone.now()
    today = enrollment.clinic_today(clinic, at=now)

    if request.method == "POST":
        form = EnrollmentForm(request.POST, today=today)
        if form.is_valid():
            ip_address = audit.client_ip(request)
            answer = _screened_write(
                form,
                lambda: form.enroll_in(clinic, by=clinician.user, at=now, ip_address=ip_address),
                recorded=lambda enrolled: _show_link_once(request, enrolled),
                # The patient it enrolled, without the link (shown once already).
                sent_again=lambda treatment: redirect(
                    "clinic:enrolled", public_id=treatment.patient.public_id
                ),
            )
            if isinstance(answer, HttpResponse):
                return answer
            form = answer
        status = 422
    else:
        default_product = enrollment.default_product()
        form = EnrollmentForm(
            today=today,
            initial={
                "submission_key": uuid.uuid4(),
                "time_zone": clinic.time_zone,
                "language": "en",
                "product": default_product.code if default_product else None,
                "treated_on": today,
                "session_number": 1,
            },
        )
        status = 200

    return render(
        request,
        "recovery/clinic/enroll.html",
        {"clinician": clinician, "form": form, "warnings": form.warnings, "today": today},
        status=status,
    )


@never_cache
@require_POST
def sign_in_link(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """A fresh single-use link for the patient: shown as a QR code, or emailed to them."""
    clinician = access.clinician_for_request(request)
    patient = access.patient_for_clinician(clinician, public_id)
    action = request.POST.get("action", "show")
    now = timezone.now()
    ip_address = audit.client_ip(request)
    if action == "email":
        if not patient.email:
            return _refused(
                request,
                clinician,
                "This patient has no email address on record. Show them the QR code instead.",
            )
        login_links.email_login_link(
            patient=patient, at=now, sent_by=clinician.user, ip_address=ip_address
        )
        return _link_page(request, clinician, patient, emailed_to=patient.email)
    if action != "show":
        return _refused(request, clinician, "That is not something this button can do.")
    url = login_links.hand_out_login_link(
        patient=patient, at=now, issued_by=clinician.user, ip_address=ip_address
    )
    return _link_page(request, clinician, patient, login_url=url)


def _back_to_patient(
    request: HtmxHttpRequest, patient: Patient, level: int, news: str
) -> HttpResponse:
    """The patient's page, with `news` of the session (a message of `level`) at its top."""
    messages.add_message(request, level, news)
    return redirect("clinic:patient", public_id=patient.public_id)


@never_cache
@require_http_methods(["GET", "POST"])
def new_treatment(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """A returning patient's next session, on the same record."""
    clinician = access.clinician_for_request(request)
    patient = access.patient_for_clinician(clinician, public_id)
    now = timezone.now()
    today = enrollment.clinic_today(clinician.clinic, at=now)
    latest = enrollment.latest_treatment(patient)
    not_before = latest.treated_on if latest else None

    if request.method == "POST":
        form = TreatmentForm(request.POST, today=today, not_before=not_before)
        if form.is_valid():
            ip_address = audit.client_ip(request)
            answer = _screened_write(
                form,
                lambda: form.add_to(patient, by=clinician.user, at=now, ip_address=ip_address),
                recorded=lambda treatment: _back_to_patient(
                    request,
                    patient,
                    messages.SUCCESS,
                    f"Session {treatment.session_number} ({treatment.product}, "
                    f"{treatment.treated_on:%d %b %Y}) is recorded for {patient.name}.",
                ),
                sent_again=lambda treatment: _back_to_patient(
                    request,
                    patient,
                    messages.INFO,
                    f"Session {treatment.session_number} was already recorded "
                    "(the form was sent twice); nothing more was added.",
                ),
            )
            if isinstance(answer, HttpResponse):
                return answer
            form = answer
        status = 422
    else:
        form = TreatmentForm(
            today=today,
            not_before=not_before,
            initial={
                **enrollment.next_session_carries(patient, latest, today=today),
                "submission_key": uuid.uuid4(),
            },
        )
        audit.record(request, patient, AuditAction.PATIENT_VIEWED, patient.public_id)
        status = 200

    return render(
        request,
        "recovery/clinic/new_treatment.html",
        {
            "clinician": clinician,
            "patient": patient,
            "latest": latest,
            "form": form,
            "warnings": form.warnings,
            "today": today,
        },
        status=status,
    )
