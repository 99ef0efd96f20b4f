"""Enrolling a patient and their treatment, and the checklist before treatment.

At the treatment visit a clinician enrolls the patient, their treatment and
the pre-treatment checklist (recovery-course.md, "Before treatment") in one
go. The checklist warns, it never blocks: when it raises warnings, the
clinician reviews them and decides to go ahead, and the warnings and that
decision are kept with the treatment.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Max, Value, When
from django.utils import timezone

from recovery import audit, course, locks, login_links, long_term, reminders, triage
from recovery.guidance import checklist_warning
from recovery.models import (
    AuditAction,
    Clinic,
    LongTermWatch,
    Patient,
    Product,
    Screening,
    Treatment,
    User,
)


@dataclass(frozen=True)
class ScreeningWarning:
    code: str
    text: str


@dataclass(frozen=True)
class ScreeningFacts:
    """What the clinician records on the checklist before treatment."""

    skin_test_on: dt.date | None = None
    skin_test_result: str = Screening.SkinTest.NOT_DONE
    lidocaine_allergy: bool = False
    bovine_collagen_allergy: bool = False
    anaphylaxis_history: bool = False
    multiple_severe_allergies: bool = False
    keloid_tendency: bool = False


def columns(details: PatientDetails | TreatmentDetails) -> dict[str, object]:
    """The details as the model's columns of the same names."""
    return {field.name: getattr(details, field.name) for field in fields(details)}


@dataclass(frozen=True)
class Checklist:
    """The checklist as a clinician's form sends it: its answers, the warnings they were
    shown and confirmed going ahead with (none unless they ticked the box), and the form's
    key, which records it once (a double tap or a refresh adds nothing)."""

    facts: ScreeningFacts
    reviewed: frozenset[str] = frozenset()
    submission_key: uuid.UUID | None = None


@dataclass(frozen=True)
class PatientDetails:
    name: str
    email: str
    mobile: str
    date_of_birth: dt.date
    time_zone: str
    language: str = "en"
    no_mobile_reason: str = ""


@dataclass(frozen=True)
class TreatmentDetails:
    product: Product
    treated_on: dt.date
    areas: str = ""
    injection_sites: int | None = None
    session_number: int | None = None
    lot_number: str = ""


def screening_warnings(
    *,
    date_of_birth: dt.date,
    treated_on: dt.date,
    product_code: str,
    facts: ScreeningFacts,
) -> list[ScreeningWarning]:
    """What the clinician must review before going ahead (course.checklist_warnings), in
    words, in a stable order."""
    codes = course.checklist_warnings(
        date_of_birth=date_of_birth,
        treated_on=treated_on,
        product_code=product_code,
        skin_test=facts.skin_test_result,
        skin_test_on=facts.skin_test_on,
        answered_yes={code for code in course.CONTRAINDICATIONS if getattr(facts, code)},
    )
    age = course.age_on(date_of_birth, treated_on)
    days = (treated_on - facts.skin_test_on).days if facts.skin_test_on else None
    return [
        ScreeningWarning(code, checklist_warning(code, age=age, skin_test_days=days))
        for code in codes
    ]


class UnreviewedWarnings(Exception):
    """The checklist raised warnings the clinician has not confirmed going ahead with."""

    def __init__(self, warnings: list[ScreeningWarning]) -> None:
        super().__init__(", ".join(w.code for w in warnings))
        self.warnings = warnings


def _reviewed_warnings(
    checklist: Checklist, *, date_of_birth: dt.date, details: TreatmentDetails
) -> list[ScreeningWarning]:
    """The checklist's warnings, once the clinician has reviewed them: UnreviewedWarnings
    unless it reviewed exactly the warnings they were shown (going ahead counts only for
    those)."""
    warnings = screening_warnings(
        date_of_birth=date_of_birth,
        treated_on=details.treated_on,
        product_code=details.product.code,
        facts=checklist.facts,
    )
    if warnings and {w.code for w in warnings} != set(checklist.reviewed):
        raise UnreviewedWarnings(warnings)
    return warnings


def clinic_today(clinic: Clinic, *, at: dt.datetime) -> dt.date:
    """The clinic's calendar date at `at`, in its own time zone."""
    return timezone.localdate(at, timezone=zoneinfo.ZoneInfo(clinic.time_zone))


def next_session_number(patient: Patient) -> int:
    latest = patient.treatments.aggregate(latest=Max("session_number"))["latest"]
    return (latest or 0) + 1


def latest_treatment(patient: Patient) -> Treatment | None:
    """The patient's latest treatment (by date), with its product."""
    return (
        Treatment.objects.filter(patient=patient)
        .select_related("product")
        .order_by("-treated_on", "-id")
        .first()
    )


