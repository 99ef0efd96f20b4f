"""The CSV export of check-ins and a patient's audit trail."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
import time_machine
from django.test import Client

from recovery import long_term
from recovery.models import AuditEvent, Clinic, Clinician, Patient, Treatment, User
from tests import factories
from tests.helpers import TREATED_ON, day

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 26, 15, tzinfo=dt.UTC)


def csv_rows(response: object) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(body)))


def test_the_export_has_one_row_per_check_in_in_the_range(
    clinician_client: Client, treatment: Treatment, other_clinic: Clinic
) -> None:
    factories.create_check_in(treatment=treatment, local_date=day(0), swelling=2, redness=1)
    factories.create_check_in(treatment=treatment, local_date=day(1), swelling=3)
    factories.create_check_in(treatment=treatment, local_date=day(5))
    elsewhere = factories.create_patient(clinic=other_clinic, name="Olga Elsewhere")
    other = factories.create_treatment(patient=elsewhere, treated_on=TREATED_ON)
    factories.create_check_in(treatment=other, local_date=day(1))

    response = clinician_client.get(
        "/clinic/export/", {"start": day(0).isoformat(), "end": day(1).isoformat()}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert "Ana" not in response["Content-Disposition"]  # no names in the file name
    rows = csv_rows(response)
    assert [(r["patient_name"], r["date"], r["day"]) for r in rows] == [
        ("Ana Patient", "2026-11-20", "0"),
        ("Ana Patient", "2026-11-21", "1"),
    ]
    assert rows[0]["swelling"] == "2" and rows[0]["redness"] == "1"
    assert (rows[1]["status"], rows[1]["reasons"]) == ("contact_clinic", "severe:swelling")
    assert rows[0]["entered_by_clinic"] == "no"


def test_every_patient_in_an_export_gets_an_audit_row(
    clinician_client: Client, treatment: Treatment, second_patient: Patient, clinician: User
) -> None:
    factories.create_check_in(treatment=treatment, local_date=day(1))
    factories.create_check_in(treatment=second_patient.treatments.get(), local_date=day(1))

    csv_rows(
        clinician_client.get(
            "/clinic/export/", {"start": day(0).isoformat(), "end": day(2).isoformat()}
        )
    )

    events = AuditEvent.objects.filter(action="check_ins.exported")
    assert {e.patient_id for e in events} == {treatment.patient_id, second_patient.pk}
    assert {e.actor for e in events} == {clinician}
    # Who and which patient are kept beside the links, as on every audit row (issue 10).
    assert {(e.actor_ref, e.patient_ref) for e in events} == {
        (clinician.username, treatment.patient.public_id),
        (clinician.username, second_patient.public_id),
    }


def test_patients_words_cannot_become_spreadsheet_formulas(
    clinician_client: Client, treatment: Treatment
) -> None:
    check_in = factories.create_check_in(treatment=treatment, local_date=day(1))
    check_in.note = '=HYPERLINK("http://evil.example","click")'
    check_in.save(update_fields=["note"])

    rows = csv_rows(
        clinician_client.get(
            "/clinic/export/", {"start": day(1).isoformat(), "end": day(1).isoformat()}
        )
    )

    assert rows[0]["note"].startswith("'=")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-11-20", "end": "2026-11-01"}, "on or after the start date"),
        ({"start": "2025-01-01", "end": "2026-11-01"}, "at most 366 days"),
        ({"start": "yesterday", "end": "2026-11-01"}, "Enter a valid date"),
        ({"start": "2026-11-01"}, "This field is required"),
    ],
    ids=["end before start", "too long", "not a date", "no end"],
)
def test_a_bad_range_is_explained_and_exports_nothing(
    clinician_client: Client, treatment: Treatment, params: dict[str, str], message: str
) -> None:
    response = clinician_client.get("/clinic/export/", params)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(action="check_ins.exported").exists()


def test_the_export_page_offers_the_last_30_days(clinician_client: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        page = clinician_client.get("/clinic/export/").content.decode()
    assert 'value="2026-10-27"' in page and 'value="2026-11-26"' in page


def test_patients_cannot_export(client: Client, patient: Patient) -> None:
    client.force_login(patient.user)
    assert (
        client.get(
            "/clinic/export/", {"start": day(0).isoformat(), "end": day(1).isoformat()}
        ).status_code
        == 404
    )


@pytest.fixture
def admin_client(client: Client, clinic: Clinic) -> Client:
    user = factories.create_clinician(clinic=clinic, role=Clinician.Role.ADMIN)
    client.force_login(user)
    return client


def test_a_clinic_admin_reads_a_patients_audit_trail(
    admin_client: Client, treatment: Treatment, patient: Patient
) -> None:
    factories.create_check_in(treatment=treatment, local_date=day(1))

    response = admin_client.get(f"/clinic/patients/{patient.public_id}/audit/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Saved a check-in" in page and "Enrolled the patient" in page
    assert AuditEvent.objects.filter(patient=patient, action="audit_trail.viewed").exists()


def test_the_audit_trail_is_written_in_the_clinics_time_and_names_each_record(
    admin_client: Client, treatment: Treatment, patient: Patient
) -> None:
    """Issue 11: times were UTC, records bare UUIDs, actions codes."""
    import time_machine

    with time_machine.travel(dt.datetime(2026, 11, 21, 15, 30, tzinfo=dt.UTC), tick=False):
        check_in = factories.create_check_in(treatment=treatment, local_date=day(1))

    response = admin_client.get(f"/clinic/patients/{patient.public_id}/audit/")

    page = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())
    assert (
        "Sat 21 Nov 2026, 10:30:00 EST the patient Saved a check-in check-in of day 1 (21 Nov)"
        in page
    )
    assert str(check_in.public_id) not in page
    assert "Viewed the audit trail this patient's record" in page
    assert "(UTC)" not in page


def test_only_clinic_admins_read_audit_trails(clinician_client: Client, patient: Patient) -> None:
    assert clinician_client.get(f"/clinic/patients/{patient.public_id}/audit/").status_code == 403


def test_another_clinics_audit_trail_is_not_found(
    admin_client: Client, other_clinic: Clinic
) -> None:
    elsewhere = factories.create_patient(clinic=other_clinic, name="Olga Elsewhere")
    assert admin_client.get(f"/clinic/patients/{elsewhere.public_id}/audit/").status_code == 404


# The long-term check-ins (issue 13) ------------------------------------------------------

LATE_DAY = dt.date(2027, 1, 21)  # the day after the first long-term due date


def test_long_term_check_ins_follow_the_diary_and_are_audited(
    client: Client,
    treatment: Treatment,
    clinician: User,
    other_clinician: User,
    other_clinic: Clinic,
) -> None:
    elsewhere = factories.create_patient(clinic=other_clinic, name="Olga Elsewhere")
    with time_machine.travel(dt.datetime(2026, 11, 20, 14, tzinfo=dt.UTC), tick=False):
        factories.create_treatment(patient=elsewhere, treated_on=TREATED_ON)
    moment = dt.datetime(2027, 1, 21, 17, tzinfo=dt.UTC)
    for who, lump in ((treatment.patient, True), (elsewhere, False)):
        long_term.record_late_check(
            patient=who,
            answers=long_term.LateAnswers(
                lump=lump, context=frozenset({"recent_dental_work"}), note="=sore"
            ),
            entered_by=None,
            at=moment,
        )
    with time_machine.travel(moment, tick=False):
        client.force_login(clinician)
        rows = csv_rows(client.get("/clinic/export/", {"start": "2027-01-01", "end": "2027-01-31"}))
    assert [(r["patient_name"], r["kind"], r["lump"], r["context"], r["due_on"]) for r in rows] == [
        ("Ana Patient", "long_term", "yes", "recent_dental_work", "2027-01-20")
    ]
    assert rows[0]["date"] == LATE_DAY.isoformat() and rows[0]["note"] == "'=sore"
    assert rows[0]["swelling"] == "" and rows[0]["product"] == "bellafill"
    exported = AuditEvent.objects.filter(action="check_ins.exported")
    assert {e.patient_id for e in exported} == {treatment.patient_id}

    with time_machine.travel(moment, tick=False):
        client.force_login(other_clinician)
        theirs = csv_rows(
            client.get("/clinic/export/", {"start": "2027-01-01", "end": "2027-01-31"})
        )
    assert [r["patient_name"] for r in theirs] == ["Olga Elsewhere"]


def test_the_diary_rows_say_their_kind(clinician_client: Client, treatment: Treatment) -> None:
    factories.create_check_in(treatment=treatment, local_date=day(1))
    rows = csv_rows(
        clinician_client.get(
            "/clinic/export/", {"start": day(0).isoformat(), "end": day(2).isoformat()}
        )
    )
    assert [(r["kind"], r["lump"]) for r in rows] == [("diary", "")]
    assert list(rows[0])[:3] == ["patient_id", "patient_name", "product"]
