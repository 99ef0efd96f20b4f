"""Clinic staff enroll patients in the admin for now, and see only their own clinic."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import Client

from recovery.clinicians import give_admin_access
from recovery.models import (
    AuditEvent,
    Clinic,
    Clinician,
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


def test_a_list_page_audits_each_patient_it_shows(
    staff_client: Client, patient: Patient, second_patient: Patient, clinician: User
) -> None:
    """The old admin wrote no audit row for a list of names, emails and mobiles."""
    assert staff_client.get("/admin/recovery/patient/").status_code == 200
    listed = AuditEvent.objects.filter(action="patient.listed_in_admin")
    assert {e.patient for e in listed} == {patient, second_patient}
    assert {e.actor for e in listed} == {clinician}


def test_opening_a_check_in_in_the_admin_is_audited(
    staff_client: Client, treatment: Treatment, patient: Patient
) -> None:
    check_in = factories.create_check_in(treatment=treatment, local_date=treatment.treated_on)
    staff_client.get("/admin/recovery/checkin/")
    page = staff_client.get(f"/admin/recovery/checkin/{check_in.pk}/change/")
    assert page.status_code == 200
    event = AuditEvent.objects.get(action="check_in.viewed_in_admin")
    assert (event.patient, event.object_id) == (patient, str(check_in.public_id))
    assert AuditEvent.objects.filter(action="patient.listed_in_admin", patient=patient).exists()


def test_staff_cannot_enroll_or_change_patient_data_in_the_admin(
    staff_client: Client, clinic: Clinic, patient: Patient, treatment: Treatment
) -> None:
    """Enrollment has one door (the clinic's page, with the pre-treatment checklist): the old
    admin let staff add patients and treatments without it."""
    assert staff_client.get("/admin/recovery/patient/add/").status_code == 403
    response = staff_client.post(
        "/admin/recovery/patient/add/",
        {
            "clinic": clinic.pk,
            "name": "Nadia New",
            "email": "nadia@example.com",
            "date_of_birth": "1990-01-02",
            "time_zone": "America/New_York",
            "language": "en",
            "treatments-TOTAL_FORMS": "1",
            "treatments-INITIAL_FORMS": "0",
            "treatments-0-product": Product.objects.get(code="bellafill").pk,
            "treatments-0-treated_on": "2026-11-20",
        },
    )
    assert response.status_code == 403
    assert not Patient.objects.filter(name="Nadia New").exists()
    page = staff_client.get(f"/admin/recovery/patient/{patient.pk}/change/").content.decode()
    assert "Save" not in page and 'name="name"' not in page  # read-only
    response = staff_client.post(
        f"/admin/recovery/patient/{patient.pk}/change/",
        {**patient_form(patient), "name": "Changed", "treatments-0-treated_on": "2026-09-01"},
    )
    assert response.status_code == 403
    patient.refresh_from_db()
    treatment.refresh_from_db()
    assert (patient.name, treatment.treated_on.isoformat()) == ("Ana Patient", "2026-11-20")


@pytest.fixture
def superuser_client(client: Client) -> Client:
    root = User.objects.create_superuser("root", "root@example.com", "a long password 123")
    client.force_login(root)
    return client


def patient_form(patient: Patient, **changes: object) -> dict[str, object]:
    """The admin's change form for `patient` as it shows them, with their one treatment."""
    treatment = patient.treatments.get()
    return {
        "clinic": patient.clinic_id,
        "name": patient.name,
        "email": patient.email,
        "mobile": patient.mobile,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "time_zone": patient.time_zone,
        "language": patient.language,
        "treatments-TOTAL_FORMS": "1",
        "treatments-INITIAL_FORMS": "1",
        "treatments-0-id": treatment.pk,
        "treatments-0-patient": patient.pk,
        "treatments-0-product": treatment.product_id,
        "treatments-0-treated_on": treatment.treated_on.isoformat(),
        "treatments-0-session_number": str(treatment.session_number),
        **changes,
    }


def test_a_superuser_changing_a_treatments_date_moves_it_on_the_dashboard(
    superuser_client: Client, patient: Patient, treatment: Treatment
) -> None:
    assert treatment.triage == Triage.ON_TRACK
    response = superuser_client.post(
        f"/admin/recovery/patient/{patient.pk}/change/",
        patient_form(patient, **{"treatments-0-treated_on": "2026-09-01"}),  # diary long over
    )

    assert response.status_code == 302, response.content.decode()
    treatment.refresh_from_db()
    assert treatment.triage == Triage.DIARY_FINISHED
    counts = TriageCounts.objects.get(clinic=patient.clinic)
    assert (counts.on_track, counts.diary_finished) == (0, 1)
    assert AuditEvent.objects.filter(action="treatment.changed", patient=patient).exists()


def test_a_superuser_correcting_the_time_zone_or_a_date_moves_the_reminders(
    superuser_client: Client, patient: Patient, treatment: Treatment
) -> None:
    change = f"/admin/recovery/patient/{patient.pk}/change/"
    with time_machine.travel(dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC), tick=False):
        for day in (treatment.treated_on, treatment.treated_on + dt.timedelta(days=1)):
            factories.create_check_in(treatment=treatment, local_date=day)
        response = superuser_client.post(change, patient_form(patient, time_zone="Europe/London"))
        assert response.status_code == 302, response.content.decode()
        treatment.refresh_from_db()
        assert treatment.next_reminder_at == dt.datetime(2026, 11, 22, 19, 0, tzinfo=dt.UTC)

        patient.refresh_from_db()
        response = superuser_client.post(
            change, patient_form(patient, **{"treatments-0-treated_on": "2026-09-01"})
        )
        assert response.status_code == 302, response.content.decode()
        treatment.refresh_from_db()
        assert treatment.next_reminder_at is None  # that diary is long over


