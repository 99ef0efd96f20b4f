"""Enrolling a patient and their treatment (for now from the admin and the demo)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction

from recovery import audit
from recovery.models import Clinic, Patient, Product, Treatment, User


def new_patient_user() -> User:
    """A sign-in identity for a patient: no password, they sign in by link."""
    user = User(username=f"patient-{uuid.uuid4().hex}")
    user.set_unusable_password()
    return user


def enroll_patient(
    *,
    clinic: Clinic,
    name: str,
    email: str = "",
    mobile: str = "",
    date_of_birth: dt.date,
    time_zone: str,
    language: str = "en",
    enrolled_by: User | None,
) -> Patient:
    with transaction.atomic():
        user = new_patient_user()
        user.save()
        patient = Patient.objects.create(
            clinic=clinic,
            user=user,
            name=name,
            email=email,
            mobile=mobile,
            date_of_birth=date_of_birth,
            time_zone=time_zone,
            language=language,
        )
        audit.record_event(
            actor=enrolled_by,
            patient=patient,
            action="patient.enrolled",
            object_id=patient.public_id,
            ip_address=None,
        )
    return patient


def add_treatment(
    *,
    patient: Patient,
    product: Product,
    treated_on: dt.date,
    areas: str = "",
    injection_sites: int | None = None,
    session_number: int | None = None,
    lot_number: str = "",
    notes: str = "",
    recorded_by: User | None,
) -> Treatment:
    """A treatment on the patient's record; a returning patient's is the next session."""
    with transaction.atomic():
        if session_number is None:
            session_number = patient.treatments.count() + 1
        treatment = Treatment.objects.create(
            patient=patient,
            product=product,
            treated_on=treated_on,
            areas=areas,
            injection_sites=injection_sites,
            session_number=session_number,
            lot_number=lot_number,
            notes=notes,
        )
        audit.record_event(
            actor=recorded_by,
            patient=patient,
            action="treatment.added",
            object_id=treatment.public_id,
            ip_address=None,
        )
    return treatment
