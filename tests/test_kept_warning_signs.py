"""A warning sign is never dropped, and a replayed key never hides other answers.

A check-in kept on the phone offline is sent later for the day the patient made it
(offline.js sets the date and `answered_at` from the phone's clock). When that day can
no longer be filled in, the check-in is refused, but its warning signs still reach the
clinic (issue 9, parts 3 and 5).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import timezone

from recovery import checkins, course
from recovery.models import Alert, AuditEvent, CheckIn, Patient, Treatment, User, WarningSignReport
from tests import factories
from tests.helpers import at_local, text_of
from tests.test_check_in_views import TODAY, YESTERDAY, form_data, send

pytestmark = pytest.mark.django_db

# The phone's clock when the patient answered, offline: 23:10 yesterday in New York.
ANSWERED_AT = "2026-11-25T04:10:00.000Z"


@pytest.fixture(autouse=True)
def _on_day_5() -> Iterator[None]:
    with at_local(TODAY, 8, 5):
        yield


def offline(data: dict[str, str], *, answered_at: str = ANSWERED_AT) -> dict[str, str]:
    """What offline.js sends for a check-in kept on the phone."""
    return {**data, "answered_at": answered_at, "idempotency_key": str(uuid.uuid4())}


def test_a_warning_sign_for_a_day_that_is_already_filled_in_still_reaches_the_clinic(
    patient_client: Client, treatment: Treatment, patient: Patient
) -> None:
    """The old code refused it and dropped it: the clinic never heard of the eyesight."""
    factories.create_check_in(treatment=treatment, local_date=YESTERDAY)
    data = offline(form_data(YESTERDAY, flags=["vision"], note="Blurry since dinner"))

    response = send(patient_client, data)

    assert response.status_code == 400
    said = text_of(response)
    assert "Yesterday's check-in is already saved" in said
    assert "Your clinic has been told about the warning signs you reported." in said
    # What to do, as after any urgent check-in: the emergency number first.
    assert said.index("Call 911 now") < said.index("Call Riverside Skin Clinic")
    report = WarningSignReport.objects.get()
    assert (report.treatment, report.local_date, report.red_flags) == (
        treatment,
        YESTERDAY,
        ["vision"],
    )
    assert report.answered_at == dt.datetime(2026, 11, 25, 4, 10, tzinfo=dt.UTC)
    assert report.note == "Blurry since dinner"
    assert "already saved" in report.refusal
    alert = Alert.objects.get()
    assert (alert.level, alert.reasons, alert.report, alert.check_in) == (
        "urgent",
        ["red_flag:vision"],
        report,
        None,
    )
    assert CheckIn.objects.count() == 1  # yesterday's, unchanged
    treatment.refresh_from_db()
    assert treatment.open_alert == alert
    assert treatment.get_triage_display() == "Urgent"
    assert AuditEvent.objects.filter(
        action="warning_signs.reported", patient=patient, object_id=str(report.public_id)
    ).exists()
    assert AuditEvent.objects.filter(action="alert.opened", object_id=str(alert.public_id))


def test_the_same_refused_submission_sent_again_is_kept_once(
    patient_client: Client, treatment: Treatment
) -> None:
    factories.create_check_in(treatment=treatment, local_date=YESTERDAY)
    data = offline(form_data(YESTERDAY, flags=["allergy"]))
    assert send(patient_client, data).status_code == 400

    again = send(patient_client, data)

    assert again.status_code == 400
    assert "already sent" in text_of(again)
    assert "Your clinic has been told" in text_of(again)
    assert WarningSignReport.objects.count() == 1
    assert Alert.objects.get().version == 1


def test_a_refused_check_in_without_a_warning_sign_keeps_nothing(
    patient_client: Client, treatment: Treatment
) -> None:
    response = send(patient_client, offline(form_data(TODAY - dt.timedelta(days=3))))

    assert response.status_code == 400
    assert "can no longer be filled in" in text_of(response)
    assert "told" not in text_of(response)
    assert not WarningSignReport.objects.exists()
    assert not Alert.objects.exists()


def test_an_offline_check_in_for_the_day_it_was_made_is_saved(
    patient_client: Client, treatment: Treatment
) -> None:
    response = send(patient_client, offline(form_data(YESTERDAY, flags=["infection"])))

    assert response.status_code == 302
    saved = CheckIn.objects.get()
    assert (saved.local_date, saved.red_flags) == (YESTERDAY, ["infection"])
    assert not WarningSignReport.objects.exists()


def test_a_phone_clock_ahead_of_time_is_taken_as_now(
    patient_client: Client, treatment: Treatment
) -> None:
    factories.create_check_in(treatment=treatment, local_date=YESTERDAY)
    data = offline(form_data(YESTERDAY, flags=["stroke"]), answered_at="2030-01-01T00:00:00Z")

    assert send(patient_client, data).status_code == 400

    report = WarningSignReport.objects.get()
    assert report.answered_at == report.received_at


def test_a_malformed_answer_time_is_refused_and_nothing_is_kept(
    patient_client: Client, treatment: Treatment
) -> None:
    data = offline(form_data(TODAY, flags=["stroke"]), answered_at="yesterday evening")

    response = send(patient_client, data)

    assert response.status_code == 422
    assert not CheckIn.objects.exists() and not WarningSignReport.objects.exists()


def test_a_key_sent_again_with_other_answers_is_refused_with_409(
    patient_client: Client, treatment: Treatment
) -> None:
    key = str(uuid.uuid4())
    assert (
        send(patient_client, {**form_data(TODAY, swelling=1), "idempotency_key": key}).status_code
        == 302
    )

    response = send(patient_client, {**form_data(TODAY, swelling=2), "idempotency_key": key})

    assert response.status_code == 409
    assert "already sent with other answers" in text_of(response)
    assert CheckIn.objects.get().swelling == 1
    # The same answers again are still a harmless replay.
    same = send(patient_client, {**form_data(TODAY, swelling=1), "idempotency_key": key})
    assert same.status_code == 302


def test_a_key_sent_again_with_a_new_warning_sign_still_raises_the_alert(
    patient_client: Client, treatment: Treatment
) -> None:
    key = str(uuid.uuid4())
    first = {**form_data(TODAY, swelling=1), "idempotency_key": key}
    assert send(patient_client, first).status_code == 302

    response = send(patient_client, {**first, "skin_color": "yes"})

    assert response.status_code == 409
    assert "Your clinic has been told" in text_of(response)
    assert CheckIn.objects.get().red_flags == []
    alert = Alert.objects.get()
    assert (alert.level, alert.reasons) == ("urgent", ["red_flag:skin_color"])


def test_another_patients_key_is_refused(
    patient_client: Client, treatment: Treatment, clinic: object
) -> None:
    someone = factories.create_patient(clinic=treatment.clinic, email="zoe@example.com")
    theirs = factories.create_treatment(patient=someone, treated_on=treatment.treated_on)
    key = uuid.uuid4()
    checkins.record_check_in(
        treatment=theirs,
        local_date=TODAY,
        answers=course.Answers(ratings=dict.fromkeys(course.SYMPTOMS, 0), red_flags=frozenset()),
        idempotency_key=key,
        entered_by=someone.user,
        today=TODAY,
        at=timezone.now(),
    )

    response = send(patient_client, {**form_data(TODAY), "idempotency_key": str(key)})

    assert response.status_code == 400
    assert CheckIn.objects.filter(treatment=treatment).count() == 0


def test_the_clinic_sees_the_kept_warning_signs_on_the_alert_and_the_timeline(
    patient_client: Client, treatment: Treatment, patient: Patient, clinician: User
) -> None:
    factories.create_check_in(treatment=treatment, local_date=YESTERDAY)
    send(patient_client, offline(form_data(YESTERDAY, flags=["vision"], note="Blurry")))
    desk = Client()
    desk.force_login(clinician)

    said = text_of(desk.get(f"/clinic/patients/{patient.public_id}/"))

    assert (
        "From the phone Warning signs answered Tue 24 Nov, 23:10 EST, "
        "received Wed 25 Nov, 08:05 EST; not saved as a check-in"
    ) in said
    assert "Sent from the patient's phone but not saved as a check-in" in said
    assert "Not saved because: Yesterday's check-in is already saved" in said
    assert "Note: Blurry" in said


def test_a_check_in_made_on_a_shared_phone_by_someone_else_is_not_taken_as_theirs(
    patient_client: Client, treatment: Treatment
) -> None:
    """Kept on the phone while another patient was signed in: 403 (the phone keeps it for
    them), and nothing is saved in the name of whoever is signed in now."""
    someone = factories.create_patient(clinic=treatment.clinic, email="zoe@example.com")
    data = offline(form_data(TODAY, flags=["vision"]))

    response = send(patient_client, {**data, "for_patient": str(someone.public_id)})

    assert response.status_code == 403
    assert "made on this phone by someone else" in text_of(response)
    assert not CheckIn.objects.exists() and not WarningSignReport.objects.exists()
    assert not Alert.objects.exists()
    # Their own check-in, sent with their own id, is saved.
    mine = send(patient_client, {**data, "for_patient": str(treatment.patient.public_id)})
    assert mine.status_code == 302


def test_someone_elses_check_in_is_kept_for_them_whatever_else_is_wrong_with_it(
    client: Client, patient: Patient
) -> None:
    """Asked first: a patient with no treatment, or a form with a missing answer, must not
    answer 400 or 422 (final, for the phone) to a check-in that is not theirs."""
    someone = factories.create_patient(clinic=patient.clinic, email="zoe@example.com")
    client.force_login(patient.user)  # Ana has no treatment recorded
    for data in (
        {**form_data(TODAY), "for_patient": str(someone.public_id)},
        {
            "date": "2026-11-25",
            "for_patient": str(someone.public_id),
        },
    ):
        assert send(client, data).status_code == 403
    assert not CheckIn.objects.exists()
