"""A clinic page opened earlier never acts on what it did not show (issue 9, part 1).

The resolve and acknowledge forms carry the alert's version as their page showed it,
and the clinic's "record a check-in from a call" carries the version of the day's
check-in; the write refuses a stale one (409) and the page shows what is there now.
The same writes racing on their own connections are in test_concurrency.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from recovery.models import Alert, AuditEvent, CheckIn, Patient, Treatment, User
from tests import factories
from tests.helpers import at_local, text_of
from tests.test_check_in_views import TODAY
from tests.test_clinic_patient import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _on_day_5() -> Iterator[None]:
    with at_local(TODAY, 10):
        yield


@pytest.fixture
def desk(client: Client, clinician: User) -> Client:
    client.force_login(clinician)
    return client


def severe_pain_then_eyesight(treatment: Treatment) -> tuple[Alert, int]:
    """An alert shown at contact clinic (its version then), raised to urgent after."""
    factories.create_check_in(treatment=treatment, local_date=TODAY, pain=3)
    alert = Alert.objects.get()
    shown = alert.version
    factories.create_check_in(
        treatment=treatment, local_date=TODAY, pain=3, red_flags=frozenset({"vision"})
    )
    return alert, shown


def test_a_resolve_from_a_page_shown_before_the_alert_was_raised_is_refused(
    desk: Client, treatment: Treatment
) -> None:
    alert, shown = severe_pain_then_eyesight(treatment)

    response = desk.post(
        f"/clinic/alerts/{alert.public_id}/resolve/",
        {"outcome": "advised_at_home", "note": "Cold compress.", "version": str(shown)},
    )

    assert response.status_code == 409
    said = text_of(response)
    assert "This alert has changed since your page showed it (it is now urgent)" in said
    assert "Warning sign: Eyesight or eye change" in said  # the alert as it is now
    assert "Cold compress." in response.content.decode()  # the note kept to send again
    assert f'name="version" value="{shown + 1}"' in response.content.decode()
    alert.refresh_from_db()
    assert (alert.level, alert.resolved_at) == ("urgent", None)
    assert not AuditEvent.objects.filter(action="alert.resolved").exists()

    # Sent again from the page that now shows the eyesight: resolved.
    again = desk.post(
        f"/clinic/alerts/{alert.public_id}/resolve/",
        {"outcome": "seen_in_clinic", "note": "Seen at once.", "version": str(shown + 1)},
    )
    assert again.status_code == 302
    alert.refresh_from_db()
    assert alert.outcome == "seen_in_clinic"


def test_an_acknowledge_from_a_page_shown_before_the_alert_was_raised_is_refused(
    desk: Client, treatment: Treatment
) -> None:
    alert, shown = severe_pain_then_eyesight(treatment)

    for headers in ({}, {"HX-Request": "true", "HX-Target": f"alert-{alert.public_id}"}):
        response = desk.post(
            f"/clinic/alerts/{alert.public_id}/acknowledge/",
            {"version": str(shown)},
            headers=headers,
        )
        assert response.status_code == 409
        assert "This alert has changed since your page showed it" in text_of(response)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


@pytest.mark.parametrize("version", [None, "", "0", "x", "-3"])
def test_an_acknowledge_or_resolve_without_the_version_shown_changes_nothing(
    desk: Client, treatment: Treatment, version: str | None
) -> None:
    factories.create_check_in(treatment=treatment, local_date=TODAY, pain=3)
    alert = Alert.objects.get()
    data = {} if version is None else {"version": version}

    acknowledged = desk.post(f"/clinic/alerts/{alert.public_id}/acknowledge/", data)
    resolved = desk.post(
        f"/clinic/alerts/{alert.public_id}/resolve/",
        {**data, "outcome": "referred", "note": "Sent on."},
    )

    assert acknowledged.status_code == 400
    assert resolved.status_code in (409, 422)
    assert response_is_page(resolved)
    alert.refresh_from_db()
    assert (alert.acknowledged_at, alert.resolved_at) == (None, None)


def response_is_page(response: object) -> bool:
    return "Alert:" in text_of(response)  # type: ignore[arg-type]


def test_a_check_in_by_phone_over_one_the_patient_changed_meanwhile_is_refused(
    desk: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    path = f"/clinic/patients/{patient.public_id}/check-in/"
    factories.create_check_in(treatment=treatment, local_date=TODAY, swelling=1)
    page = desk.get(path).content.decode()
    assert 'name="version" value="1"' in page
    # Meanwhile the patient answers "Something feels wrong" on their phone.
    factories.create_check_in(
        treatment=treatment, local_date=TODAY, swelling=1, red_flags=frozenset({"allergy"})
    )

    response = desk.post(path, form_data(TODAY, swelling=2, note="By phone", version=1))

    assert response.status_code == 409
    said = text_of(response)
    assert "Not saved: the check-in changed meanwhile" in said
    assert "It now says: Urgent (Warning sign: Hives" in said
    page = response.content.decode()
    assert "By phone" in page  # the clinician's answers are kept
    assert 'name="version" value="2"' in page
    saved = CheckIn.objects.get()
    assert (saved.swelling, saved.red_flags, saved.entered_by) == (1, ["allergy"], patient.user)

    again = desk.post(path, form_data(TODAY, swelling=2, flags=["allergy"], version=2))
    assert again.status_code == 302
    assert CheckIn.objects.get().entered_by == clinician


def test_a_check_in_by_phone_for_a_day_the_patient_filled_in_meanwhile_is_refused(
    desk: Client, patient: Patient, treatment: Treatment
) -> None:
    path = f"/clinic/patients/{patient.public_id}/check-in/"
    assert 'name="version" value="0"' in desk.get(path).content.decode()
    factories.create_check_in(treatment=treatment, local_date=TODAY, swelling=1)

    response = desk.post(path, form_data(TODAY, swelling=2, version=0))

    assert response.status_code == 409
    assert CheckIn.objects.get().swelling == 1
