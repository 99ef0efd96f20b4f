"""The long-term watch on the clinic's side (issue 13): the patient's timeline shows its
answers on a years-long axis and in a table; nobody outside the clinic sees it."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from recovery import long_term
from recovery.models import Patient, Treatment, User
from tests.helpers import NEW_YORK, AssertMaxQueries, html_of

NOW = dt.datetime(2027, 8, 1, 10, tzinfo=NEW_YORK)  # about 8 months after TREATED_ON
# The page's queries (the session, the user, the patient, the treatments, the alerts, the
# diary, the audit row, …), and the watch and its check-ins: 11 measured.
QUERY_BOUND = 11


def path(patient: Patient) -> str:
    return f"/clinic/patients/{patient.public_id}/"


def answer(patient: Patient, day: dt.date, *, lump: bool, **kw: object) -> None:
    long_term.record_late_check(
        patient=patient,
        answers=long_term.LateAnswers(lump=lump, **kw),  # type: ignore[arg-type]
        entered_by=None,
        at=dt.datetime.combine(day, dt.time(12), tzinfo=NEW_YORK),
    )


def test_the_timeline_shows_the_answers_with_their_context(
    client: Client, clinician: User, patient: Patient, treatment: Treatment
) -> None:
    answer(patient, dt.date(2027, 1, 21), lump=False)
    answer(
        patient,
        dt.date(2027, 7, 22),
        lump=True,
        context=frozenset({"recent_dental_work"}),
        note="firm bump",
    )
    with time_machine.travel(NOW, tick=False):
        client.force_login(clinician)
        page = html_of(client.get(path(patient)))
    assert "Long-term watch since 20 Nov 2026" in page
    assert "Long-term: answered yes" in page and "due date 20 Jul 2027" in page
    assert "Yes: a new lump" in page and "No new lump" in page
    assert "Recent dental work" in page and "“firm bump”" in page
    # Yes and no apart by shape and words, missed due dates marked.
    assert "<title>Answered yes (new lump) 2027-07-22</title>" in page
    assert "<title>Answered no 2027-01-21</title>" in page
    assert "<title>Missed (no answer) 2027-02-20</title>" in page
    assert "filled triangle" in page


def test_a_stopped_watch_says_when_and_by_whom(
    client: Client, clinician: User, patient: Patient, treatment: Treatment
) -> None:
    long_term.stop_watch(patient=patient, by=patient.user, at=NOW, ip_address=None)
    with time_machine.travel(NOW, tick=False):
        client.force_login(clinician)
        page = html_of(client.get(path(patient)))
    assert "Long-term watch stopped by the patient" in page
    assert "Stopped 1 Aug, 10:00" in page


def test_the_timeline_costs_the_same_for_2_and_12_answers(
    client: Client,
    clinician: User,
    patient: Patient,
    treatment: Treatment,
    django_assert_max_num_queries: AssertMaxQueries,
) -> None:
    def queries() -> int:
        with time_machine.travel(NOW, tick=False):
            client.force_login(clinician)
            with (
                django_assert_max_num_queries(QUERY_BOUND),
                CaptureQueriesContext(connection) as captured,
            ):
                assert client.get(path(patient)).status_code == 200
        return len(captured)

    for n in range(2):
        answer(patient, dt.date(2027, 1, 21) + dt.timedelta(days=n), lump=False)
    two = queries()
    for n in range(2, 12):
        answer(patient, dt.date(2027, 1, 21) + dt.timedelta(days=n), lump=n % 2 == 0)
    assert queries() == two
    print(f"timeline queries with long-term answers: {two}")


def test_another_clinic_and_patients_get_404(
    client: Client, other_clinician: User, patient: Patient, treatment: Treatment
) -> None:
    answer(patient, dt.date(2027, 1, 21), lump=True)
    with time_machine.travel(NOW, tick=False):
        client.force_login(other_clinician)
        assert client.get(path(patient)).status_code == 404
        dashboard = html_of(client.get("/clinic/", {"level": "long_term_answered_yes"}))
        assert patient.name not in dashboard
        assert 'id="level-long_term_answered_yes" class="long_term_answered_yes"' in dashboard
        client.force_login(patient.user)
        assert client.get(path(patient)).status_code == 404
        assert client.get("/clinic/", {"level": "long_term_due"}).status_code == 404