def next_session_carries(
    patient: Patient, latest: Treatment | None, *, today: dt.date
) -> dict[str, object]:
    """What the form of the next session starts with, by field: today, the next session
    number, and what carries over from the latest treatment (the product, the areas and
    the skin test). The allergy questions are asked afresh each time."""
    initial: dict[str, object] = {
        "treated_on": today,
        "session_number": next_session_number(patient),
    }
    if latest is None:
        return initial
    initial.update(product=latest.product.code, areas=latest.areas)
    screening = screening_of(latest)
    if screening is not None and screening.skin_test_result != Screening.SkinTest.NOT_DONE:
        initial.update(
            skin_test_result=screening.skin_test_result, skin_test_on=screening.skin_test_on
        )
    return initial


def screening_of(treatment: Treatment) -> Screening | None:
    """The treatment's checklist, if one was recorded."""
    return Screening.objects.filter(treatment=treatment).first()


def default_product() -> Product | None:
    """The product enrollment offers first: the one whose course needs a skin test."""
    return Product.objects.filter(code=course.SKIN_TEST_PRODUCT).first()


def new_patient_user() -> User:
    """A sign-in identity for a patient: no password, they sign in by link."""
    user = User(username=f"patient-{uuid.uuid4().hex}")
    user.set_unusable_password()
    return user


def enroll_patient(
    *,
    clinic: Clinic,
    details: PatientDetails,
    enrolled_by: User | None,
    ip_address: str | None = None,
) -> Patient:
    with transaction.atomic():
        user = new_patient_user()
        user.save()
        patient = Patient.objects.create(clinic=clinic, user=user, **columns(details))
        audit.record_event(
            patient,
            AuditAction.PATIENT_ENROLLED,
            patient.public_id,
            actor=enrolled_by,
            ip_address=ip_address,
        )
    return patient


def delete_treatment(
    treatment: Treatment, *, by: User | None, ip_address: str | None = None
) -> None:
    """A treatment entered by mistake gone, with its check-ins and alerts; the audit trail
    keeps its public id. The caller then follows the patient's treatments that are left
    (long_term.follow_corrected_treatments)."""
    patient, public_id = treatment.patient, treatment.public_id
    with transaction.atomic():
        treatment.delete()
        audit.record_event(
            patient, AuditAction.TREATMENT_DELETED, public_id, actor=by, ip_address=ip_address
        )


def move_patient(
    *, patient: Patient, to_clinic: Clinic, by: User | None, ip_address: str | None = None
) -> Patient:
    """Move a patient, and everything of theirs, to another clinic, in one audited write.

    The patient's treatments carry their clinic (the dashboard reads one indexed table), so
    they move with the patient, in the same transaction: from then on the new clinic sees
    them on its dashboard, exports and alerts (and gets their alert emails), the old one
    does not. The admin changes a patient's clinic only through here.
    """
    with transaction.atomic():
        # The treatments first, as every write that moves them does (docs/concurrency.md).
        treatments = locks.treatments_for_update(patient.treatments.values_list("pk", flat=True))
        patient = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
        from_clinic = patient.clinic
        if from_clinic.pk == to_clinic.pk:
            return patient
        patient.clinic = to_clinic
        patient.save(update_fields=["clinic"])
        Treatment.objects.filter(pk__in=[t.pk for t in treatments]).update(clinic=to_clinic)
        LongTermWatch.objects.filter(patient=patient).update(clinic=to_clinic)
        for clinic_id in sorted((from_clinic.pk, to_clinic.pk)):
            triage.recount(clinic_id)
        audit.record_event(
            patient, AuditAction.PATIENT_MOVED, to_clinic.public_id, actor=by, ip_address=ip_address
        )
    return patient


class AlreadyRecorded(Exception):
    """The form that records this treatment was sent before (its submission key is used)."""

    def __init__(self, treatment: Treatment) -> None:
        self.treatment = treatment
        super().__init__("This form was already sent; the treatment is recorded.")


def _recorded_with(submission_key: uuid.UUID | None) -> None:
    """AlreadyRecorded if a treatment was recorded with `submission_key`."""
    if submission_key is None:
        return
    done = Treatment.objects.filter(submission_key=submission_key).select_related("patient")
    if (treatment := done.first()) is not None:
        raise AlreadyRecorded(treatment)


@contextmanager
def _once_per_form(submission_key: uuid.UUID | None) -> Iterator[None]:
    """AlreadyRecorded, with nothing written, if the form's `submission_key` recorded a
    treatment before (a double tap, a refresh), or does so while the write runs: the same
    form, sent at the same moment, went first, and the key being unique, this write fails.

    It goes around the write's transaction, not inside it: the second lookup runs once
    that transaction has rolled back.
    """
    _recorded_with(submission_key)
    try:
        yield
    except IntegrityError:
        _recorded_with(submission_key)
        raise


