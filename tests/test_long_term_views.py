"""The patient's long-term check-in page (/long-term/): the question, the answer, stopping."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client

from recovery import course
from recovery.models import Alert, AuditEvent, LateCheck, LongTermWatch, Patient, Treatment, User
from tests.helpers import TREATED_ON, AssertMaxQueries, at_local, html_of, text_of

FIRST_DUE = course.add_months(TREATED_ON, 2)
PAGE = "/long-term/"


@pytest.fixture(autouse=True)
def _on_the_first_due_date() -> Iterator[None]:
    with at_local(FIRST_DUE, 10):
        yield


def sent(**data: object) -> dict[str, object]:
    return {"lump": "no", "idempotency_key": str(uuid.uuid4()), **data}


def test_the_page_asks_the_question_and_is_audited(
    patient_client: Client, patient: Patient
) -> None:
    response = patient_client.get(PAGE)

    text = text_of(response)
    assert "Your check-in for 20 January 2027 is due" in text
    assert "Any new lump, hardness, redness or swelling at a treated area?" in text
    assert "Recent dental work?" in text
    assert AuditEvent.objects.filter(
        patient=patient, action=AuditEvent.Action.LONG_TERM_VIEWED
    ).exists()


def test_answered_no_thanks_and_gives_the_next_date(patient_client: Client) -> None:
    response = patient_client.post(PAGE, sent(context=["recent_illness"]), follow=True)

    text = text_of(response)
    assert "Thank you. Nothing new at your treated areas." in text
    assert "Your next check-in is on 20 February 2027" in text
    assert "Recent illness" in text
    assert not Alert.objects.exists()


def test_answered_yes_says_to_contact_the_clinic_with_tap_to_call(
    patient_client: Client, patient: Patient
) -> None:
    response = patient_client.post(PAGE, sent(lump="yes", note="Hard bump"), follow=True)

    markup = html_of(response)
    assert "Please contact Riverside Skin Clinic in the next few days" in text_of(response)
    assert f'href="{patient.clinic.phone_uri}"' in markup
    alert = Alert.objects.get()
    assert alert.reasons == [course.LATE_LUMP] and alert.patient_note == "Hard bump"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lump": ""}, "Please answer yes or no."),
        ({"lump": "maybe"}, "Please answer yes or no."),
        ({"context": ["tattoo"]}, "That is not one of the questions."),
        ({"note": "x" * 2001}, "at most 2000 characters"),
        ({"idempotency_key": "not-a-key"}, "This form is out of date."),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_saved(
    patient_client: Client, data: dict[str, object], message: str
) -> None:
    response = patient_client.post(PAGE, sent(**data))

    assert response.status_code == 400
    assert message in text_of(response)
    assert not LateCheck.objects.exists()


def test_a_replay_saves_once_and_other_answers_with_its_key_are_refused(
    patient_client: Client,
) -> None:
    data = sent(lump="yes")
    first = patient_client.post(PAGE, data)
    again = patient_client.post(PAGE, data)
    other = patient_client.post(PAGE, {**data, "lump": "no"})

    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert other.status_code == 409
    assert LateCheck.objects.count() == 1


def test_another_patients_key_and_answer_are_not_theirs(
    patient_client: Client, second_patient: Patient, client: Client
) -> None:
    data = sent()
    patient_client.post(PAGE, data)
    check = LateCheck.objects.get()
    other = Client()
    other.force_login(second_patient.user)

    assert other.post(PAGE, data).status_code == 400  # the key is someone else's
    assert other.get(f"{PAGE}{check.public_id}/").status_code == 404
    assert LateCheck.objects.count() == 1


def test_during_the_diary_the_page_says_when_it_starts(patient_client: Client) -> None:
    with at_local(TREATED_ON + dt.timedelta(days=10)):
        page = patient_client.get(PAGE)
        refused = patient_client.post(PAGE, sent(lump="yes"))

    assert "start after your daily diary, on 21 December 2026" in text_of(page)
    assert refused.status_code == 400
    assert not LateCheck.objects.exists()


def test_stopping_and_starting_again(patient_client: Client, patient: Patient) -> None:
    assert patient_client.post(f"{PAGE}stop/", {"action": "stop"}).status_code == 302
    page = patient_client.get(PAGE)
    assert "You stopped the long-term check-ins" in text_of(page)
    assert patient_client.post(PAGE, sent(lump="yes")).status_code == 400
    assert patient_client.post(f"{PAGE}stop/", {"action": "nonsense"}).status_code == 400

    patient_client.post(f"{PAGE}stop/", {"action": "resume"})
    assert LongTermWatch.objects.get(patient=patient).stopped_at is None


def test_clinicians_and_visitors_do_not_get_the_page(
    clinician_client: Client, client: Client, treatment: Treatment
) -> None:
    assert clinician_client.get(PAGE).status_code == 404
    visitor = Client()
    assert visitor.get(PAGE).status_code == 302


def test_home_shows_the_due_check_in_after_the_diary(patient_client: Client) -> None:
    text = text_of(patient_client.get("/"))

    assert "Your long-term check-in is due" in text
    assert "Something feels wrong — tell us now" in text


def test_warning_signs_after_the_diary_still_reach_the_clinic(
    patient_client: Client,
) -> None:
    from tests.test_check_in_views import form_data  # noqa: PLC0415

    response = patient_client.post("/check-in/", form_data(FIRST_DUE, flags=["infection"]))

    assert Alert.objects.get().level == "urgent"
    assert "Your clinic has been told about the warning signs" in text_of(response)


def test_the_page_and_the_answer_cost_a_fixed_number_of_queries(
    patient_client: Client,
    django_assert_max_num_queries: AssertMaxQueries,
    clinician: User,
) -> None:
    patient_client.get(PAGE)
    # Session and user; watch; its check-ins (the place, read once); the audit row.
    with django_assert_max_num_queries(5):
        patient_client.get(PAGE)
    # The treatment locked and read, the watch locked and read, the key, the check-ins
    # (once), the row, the audit row, the alert, the treatment's kept fields, the counts.
    with django_assert_max_num_queries(28):
        patient_client.post(PAGE, sent(lump="yes"))


def test_the_home_card_reads_the_watchs_check_ins_once(
    patient_client: Client,
    django_assert_max_num_queries: AssertMaxQueries,
) -> None:
    patient_client.get("/")
    # Session and user; the treatments; the watch; its check-ins; the audit row.
    with django_assert_max_num_queries(6):
        text = text_of(patient_client.get("/"))

    assert "Your long-term check-in is due" in text
