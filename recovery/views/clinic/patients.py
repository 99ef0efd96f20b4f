"""One patient, as the clinic sees them: the timeline, and a check-in taken by phone."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.db.models import FETCH_RAISE
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from recovery import access, alerts, audit, charts, checkins, course, triage
from recovery.forms import CheckInForm, resolve_form_for
from recovery.guidance import (
    CLINIC_RED_FLAG_WORDS,
    CONTRAINDICATION_WORDS,
    RATING_WORDS,
    STATUS_WORDS,
    SYMPTOM_LABELS,
    clinic_reason_words,
)
from recovery.models import (
    Alert,
    AuditEvent,
    CheckIn,
    CheckInRevision,
    Clinician,
    Patient,
    Screening,
    Treatment,
    Triage,
    User,
    tel_uri,
)
from recovery.views.patient import parse_date
from recovery.views.types import HtmxHttpRequest


def is_clinician(user: User | None) -> bool:
    """Whether `user` is clinic staff; needs `clinician` selected with the user."""
    return user is not None and hasattr(user, "clinician")


def _rating_word(rating: object) -> str:
    return RATING_WORDS[rating][0] if isinstance(rating, int) else "Not answered"


# A table cell for each rating (or none), made once: a diary is 31 rows of six.
_RATING_CELLS = {
    rating: format_html("<td>{}</td>", _rating_word(rating)) for rating in (None, *RATING_WORDS)
}


def day_text(day: dt.date) -> str:
    """ "Wed 25 Nov": the template's date:"D j M", without its per-call cost (a timeline
    writes a date on every row)."""
    return f"{WEEKDAYS_ABBR[day.weekday()]} {day.day} {MONTHS_3[day.month].title()}"


def time_text(at: dt.datetime, zone: ZoneInfo) -> str:
    """ "25 Nov, 14:02 EST" in `zone`: what the template's zoned:"j M, H:i" writes there."""
    local = at.astimezone(zone)
    return f"{local.day} {MONTHS_3[local.month].title()}, {local:%H:%M} {local.tzname()}"


def _status_words(status: str) -> str:
    return STATUS_WORDS[course.Status(status)].clinic


# The check-in history ----------------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    """An earlier version of a day's check-in, and what the next version changed."""

    recorded_at: dt.datetime
    entered_by: User | None
    entered_by_clinic: bool
    replaced_at: dt.datetime
    replaced_by: User | None
    replaced_by_clinic: bool
    changes: tuple[str, ...]


@dataclass(frozen=True)
class CheckInRow:
    check_in: CheckIn
    day: str  # its date, "Wed 25 Nov"
    sent: str  # when it was last sent, in the clinic's time zone
    rating_cells: SafeString
    red_flags: tuple[str, ...]
    # Warning signs answered yes in an earlier version of the day, no longer in the latest.
    withdrawn_red_flags: tuple[str, ...]
    status: str
    reasons: tuple[str, ...]
    entered_by_clinic: bool
    revisions: tuple[Revision, ...]


def _snapshot(check_in: CheckIn) -> dict[str, object]:
    return {
        **{s: getattr(check_in, s) for s in course.SYMPTOMS},
        "red_flags": list(check_in.red_flags),
        "note": check_in.note,
        "status": check_in.status,
    }


