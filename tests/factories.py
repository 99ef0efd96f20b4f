"""Typed factory functions for tests: keyword-only, sensible defaults."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from recovery import checkins, course
from recovery.demo.clinics import RIVERSIDE, ClinicDetails
from recovery.enrollment import PatientDetails, TreatmentDetails, add_treatment, enroll_patient
from recovery.models import CheckIn, Clinic, Clinician, Patient, Product, Treatment, User

_numbers = itertools.count(1)


def create_clinic(*, details: ClinicDetails = RIVERSIDE, alert_email: str = "") -> Clinic:
    """One of the demo's clinics (recovery.demo.clinics), Riverside Skin Clinic unless told."""
    return Clinic.objects.create(**details.fields(), alert_email=alert_email)


def create_clinician(
    *,
    clinic: Clinic,
    email: str | None = None,
    password: str = "correct horse battery",
    role: str = Clinician.Role.CLINICIAN,
) -> User:
    email = email or f"clinician{next(_numbers)}@example.com"
    user = User.objects.create_user(username=email, email=email, password=password)
    Clinician.objects.create(user=user, clinic=clinic, role=role)
    return user


def create_patient(
    *,
    clinic: Clinic,
    name: str = "Ana Patient",
    email: str | None = None,
    mobile: str = "",
    date_of_birth: dt.date = dt.date(1985, 4, 2),
    time_zone: str = "America/New_York",
) -> Patient:
    details = PatientDetails(
        name=name,
        email=email if email is not None else f"patient{next(_numbers)}@example.com",
        mobile=mobile,
        date_of_birth=date_of_birth,
        time_zone=time_zone,
    )
    return enroll_patient(clinic=clinic, details=details, enrolled_by=None)


def create_treatment(
    *, patient: Patient, treated_on: dt.date, product_code: str = "bellafill"
) -> Treatment:
    details = TreatmentDetails(
        product=Product.objects.get(code=product_code),
        treated_on=treated_on,
        areas="Both cheeks",
        injection_sites=12,
        lot_number="LOT-1",
    )
    return add_treatment(patient=patient, details=details, recorded_by=None)


def create_check_in(
    *,
    treatment: Treatment,
    local_date: dt.date,
    red_flags: frozenset[str] = frozenset(),
    **ratings: int | None,
) -> CheckIn:
    """A check-in through the real write path, as if sent on `local_date` itself."""
    answers = course.Answers(
        ratings={s: ratings.get(s, 0) for s in course.SYMPTOMS}, red_flags=red_flags
    )
    return checkins.record_check_in(
        treatment=treatment,
        local_date=local_date,
        answers=answers,
        entered_by=treatment.patient.user,
        today=local_date,
        at=timezone.now(),
    ).check_in