def add_treatment(
    *,
    patient: Patient,
    details: TreatmentDetails,
    notes: str = "",
    submission_key: uuid.UUID | None = None,
    recorded_by: User | None,
    at: dt.datetime | None = None,
    ip_address: str | None = None,
) -> Treatment:
    """A treatment on the patient's record; a returning patient's is the next session.

    One transaction, or a part of the caller's: without a savepoint of its own, as no
    caller goes on after it fails.
    """
    now = at or timezone.now()
    with transaction.atomic(savepoint=False):
        if details.session_number is None:
            details = replace(details, session_number=next_session_number(patient))
        # Every earlier treatment is locked: the diary it follows now ends where this one's
        # begins (its next reminder, recovery.reminders). They leave the dashboard, except
        # while an alert on one is open: resolving it lets it go (alerts.resolve_alert).
        patient.treatments.update(
            superseded=Case(
                When(open_alert__isnull=True, then=Value(True)), default=F("superseded")
            )
        )
        treatment = Treatment.objects.create(
            patient=patient,
            clinic=patient.clinic,
            notes=notes,
            submission_key=submission_key,
            **columns(details),
        )
        triage.refresh_triage(treatment, now=now)
        long_term.follow_treatments(patient, at=now)
        reminders.reschedule_locked(patient.pk)
        triage.recount(treatment.clinic_id)  # it is on the dashboard, the earlier ones off
        audit.record_event(
            patient,
            AuditAction.TREATMENT_ADDED,
            treatment.public_id,
            actor=recorded_by,
            ip_address=ip_address,
        )
    return treatment


def add_screened_treatment(
    *,
    patient: Patient,
    details: TreatmentDetails,
    checklist: Checklist,
    recorded_by: User,
    at: dt.datetime,
    ip_address: str | None = None,
) -> Treatment:
    """A treatment and its checklist; UnreviewedWarnings unless every warning was reviewed.

    AlreadyRecorded if the form's key recorded a treatment before (a double tap, a
    refresh), even at once.
    """
    with _once_per_form(checklist.submission_key):
        warnings = _reviewed_warnings(
            checklist, date_of_birth=patient.date_of_birth, details=details
        )
        return _screened_treatment(
            patient, details, checklist, warnings, by=recorded_by, at=at, ip_address=ip_address
        )


def _screened_treatment(
    patient: Patient,
    details: TreatmentDetails,
    checklist: Checklist,
    warnings: list[ScreeningWarning],
    *,
    by: User,
    at: dt.datetime,
    ip_address: str | None,
) -> Treatment:
    """The treatment and its checklist, with the `warnings` the clinician went ahead with."""
    facts = checklist.facts
    with transaction.atomic():
        treatment = add_treatment(
            patient=patient,
            details=details,
            submission_key=checklist.submission_key,
            recorded_by=by,
            at=at,
            ip_address=ip_address,
        )
        Screening.objects.create(
            treatment=treatment,
            skin_test_on=facts.skin_test_on,
            skin_test_result=facts.skin_test_result,
            **{code: getattr(facts, code) for code in course.CONTRAINDICATIONS},
            warnings=[{"code": w.code, "text": w.text} for w in warnings],
            went_ahead_by=by if warnings else None,
            recorded_at=at,
        )
        action = AuditAction.SCREENING_WENT_AHEAD if warnings else AuditAction.SCREENING_RECORDED
        audit.record_event(patient, action, treatment.public_id, actor=by, ip_address=ip_address)
    return treatment


@dataclass(frozen=True)
class Enrolled:
    patient: Patient
    treatment: Treatment
    # The patient's first sign-in link, to show once as a QR code; never stored.
    login_url: str


def enroll_with_treatment(
    *,
    clinic: Clinic,
    patient: PatientDetails,
    treatment: TreatmentDetails,
    checklist: Checklist,
    enrolled_by: User,
    at: dt.datetime,
    ip_address: str | None = None,
) -> Enrolled:
    """The patient, their sign-in identity, treatment, checklist and first login link.

    One transaction: nothing is saved unless all of it is. UnreviewedWarnings
    (before anything is written) when the checklist raised warnings that the
    clinician has not confirmed going ahead with. AlreadyRecorded (nothing written) if
    the form's key enrolled someone before: the same form sent twice, or twice at once,
    makes one patient.
    """
    with _once_per_form(checklist.submission_key):
        warnings = _reviewed_warnings(
            checklist, date_of_birth=patient.date_of_birth, details=treatment
        )
        with transaction.atomic():
            enrolled = enroll_patient(
                clinic=clinic, details=patient, enrolled_by=enrolled_by, ip_address=ip_address
            )
            added = _screened_treatment(
                enrolled,
                treatment,
                checklist,
                warnings,
                by=enrolled_by,
                at=at,
                ip_address=ip_address,
            )
            url = login_links.hand_out_login_link(
                patient=enrolled, at=at, issued_by=enrolled_by, ip_address=ip_address
            )
    return Enrolled(patient=enrolled, treatment=added, login_url=url)