def _changes(before: Mapping[str, object], after: Mapping[str, object]) -> tuple[str, ...]:
    """What changed from one version of a check-in to the next, in words."""
    said = []
    for symptom in course.SYMPTOMS:
        old, new = before.get(symptom), after.get(symptom)
        if old != new:
            said.append(f"{SYMPTOM_LABELS[symptom]}: {_rating_word(old)} → {_rating_word(new)}")
    old_flags = set(before.get("red_flags") or [])  # type: ignore[call-overload]
    new_flags = set(after.get("red_flags") or [])  # type: ignore[call-overload]
    for flag in course.RED_FLAGS:
        if flag in new_flags - old_flags:
            said.append(f"Warning sign added: {CLINIC_RED_FLAG_WORDS[flag]}")
        elif flag in old_flags - new_flags:
            said.append(f"Warning sign withdrawn: {CLINIC_RED_FLAG_WORDS[flag]}")
    old_note, new_note = before.get("note") or "", after.get("note") or ""
    if old_note != new_note:
        said.append(f"Note changed; it said: “{old_note}”" if old_note else "Note added")
    old_status, new_status = str(before.get("status")), str(after.get("status"))
    if old_status != new_status:
        said.append(f"Status: {_status_words(old_status)} → {_status_words(new_status)}")
    return tuple(said) or ("Sent again with the same answers",)


def _check_in_row(
    check_in: CheckIn, revisions: list[CheckInRevision], *, zone: ZoneInfo
) -> CheckInRow:
    """The check-in and its earlier versions, oldest first."""
    versions: list[tuple[Mapping[str, object], User | None]] = [
        ({**r.answers, "status": r.status}, r.entered_by) for r in revisions
    ]
    versions.append((_snapshot(check_in), check_in.entered_by))
    history = tuple(
        Revision(
            recorded_at=r.recorded_at,
            entered_by=r.entered_by,
            entered_by_clinic=is_clinician(r.entered_by),
            replaced_at=r.replaced_at,
            replaced_by=versions[i + 1][1],
            replaced_by_clinic=is_clinician(versions[i + 1][1]),
            changes=_changes(versions[i][0], versions[i + 1][0]),
        )
        for i, r in enumerate(revisions)
    )
    earlier_flags = {f for r in revisions for f in r.answers.get("red_flags") or []}
    return CheckInRow(
        check_in=check_in,
        day=day_text(check_in.local_date),
        sent=time_text(check_in.updated_at, zone),
        rating_cells=mark_safe("".join(_RATING_CELLS[r] for _, r in check_in.ratings())),
        red_flags=tuple(
            CLINIC_RED_FLAG_WORDS[f] for f in course.RED_FLAGS if f in check_in.red_flags
        ),
        withdrawn_red_flags=tuple(
            CLINIC_RED_FLAG_WORDS[f]
            for f in course.RED_FLAGS
            if f in earlier_flags and f not in check_in.red_flags
        ),
        status=_status_words(check_in.status),
        reasons=tuple(clinic_reason_words(r) for r in check_in.reasons),
        entered_by_clinic=is_clinician(check_in.entered_by),
        revisions=history,
    )


def _check_ins(treatment: Treatment) -> list[tuple[CheckIn, list[CheckInRevision]]]:
    """The treatment's check-ins in date order, each with its edits (a lazy fetch is a bug).

    Three queries: the check-ins, their edits (grouped here: prefetch_related's per-row
    querysets cost more than the rows), and the few people who entered them, once each
    rather than once a row.
    """
    check_ins = list(
        CheckIn.objects.filter(treatment=treatment).order_by("local_date").fetch_mode(FETCH_RAISE)
    )
    edits = list(
        CheckInRevision.objects.filter(check_in__treatment=treatment)
        .order_by("replaced_at", "pk")
        .fetch_mode(FETCH_RAISE)
    )
    entered_by = {c.entered_by_id for c in check_ins} | {e.entered_by_id for e in edits}
    people = User.objects.select_related("clinician").in_bulk(entered_by - {None})
    revisions: dict[int, list[CheckInRevision]] = defaultdict(list)
    for edit in edits:
        edit.entered_by = people.get(edit.entered_by_id)
        revisions[edit.check_in_id].append(edit)
    for check_in in check_ins:
        check_in.entered_by = people.get(check_in.entered_by_id)
    return [(check_in, revisions[check_in.pk]) for check_in in check_ins]


# The treatments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TreatmentRow:
    treatment: Treatment
    is_current: bool
    screening: Screening | None
    contraindications: tuple[str, ...]