def test_a_patient_moved_to_another_clinic_takes_everything_with_them(
    superuser_client: Client,
    patient: Patient,
    treatment: Treatment,
    clinic: Clinic,
    other_clinic: Clinic,
    other_clinician: User,
    clinician: User,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[object]],
) -> None:
    """The old admin moved the patient alone: their treatments (and so the dashboard, the
    export, the alert pages and the alert emails) stayed with the old clinic."""
    other_clinic.alert_email = "alerts@harbour.example"
    other_clinic.save()
    factories.create_check_in(treatment=treatment, local_date=treatment.treated_on, pain=3)
    alert = treatment.alerts.get()

    response = superuser_client.post(
        f"/admin/recovery/patient/{patient.pk}/change/",
        patient_form(patient, clinic=other_clinic.pk),
    )

    assert response.status_code == 302, response.content.decode()
    treatment.refresh_from_db()
    assert (treatment.clinic, treatment.patient.clinic) == (other_clinic, other_clinic)
    new_desk, old_desk = Client(), Client()
    new_desk.force_login(other_clinician)
    old_desk.force_login(clinician)
    assert "Ana Patient" in new_desk.get("/clinic/").content.decode()
    assert "Ana Patient" not in old_desk.get("/clinic/").content.decode()
    assert new_desk.get(f"/clinic/alerts/{alert.public_id}/resolve/").status_code == 200
    assert old_desk.get(f"/clinic/alerts/{alert.public_id}/resolve/").status_code == 404
    assert TriageCounts.objects.get(clinic=clinic).contact_clinic == 0
    assert TriageCounts.objects.get(clinic=other_clinic).contact_clinic == 1
    moved = AuditEvent.objects.get(action="patient.moved")
    assert (moved.patient, moved.object_id) == (patient, str(other_clinic.public_id))

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        factories.create_check_in(
            treatment=treatment,
            local_date=treatment.treated_on,
            pain=3,
            red_flags=frozenset({"vision"}),
        )
    assert [m.to for m in mail.outbox] == [["alerts@harbour.example"]]


def test_a_plain_clinician_cannot_read_the_audit_trail_in_the_admin(
    staff_client: Client, patient: Patient
) -> None:
    """The old admin showed it to every clinician; the clinic's page only to clinic admins."""
    assert staff_client.get("/admin/recovery/auditevent/").status_code == 403
    event = AuditEvent.objects.filter(patient=patient).first()
    assert event is not None
    assert staff_client.get(f"/admin/recovery/auditevent/{event.pk}/change/").status_code == 403
    assert "Audit events" not in staff_client.get("/admin/").content.decode()


def test_a_clinic_admin_reads_the_audit_trail_in_the_admin_and_that_is_audited(
    client: Client, clinic: Clinic, patient: Patient
) -> None:
    boss = factories.create_clinician(
        clinic=clinic, email="boss@riverside.example", role=Clinician.Role.ADMIN
    )
    give_admin_access(boss)
    client.force_login(boss)
    assert client.get("/admin/recovery/auditevent/").status_code == 200
    assert AuditEvent.objects.filter(action="audit.viewed_in_admin", actor=boss).exists()


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


def test_the_demo_clinicians_can_read_their_clinic_in_the_admin(client: Client) -> None:
    call_command("demo", stdout=io.StringIO())
    nurse = User.objects.get(username="nurse@demo-clinic.example")
    assert nurse.check_password("demo-clinic-2026")
    client.force_login(nurse)
    page = client.get("/admin/recovery/patient/")
    assert page.status_code == 200
    assert "Ana Silva" in page.content.decode()
    assert "Oliver Bennett" not in page.content.decode()  # Harbour Aesthetics' patient
    assert client.get("/admin/recovery/patient/add/").status_code == 403
