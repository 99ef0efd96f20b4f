"""The demo's own clinics, clinicians and patients (recovery.demo.scenarios), written to
the database through the app's write functions, or brought up to date on a re-run.

Each patient is enrolled (once: a re-run deletes their treatment and records a new one),
and each check-in of their diary is recorded on its own day at its own time
(`checkins.record_check_in` with `today=` and `at=`), which assesses it, opens or raises
its alert and keeps the dashboard's place, as when a patient sends it. Then the clinic's
rows are swept at `now` (`triage.sweep_triage`): the days since each patient's last
check-in make the missed check-ins and the finished diaries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from recovery import checkins
from recovery.clinicians import give_admin_access
from recovery.demo.scenarios import (
    DEMO_CLINICS,
    ClinicianSpec,
    ClinicSpec,
    Entry,
    PatientSpec,
    sent_at,
)
from recovery.enrollment import (
    PatientDetails,
    TreatmentDetails,
    add_treatment,
    columns,
    delete_treatment,
    enroll_patient,
)
from recovery.login_links import hand_out_login_link
from recovery.models import CheckIn, Clinic, Clinician, Patient, Product, Treatment, User
from recovery.triage import sweep_triage


# What was created, for the summary and --json.
@dataclass(frozen=True)
class DemoPatient:
    name: str
    email: str
    state: str
    status: str
    treated_on: dt.date
    time_zone: str
    login_url: str


@dataclass(frozen=True)
class DemoClinician:
    username: str
    password: str
    role: str
    user: User


@dataclass(frozen=True)
class DemoClinic:
    clinic: Clinic
    clinicians: list[DemoClinician]
    patients: list[DemoPatient]


def save_clinic(*, spec: ClinicSpec) -> Clinic:
    """The clinic's row, as yet without an alert address: the alerts its patients' diaries
    opened days ago are not emailed now (build_demo sets the address once they are written)."""
    details = spec.clinic.fields()
    clinic, _ = Clinic.objects.update_or_create(
        name=details.pop("name"), defaults={**details, "alert_email": ""}
    )
    return clinic


def save_clinician(*, clinic: Clinic, spec: ClinicianSpec, password: str) -> DemoClinician:
    user, _ = User.objects.update_or_create(
        username=spec.username,
        defaults={
            "email": spec.username,
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "is_active": True,
        },
    )
    # Setting the same password again would sign the clinician out everywhere. (A new
    # user has none: checking would only spend a hash's time on nothing.)
    if not user.password or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    Clinician.objects.update_or_create(user=user, defaults={"clinic": clinic, "role": spec.role})
    give_admin_access(user)
    return DemoClinician(username=spec.username, password=password, role=spec.role.value, user=user)


def save_patient(*, clinic: Clinic, spec: PatientSpec) -> Patient:
    """The demo patient, enrolled once; a re-run starts their record afresh."""
    details = PatientDetails(
        name=spec.name,
        email=spec.email,
        mobile=spec.mobile,
        date_of_birth=spec.date_of_birth,
        time_zone=spec.time_zone or clinic.time_zone,
        language=spec.language,
    )
    patient = Patient.objects.filter(clinic=clinic, email=spec.email).first()
    if patient is None:
        return enroll_patient(clinic=clinic, details=details, enrolled_by=None)
    for name, value in columns(details).items():
        setattr(patient, name, value)
    patient.save(update_fields=list(columns(details)))
    for treatment in patient.treatments.all():
        delete_treatment(treatment, by=None)
    return patient


def record_visit(
    *, patient: Patient, spec: PatientSpec, treated_on: dt.date, now: dt.datetime
) -> Treatment:
    """The demo patient's treatment, recorded at 8 on its day (before the first check-in)
    but never later than `now`."""
    visit = dt.datetime.combine(treated_on, dt.time(8), tzinfo=ZoneInfo(patient.time_zone))
    details = TreatmentDetails(
        product=Product.objects.get(code=spec.product),
        treated_on=treated_on,
        areas=spec.areas,
        injection_sites=8,
        lot_number="DEMO-0001",
    )
    return add_treatment(patient=patient, details=details, recorded_by=None, at=min(visit, now))


def demo_patient(
    patient: Patient, treatment: Treatment, *, state: str, status: str, now: dt.datetime
) -> DemoPatient:
    """What the summary says of a demo patient, with a fresh login link."""
    return DemoPatient(
        name=patient.name,
        email=patient.email,
        state=state,
        status=status,
        treated_on=treatment.treated_on,
        time_zone=patient.time_zone,
        login_url=hand_out_login_link(patient=patient, at=now, issued_by=None, ip_address=None),
    )


def write_diary(*, treatment: Treatment, entries: Sequence[Entry], now: dt.datetime) -> CheckIn:
    """Each entry recorded as the patient sent it, on its own day at its own time; the last
    check-in."""
    patient = treatment.patient
    recorded = []
    for entry in entries:
        local_date = treatment.treated_on + dt.timedelta(days=entry.day)
        recorded.append(
            checkins.record_check_in(
                treatment=treatment,
                local_date=local_date,
                answers=entry.answers(),
                note=entry.note,
                entered_by=patient.user,
                today=local_date,
                at=sent_at(on=local_date, day=entry.day, time_zone=patient.time_zone, now=now),
            ).check_in
        )
    return recorded[-1]


def build_demo_patient(*, clinic: Clinic, spec: PatientSpec, now: dt.datetime) -> DemoPatient:
    patient = save_patient(clinic=clinic, spec=spec)
    today = timezone.localdate(now, timezone=ZoneInfo(patient.time_zone))
    scenario = spec.scenario
    treated_on = today - dt.timedelta(days=scenario.days_since_treatment)
    treatment = record_visit(patient=patient, spec=spec, treated_on=treated_on, now=now)
    last = write_diary(treatment=treatment, entries=scenario.entries, now=now)
    state = f"day {scenario.days_since_treatment}, {scenario.label}"
    return demo_patient(patient, treatment, state=state, status=last.status, now=now)


def build_demo(*, now: dt.datetime) -> list[DemoClinic]:
    """The demo clinics, clinicians and patients, created or brought up to date."""
    result = []
    with transaction.atomic():
        for spec in DEMO_CLINICS:
            clinic = save_clinic(spec=spec)
            clinicians = [
                save_clinician(clinic=clinic, spec=c, password=spec.password)
                for c in spec.clinicians
            ]
            patients = [build_demo_patient(clinic=clinic, spec=p, now=now) for p in spec.patients]
            sweep_triage(now=now, clinic=clinic)
            clinic.alert_email = spec.alert_email
            clinic.save(update_fields=["alert_email"])
            result.append(DemoClinic(clinic=clinic, clinicians=clinicians, patients=patients))
    return result