def _treatment_row(treatment: Treatment, current: Treatment | None) -> TreatmentRow:
    screening: Screening | None = getattr(treatment, "screening", None)
    return TreatmentRow(
        treatment=treatment,
        is_current=current is not None and treatment.pk == current.pk,
        screening=screening,
        contraindications=tuple(
            CONTRAINDICATION_WORDS[code].recorded
            for code in course.CONTRAINDICATIONS
            if getattr(screening, code, False)
        ),
    )


def _triage_now(treatment: Treatment, patient: Patient) -> Triage:
    """The treatment's place in the triage order, even if the sweep has not moved it yet."""
    now = timezone.now()
    if treatment.triage_valid_until is None or treatment.triage_valid_until > now:
        return Triage(treatment.triage)
    treatment.patient = patient
    return triage.place_of(treatment, now=now).triage


# The pages ---------------------------------------------------------------------------------


@require_http_methods(["GET"])
def patient(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Everything about one patient of the clinic, the open alert first."""
    clinician = access.clinician_for_request(request)
    patient = access.patient_for_clinician(clinician, public_id)
    today = patient.today()
    treatments = list(
        patient.treatments.select_related(
            "product", "latest_check_in", "screening__went_ahead_by"
        ).order_by("-treated_on", "-id")
    )
    current = access.current_of(treatments, today=today)
    by_id = {t.pk: t for t in treatments}
    all_alerts = list(
        Alert.objects.filter(treatment__patient=patient)
        .select_related("check_in", "report", "acknowledged_by", "resolved_by")
        .order_by("-opened_at", "-pk")
        .fetch_mode(FETCH_RAISE)
    )
    for alert in all_alerts:
        alert.treatment = by_id[alert.treatment_id]
    open_alerts = [alerts.AlertPanel.of(a) for a in all_alerts if a.is_open]
    context: dict[str, object] = {
        "clinician": clinician,
        "clinic_time_zone": clinician.clinic.time_zone,
        "patient": patient,
        "today": today,
        "age": course.age_on(patient.date_of_birth, today),
        "mobile_uri": tel_uri(patient.mobile),
        "treatments": [_treatment_row(t, current) for t in treatments],
        "open_alerts": [(p, resolve_form_for(p.alert)) for p in open_alerts],
        "alert_history": [alerts.AlertPanel.of(a) for a in all_alerts],
        "several_treatments": len(treatments) > 1,
        "symptoms": [SYMPTOM_LABELS[s] for s in course.SYMPTOMS],
    }
    if current is not None:
        current_triage = _triage_now(current, patient)
        with_edits = _check_ins(current)
        rows = [check_in for check_in, _ in with_edits]
        zone = ZoneInfo(clinician.clinic.time_zone)
        check_in_rows = [_check_in_row(c, edits, zone=zone) for c, edits in with_edits]
        context.update(
            treatment=current,
            triage_label=current_triage.label,
            triage_slug=current_triage.name.lower(),
            day=current.day_on(today),
            diary_days=current.product.diary_days,
            check_in_rows=check_in_rows,
            red_flag_days=[r for r in check_in_rows if r.red_flags or r.withdrawn_red_flags],
            # Warning signs that reached the clinic without a check-in (recovery/alerts.py).
            warning_sign_reports=[
                (report, [CLINIC_RED_FLAG_WORDS[f] for f in report.red_flags])
                for report in current.warning_sign_reports.order_by("received_at")
            ],
            note_days=[r for r in check_in_rows if r.check_in.note],
            charts=charts.symptom_charts(
                ratings_by_day=[(c.day, dict(c.ratings())) for c in rows],
                values=current.product.course,
                today=current.day_on(today),
            ),
            can_check_in=bool(checkins.open_dates(treatment=current, today=today)),
        )
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
            current_status=_status_words(current.status),
            current_reasons=[clinic_reason_words(r) for r in current.reasons],
            current_saved=time_text(current.updated_at, ZoneInfo(clinician.clinic.time_zone)),
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
