"""The dashboard's long-term group (issue 13): the patients whose long-term check-in is
due, overdue or answered yes to a new lump, counted from the kept counts and listed from
the watches' own rows, at a fixed cost."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager

import time_machine
from django.test import Client

from recovery import long_term
from recovery.models import Clinic, Patient, User
from tests import factories
from tests.helpers import NEW_YORK, TREATED_ON, AssertMaxQueries, html_of, queries_of_page

URL = "/clinic/"
ENROLLED_AT = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)
FIRST_DUE = dt.date(2027, 1, 20)  # two months after TREATED_ON
NOW = dt.datetime(2027, 1, 21, 10, 0, tzinfo=NEW_YORK)
# The session, the user, the two sweeps' questions, the kept counts, the queue's page, the
# long-term list, the audit row.
QUERY_BOUND = 8


def watched(clinic: Clinic, name: str) -> Patient:
    patient = factories.create_patient(clinic=clinic, name=name)
    with time_machine.travel(ENROLLED_AT, tick=False):
        factories.create_treatment(patient=patient, treated_on=TREATED_ON)
    return patient


def late_check(patient: Patient, *, lump: bool, at: dt.datetime = NOW) -> None:
    long_term.record_late_check(
        patient=patient, answers=long_term.LateAnswers(lump=lump), entered_by=None, at=at
    )


def counts(client: Client) -> dict[str, int]:
    page = html_of(client.get(URL))
    return {
        slug: int(n)
        for slug, n in re.findall(
            r'id="level-long_term_(\w+)"[^>]*>[^<]*<span class="count">(\d+)</span>', page
        )
    }


def listed(client: Client, slug: str) -> list[str]:
    response = client.get(URL, {"level": f"long_term_{slug}"})
    assert response.status_code == 200
    row_link = r'<a id="watch-[^"]+" href="/clinic/patients/[^"]+">([^<]+)</a>'
    return re.findall(row_link, html_of(response))


@contextmanager
def on(moment: dt.datetime, client: Client, clinician: User) -> Iterator[None]:
    """At `moment`, signed in afresh (a session does not last the months a watch does)."""
    with time_machine.travel(moment, tick=False):
        client.force_login(clinician)
        yield


def test_due_then_answered_then_overdue(
    clinician_client: Client, clinic: Clinic, clinician: User
) -> None:
    _, ben, cai = (watched(clinic, n) for n in ("Ana Due", "Ben Yes", "Cai No"))
    with on(NOW, clinician_client, clinician):
        assert counts(clinician_client) == {"due": 3, "overdue": 0, "answered_yes": 0}
        late_check(ben, lump=True)
        late_check(cai, lump=False)
        assert counts(clinician_client) == {"due": 1, "overdue": 0, "answered_yes": 1}
        assert listed(clinician_client, "due") == ["Ana Due"]
        yes = html_of(clinician_client.get(URL, {"level": "long_term_answered_yes"}))
        assert "Ben Yes" in yes and "Yes: a new lump" in yes and "20 Jan 2027" in yes
    # Two weeks on, Ana's is overdue; the dashboard's own sweep moved her.
    with on(NOW + dt.timedelta(days=14), clinician_client, clinician):
        assert counts(clinician_client) == {"due": 0, "overdue": 1, "answered_yes": 1}
        assert listed(clinician_client, "overdue") == ["Ana Due"]


def test_another_clinics_watches_are_never_shown(
    clinician_client: Client, clinic: Clinic, clinician: User, other_clinic: Clinic
) -> None:
    watched(clinic, "Ana Ours")
    theirs = watched(other_clinic, "Zed Theirs")
    with on(NOW, clinician_client, clinician):
        late_check(theirs, lump=True)
        assert counts(clinician_client) == {"due": 1, "overdue": 0, "answered_yes": 0}
        assert listed(clinician_client, "answered_yes") == []
        assert "Zed Theirs" not in html_of(clinician_client.get(URL, {"level": "long_term_due"}))


def test_a_search_filters_the_long_term_group(
    clinician_client: Client, clinic: Clinic, clinician: User
) -> None:
    watched(clinic, "Ana Alpha")
    watched(clinic, "Ben Beta")
    with on(NOW, clinician_client, clinician):
        clinician_client.post(URL, {"q": "beta"})
        assert counts(clinician_client)["due"] == 1
        assert listed(clinician_client, "due") == ["Ben Beta"]


def test_an_unknown_long_term_level_is_refused(clinician_client: Client) -> None:
    response = clinician_client.get(URL, {"level": "long_term_bogus"})
    assert response.status_code == 400
    assert "long_term_due" in html_of(response)


def test_the_cost_is_the_same_for_3_and_30_watches(
    clinician_client: Client,
    clinic: Clinic,
    clinician: User,
    django_assert_max_num_queries: AssertMaxQueries,
) -> None:
    def queries_for(**params: str) -> int:
        return queries_of_page(
            clinician_client,
            URL,
            bound=QUERY_BOUND,
            assert_max=django_assert_max_num_queries,
            **params,
        )

    patients = [watched(clinic, f"Patient {i:02d}") for i in range(3)]
    with on(NOW, clinician_client, clinician):
        late_check(patients[0], lump=True)
        clinician_client.get(URL)  # the sweep's one-off moves, before measuring
        three = queries_for(level="long_term_due")
        three_all = queries_for()
    more = [watched(clinic, f"Patient {i:02d}") for i in range(3, 30)]
    with on(NOW, clinician_client, clinician):
        for p in more[:5]:
            late_check(p, lump=True)
        clinician_client.get(URL)
        assert len(listed(clinician_client, "due")) == 24
        thirty = queries_for(level="long_term_due")
        thirty_yes = queries_for(level="long_term_answered_yes")
        thirty_all = queries_for()
    assert three == thirty == thirty_yes
    assert three_all == thirty_all == three - 1  # no list asked for: no list read
    print(f"dashboard queries with a long-term list: {thirty}, without: {thirty_all}")
