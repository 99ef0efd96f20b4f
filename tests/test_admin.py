"""Clinic staff enroll patients in the admin for now, and see only their own clinic."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from recovery.clinicians import give_admin_access
from recovery.models import (
    AuditEvent,
    Clinic,
    Patient,
    Product,
    Treatment,
    Triage,
    TriageCounts,
    User,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client, clinician: User) -> Client:
    give_admin_access(clinician)
    client.force_login(clinician)
    return client


def test_a_clinician_lists_only_their_own_clinics_patients(
    staff_client: Client, patient: Patient, other_clinic: Clinic
) -> None:
    factories.create_patient(clinic=other_clinic, name="Olga Elsewhere")
    page = staff_client.get("/admin/recovery/patient/").content.decode()
    assert "Ana Patient" in page
    assert "Olga Elsewhere" not in page


def test_another_clinics_patient_is_not_found(staff_client: Client, other_clinic: Clinic) -> None:
    other = factories.create_patient(clinic=other_clinic, name="Olga Elsewhere")
    response = staff_client.get(f"/admin/recovery/patient/{other.pk}/change/")
    assert response.status_code == 302  # the admin's "does not exist" redirect
    assert not AuditEvent.objects.filter(patient=other, action="patient.viewed_in_admin").exists()


def test_opening_a_patient_in_the_admin_is_audited(
    staff_client: Client, patient: Patient, clinician: User
) -> None:
    assert staff_client.get(f"/admin/recovery/patient/{patient.pk}/change/").status_code == 200
    event = AuditEvent.objects.get(action="patient.viewed_in_admin")
    assert (event.actor, event.patient) == (clinician, patient)


def test_enrolling_in_the_admin_makes_a_patient_who_can_sign_in_by_link(
    staff_client: Client, clinic: Clinic, other_clinic: Clinic
) -> None:
    form = staff_client.get("/admin/recovery/patient/add/").content.decode()
    assert "Harbour Aesthetics" not in form  # only their own clinic is offered

    response = staff_client.post(
        "/admin/recovery/patient/add/",
        {
            "clinic": clinic.pk,
            "name": "Nadia New",
            "email": "nadia@example.com",
            "mobile": "",
            "date_of_birth": "1990-01-02",
            "time_zone": "America/New_York",
            "language": "en",
            "treatments-TOTAL_FORMS": "1",
            "treatments-INITIAL_FORMS": "0",
            "treatments-0-product": Product.objects.get(code="bellafill").pk,
            "treatments-0-treated_on": "2026-11-20",
            "treatments-0-session_number": "1",
            "treatments-0-areas": "Both cheeks",
        },
    )

    assert response.status_code == 302, response.content.decode()
    nadia = Patient.objects.get(name="Nadia New")
    assert nadia.clinic == clinic
    assert not nadia.user.has_usable_password()
    assert nadia.treatments.get().product.code == "bellafill"
    assert AuditEvent.objects.filter(patient=nadia, action="patient.enrolled").exists()


def test_changing_a_treatments_date_in_the_admin_moves_it_on_the_dashboard(
    staff_client: Client, patient: Patient, treatment: Treatment
) -> None:
    assert treatment.triage == Triage.ON_TRACK
    response = staff_client.post(
        f"/admin/recovery/patient/{patient.pk}/change/",
        {
            "clinic": patient.clinic_id,
            "name": patient.name,
            "email": patient.email,
            "mobile": "",
            "date_of_birth": patient.date_of_birth.isoformat(),
            "time_zone": patient.time_zone,
            "language": "en",
            "treatments-TOTAL_FORMS": "1",
            "treatments-INITIAL_FORMS": "1",
            "treatments-0-id": treatment.pk,
            "treatments-0-patient": patient.pk,
            "treatments-0-product": treatment.product_id,
            "treatments-0-treated_on": "2026-09-01",  # the diary ended long ago
            "treatments-0-session_number": "1",
        },
    )

    assert response.status_code == 302, response.content.decode()
    treatment.refresh_from_db()
    assert treatment.triage == Triage.DIARY_FINISHED
    counts = TriageCounts.objects.get(clinic=patient.clinic)
    assert (counts.on_track, counts.diary_finished) == (0, 1)


def test_a_clinician_cannot_enroll_into_another_clinic(
    staff_client: Client, other_clinic: Clinic
) -> None:
    response = staff_client.post(
        "/admin/recovery/patient/add/",
        {
            "clinic": other_clinic.pk,
            "name": "Sneaky",
            "email": "sneaky@example.com",
            "date_of_birth": "1990-01-02",
            "time_zone": "America/New_York",
            "language": "en",
            "treatments-TOTAL_FORMS": "0",
            "treatments-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, with an error
    assert not Patient.objects.filter(name="Sneaky").exists()


def test_audit_rows_cannot_be_changed_or_deleted_in_the_admin(
    client: Client, patient: Patient
) -> None:
    admin = User.objects.create_superuser("root", "root@example.com", "a long password 123")
    client.force_login(admin)
    event = AuditEvent.objects.filter(patient=patient).first()
    assert event is not None
    assert client.get(f"/admin/recovery/auditevent/{event.pk}/delete/").status_code == 403
    response = client.post(f"/admin/recovery/auditevent/{event.pk}/change/", {"action": "x"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.action != "x"


def test_the_demo_clinicians_can_enroll_in_the_admin(client: Client) -> None:
    call_command("demo", stdout=io.StringIO())
    nurse = User.objects.get(username="nurse@demo-clinic.example")
    assert nurse.check_password("demo-clinic-2026")
    client.force_login(nurse)
    page = client.get("/admin/recovery/patient/")
    assert page.status_code == 200
    assert "Ana Silva" in page.content.decode()
    assert "Oliver Bennett" not in page.content.decode()  # Harbour Aesthetics' patient
    assert client.get("/admin/recovery/patient/add/").status_code == 200
