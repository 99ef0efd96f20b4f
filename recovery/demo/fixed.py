"""The demo's own clinics, clinicians and patients (recovery.demo.scenarios), written to
the database, or brought up to date on a re-run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from recovery import audit
from recovery.clinicians import give_admin_access
from recovery.demo.bulk import DiaryWriter, scenario_diary
from recovery.demo.scenarios import DEMO_CLINICS, ClinicianSpec, ClinicSpec, PatientSpec
from recovery.enrollment import add_treatment, enroll_patient
from recovery.login_links import issue_login_link
from recovery.models import AuditEvent, Clinic, Clinician, Patient, Product, User


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
    details = spec.clinic.fields()
    clinic, _ = Clinic.objects.update_or_create(
        name=details.pop("name"), defaults={**details, "alert_email": spec.alert_email}
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
    time_zone = spec.time_zone or clinic.time_zone
    patient = Patient.objects.filter(clinic=clinic, email=spec.email).first()
    if patient is None:
        return enroll_patient(
            clinic=clinic,
            name=spec.name,
            email=spec.email,
            mobile=spec.mobile,
            date_of_birth=spec.date_of_birth,
            time_zone=time_zone,
            language=spec.language,
            enrolled_by=None,
        )
    patient.name, patient.date_of_birth, patient.mobile = spec.name, spec.date_of_birth, spec.mobile
    patient.time_zone, patient.language = time_zone, spec.language
    patient.save(update_fields=["name", "date_of_birth", "mobile", "time_zone", "language"])
    for treatment in patient.treatments.all():
        public_id = treatment.public_id
        treatment.delete()
        audit.record_event(
            actor=None,
            patient=patient,
            action=AuditEvent.Action.TREATMENT_DELETED,
            object_id=public_id,
            ip_address=None,
        )
    return patient


def build_demo_patient(
    *,
    clinic: Clinic,
    spec: PatientSpec,
    products: dict[str, Product],
    writer: DiaryWriter,
    now: dt.datetime,
) -> DemoPatient:
    patient = save_patient(clinic=clinic, spec=spec)
    today = timezone.localdate(now, timezone=ZoneInfo(patient.time_zone))
    scenario = spec.scenario
    treatment = add_treatment(
        patient=patient,
        product=products[spec.product],
        treated_on=today - dt.timedelta(days=scenario.days_since_treatment),
        areas=spec.areas,
        injection_sites=8,
        lot_number="DEMO-0001",
        recorded_by=None,
    )
    days = scenario_diary(
        treatment=treatment, entries=scenario.entries, time_zone=patient.time_zone, now=now
    )
    writer.write(treatment, days)
    return DemoPatient(
        name=patient.name,
        email=patient.email,
        state=f"day {scenario.days_since_treatment}, {scenario.label}",
        status=days[-1].assessment.status.value,
        treated_on=treatment.treated_on,
        time_zone=patient.time_zone,
        login_url=issue_login_link(patient=patient, at=now),
    )


def build_demo(*, now: dt.datetime) -> list[DemoClinic]:
    """The demo clinics, clinicians and patients, created or brought up to date."""
    products = {p.code: p for p in Product.objects.all()}
    result = []
    with transaction.atomic():
        writer = DiaryWriter(now=now, seed=0, audit_check_ins=True)
        for spec in DEMO_CLINICS:
            clinic = save_clinic(spec=spec)
            clinicians = [
                save_clinician(clinic=clinic, spec=c, password=spec.password)
                for c in spec.clinicians
            ]
            writer.clinicians[clinic.pk] = [c.user for c in clinicians]
            patients = [
                build_demo_patient(clinic=clinic, spec=p, products=products, writer=writer, now=now)
                for p in spec.patients
            ]
            result.append(DemoClinic(clinic=clinic, clinicians=clinicians, patients=patients))
        writer.finish()
    return result
