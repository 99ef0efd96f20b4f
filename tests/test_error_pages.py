"""403, 404 and 500 are pages a person can read, with a way back (issue 11)."""

from __future__ import annotations

import pytest
from django.test import Client

from recovery.models import Clinician, Patient, Treatment, User
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_missing_page_says_so_with_a_way_back(patient_client: Client) -> None:
    response = patient_client.get("/check-ins/00000000-0000-0000-0000-000000000000/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "We can&#x27;t find that page" in page or "We can't find that page" in page
    assert 'href="/"' in page and "/static/css/app" in page


def test_a_plain_clinician_is_not_offered_the_audit_trail_and_a_403_is_a_page(
    client: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    client.force_login(clinician)
    record = client.get(f"/clinic/patients/{patient.public_id}/").content.decode()
    assert "Audit trail" not in record
    refused = client.get(f"/clinic/patients/{patient.public_id}/audit/")
    assert refused.status_code == 403
    page = refused.content.decode()
    # A clinic page, with the way back to the clinic's start (not the patient's home).
    assert "This page is not open to you" in page and 'href="/clinic/">Back to the start' in page
    assert "/static/css/app" in page and "/static/css/clinic" in page
    assert "/static/js/offline" not in page

    boss = factories.create_clinician(
        clinic=patient.clinic, email="boss@riverside.example", role=Clinician.Role.ADMIN
    )
    client.force_login(boss)
    assert "Audit trail" in client.get(f"/clinic/patients/{patient.public_id}/").content.decode()


def test_a_server_error_is_a_page_that_still_says_what_to_do() -> None:
    from django.template.loader import render_to_string

    page = render_to_string("500.html")  # as Django renders it: no request, no context
    assert "Something went wrong on our side" in page
    assert "call your clinic, or your emergency number" in page
