"""The clinic's triage dashboard: who needs a call first, refreshed every minute.

The order is recovery-course.md's ("What the clinic sees"): urgent, contact
clinic, missed check-in, watch, on track, diary finished.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recovery import alerts, checkins, course
from recovery.models import AuditEvent, Clinic, Patient, Treatment, Triage, TriageCounts, User
from tests import factories
from tests.helpers import NEW_YORK, AssertMaxQueries, html_of, queries_of_page

TODAY = dt.date(2026, 12, 1)  # a Tuesday; 10:00 in New York is 15:00 UTC
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=NEW_YORK)
URL = "/clinic/"
HTMX = {"HX-Request": "true"}

LEVEL_WORDS = [
    "Urgent",
    "Contact clinic",
    "Missed check-in",
    "Watch",
    "On track",
    "Diary finished",
]


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def at(moment: dt.datetime) -> AbstractContextManager[object]:
    return time_machine.travel(moment, tick=False)


@pytest.fixture(autouse=True)
def _pinned_time() -> Iterator[None]:
    with at(NOW):
        yield


@pytest.fixture(autouse=True)
def _server_in_utc(settings: Any) -> None:
    # The server's own time zone must not leak into a patient's day.
    settings.TIME_ZONE = "UTC"


# Reading the page --------------------------------------------------------------------------


INLINE_TAG = re.compile(r"</?(?:a|abbr|time|span|strong)\b[^>]*>")
HIDDEN = re.compile(r'<span class="visually-hidden">.*?</span>', re.DOTALL)
ARIA_HIDDEN = re.compile(r'<span [^>]*aria-hidden="true"[^>]*>.*?</span>', re.DOTALL)


def words(fragment: str) -> str:
    """Text as a person reads it: tags removed, entities decoded, spaces collapsed."""
    text = re.sub(r"<[^>]+>", " ", INLINE_TAG.sub("", fragment))
    return " ".join(html.unescape(text).split())


def seen(fragment: str) -> str:
    """What a sighted person reads (the visually hidden text left out)."""
    return words(HIDDEN.sub("", fragment))


def heard(fragment: str) -> str:
    """What a screen reader reads (the aria-hidden text left out)."""
    return words(ARIA_HIDDEN.sub("", fragment))


def page_words(response: HttpResponseBase) -> str:
    """The page as a person reads it, inline tags joined to their words (`words`)."""
    return words(html_of(response))


ROW = re.compile(r'<tr class="queue-row triage-(\w+)">(.*?)</tr>', re.DOTALL)
CELL = re.compile(r"<(th|td)\b[^>]*>(.*?)</\1>", re.DOTALL)
COLUMNS = ("patient", "triage", "day", "ratings", "last_check_in", "alert")


def rows_of(response: HttpResponseBase) -> list[dict[str, str]]:
    """The table's rows, each a column → text mapping (plus the level slug of its class)."""
    rows = []
    for level, row in ROW.findall(html_of(response)):
        cells = [cell for _, cell in CELL.findall(row)]
        rows.append(
            {
                "level": level,
                **{column: words(cell) for column, cell in zip(COLUMNS, cells, strict=True)},
                "ratings_seen": seen(cells[3]),
                "ratings_heard": heard(cells[3]),
                "day_heard": heard(cells[2]),
            }
        )
    return rows


def names_of(response: HttpResponseBase) -> list[str]:
    return [row["patient"] for row in rows_of(response)]


def counts_of(response: HttpResponseBase) -> dict[str, int]:
    nav = re.search(r'<nav aria-label="Triage levels".*?</nav>', html_of(response), re.DOTALL)
    assert nav is not None
    return {
        label: int(n) for label, n in re.findall(r"([A-Z][a-z -]+?) (\d+)", words(nav.group(0)))
    }


# Building patients --------------------------------------------------------------------------


def patient_with(
    clinic: Clinic, name: str, *, treated_on: dt.date, time_zone: str = "America/New_York"
) -> tuple[Patient, Treatment]:
    patient = factories.create_patient(clinic=clinic, name=name, time_zone=time_zone)
    return patient, factories.create_treatment(patient=patient, treated_on=treated_on)


def check_in(
    treatment: Treatment, *, red_flags: frozenset[str] = frozenset(), **ratings: int
) -> None:
    factories.create_check_in(treatment=treatment, local_date=TODAY, red_flags=red_flags, **ratings)


@pytest.fixture
def six_levels(clinic: Clinic) -> dict[str, Treatment]:
    """One treatment per triage level, created in the reverse of triage order."""
    made = {}
    _, made["finished"] = patient_with(clinic, "Fay Finished", treated_on=days_ago(40))
    _, made["on_track"] = patient_with(clinic, "Otto Ontrack", treated_on=days_ago(1))
    check_in(made["on_track"])
    _, made["watch"] = patient_with(clinic, "Wanda Watch", treated_on=days_ago(10))
    check_in(made["watch"], swelling=2)  # still moderate after the first week
    _, made["missed"] = patient_with(clinic, "Mia Missed", treated_on=days_ago(5))
    _, made["contact"] = patient_with(clinic, "Cal Contact", treated_on=days_ago(3))
    check_in(made["contact"], pain=3)  # severe
    _, made["urgent"] = patient_with(clinic, "Uma Urgent", treated_on=days_ago(3))
    check_in(made["urgent"], red_flags=frozenset({"vision"}))
    return made


SIX_NAMES = [
    "Uma Urgent",
    "Cal Contact",
    "Mia Missed",
    "Wanda Watch",
    "Otto Ontrack",
    "Fay Finished",
]


def populate(clinic: Clinic, n: int, *, by: User, start: int = 0) -> None:
    """`n` patients of every level: alerts (some acknowledged), check-ins, none, finished."""
    for i in range(start, start + n):
        kind = i % 5
        treated_on = days_ago({2: 10, 4: 40}.get(kind, 3 + i % 4))
        _, treatment = patient_with(clinic, f"Patient {i:03d}", treated_on=treated_on)
        if kind == 0:
            check_in(treatment, red_flags=frozenset({"allergy"}))
            treatment.refresh_from_db()
            assert treatment.open_alert is not None
            if i % 10 == 0:
                alerts.acknowledge_alert(
                    alert=treatment.open_alert,
                    seen_version=treatment.open_alert.version,
                    by=by,
                    at=timezone.now(),
                    ip_address=None,
                )
        elif kind == 1:
            check_in(treatment, swelling=3)
        elif kind == 2:
            check_in(treatment, swelling=2, redness=1)  # watch: slow to improve


# Who may see it -----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert "sign-in/?next=/clinic/" in response["Location"]


def test_a_patient_gets_not_found(patient_client: Client) -> None:
    assert patient_client.get(URL).status_code == 404


def test_only_get_and_the_search_post(clinician_client: Client) -> None:
    assert clinician_client.post(URL).status_code == 302  # a search for nothing: all of them
    assert clinician_client.put(URL).status_code == 405
    assert clinician_client.delete(URL).status_code == 405


def test_another_clinics_patients_never_appear(
    clinician_client: Client, clinic: Clinic, other_clinic: Clinic, other_clinician: User
) -> None:
    patient_with(clinic, "Ana Patient", treated_on=days_ago(3))
    _, theirs = patient_with(
        other_clinic, "Olga Other", treated_on=days_ago(3), time_zone="Europe/London"
    )
    check_in(theirs, red_flags=frozenset({"stroke"}))

    response = clinician_client.get(URL)
    assert names_of(response) == ["Ana Patient"]
    assert "Olga" not in page_words(response)
    assert counts_of(response)["Urgent"] == 0

    searched = search(clinician_client, "olga")
    assert searched.status_code == 200
    assert names_of(searched) == []
    assert "Olga" not in page_words(searched).replace("“olga”", "")
    assert "No patients match." in page_words(searched)
    assert sum(counts_of(searched).values()) == 0

    other = Client()
    other.force_login(other_clinician)
    assert names_of(other.get(URL)) == ["Olga Other"]


# The order and the counts -------------------------------------------------------------------


def test_rows_follow_the_triage_order(
    clinician_client: Client, six_levels: dict[str, Treatment]
) -> None:
    response = clinician_client.get(URL)
    assert response.status_code == 200
    rows = rows_of(response)
    assert [r["patient"] for r in rows] == SIX_NAMES
    # The level in words on every row, never by colour alone.
    assert [r["triage"] for r in rows] == LEVEL_WORDS
    assert [r["level"] for r in rows] == [
        "urgent",
        "contact_clinic",
        "missed_check_in",
        "watch",
        "on_track",
        "diary_finished",
    ]


def test_within_a_level_the_oldest_open_alert_comes_first(
    clinician_client: Client, clinic: Clinic
) -> None:
    _, later = patient_with(clinic, "Lee Later", treated_on=days_ago(3))
    _, earlier = patient_with(clinic, "Eve Earlier", treated_on=days_ago(3))
    _, on_track = patient_with(clinic, "Ola Ontrack", treated_on=days_ago(1))
    check_in(on_track)
    with at(NOW - dt.timedelta(minutes=30)):
        check_in(later, red_flags=frozenset({"infection"}))
    with at(NOW - dt.timedelta(hours=2)):
        check_in(earlier, red_flags=frozenset({"infection"}))

    assert names_of(clinician_client.get(URL)) == ["Eve Earlier", "Lee Later", "Ola Ontrack"]


def test_counts_per_level_link_to_their_level(
    clinician_client: Client, clinic: Clinic, six_levels: dict[str, Treatment]
) -> None:
    _, second = patient_with(clinic, "Uri Urgent", treated_on=days_ago(2))
    check_in(second, red_flags=frozenset({"allergy"}))

    response = clinician_client.get(URL)
    assert counts_of(response) == {
        "All": 7,
        "Urgent": 2,
        "Contact clinic": 1,
        "Missed check-in": 1,
        "Watch": 1,
        "On track": 1,
        "Diary finished": 1,
    }
    page = html_of(response)
    assert 'id="level-urgent" class="triage-urgent" href="/clinic/?level=urgent"' in page
    assert 'href="/clinic/?level=missed_check_in"' in page


def test_filter_by_level(clinician_client: Client, six_levels: dict[str, Treatment]) -> None:
    response = clinician_client.get(URL, {"level": "missed_check_in"})
    assert names_of(response) == ["Mia Missed"]
    current = 'href="/clinic/?level=missed_check_in" aria-current="true"'
    assert current in html_of(response)
    # The counts still show the whole queue.
    assert counts_of(response)["Urgent"] == 1

    assert names_of(clinician_client.get(URL, {"level": "urgent"})) == ["Uma Urgent"]
    assert names_of(clinician_client.get(URL, {"level": "diary_finished"})) == ["Fay Finished"]


@pytest.mark.parametrize("level", ["purple", "Urgent", "0", "urgent "])
def test_an_unknown_level_is_refused(
    clinician_client: Client, six_levels: dict[str, Treatment], level: str
) -> None:
    before = AuditEvent.objects.count()
    response = clinician_client.get(URL, {"level": level})
    assert response.status_code == 400
    text = page_words(response)
    assert f"There is no triage level “{level.strip()}" in text
    assert "Choose one of: Urgent Contact clinic Missed check-in" in text
    assert names_of(response) == []
    assert AuditEvent.objects.count() == before


def test_search_by_name_is_case_insensitive_and_keeps_the_box_filled(
    clinician_client: Client, clinic: Clinic, six_levels: dict[str, Treatment]
) -> None:
    patient_with(clinic, "Mario Rossi", treated_on=days_ago(1))
    response = search(clinician_client, "  MI ")
    assert names_of(response) == ["Mia Missed"]
    assert 'name="q" value="MI"' in html_of(response)
    # The counts are those of the search, and their links keep it (in the session).
    assert counts_of(response)["All"] == 1
    assert 'href="/clinic/?level=urgent"' in html_of(response)

    assert names_of(search(clinician_client, "ri")) == ["Mario Rossi"]
    assert names_of(clinician_client.get(URL, {"level": "on_track"})) == ["Mario Rossi"]
    assert names_of(search(clinician_client, "nobody")) == []


def search(client: Client, q: str) -> HttpResponse:
    """What the search form does: post the name, then follow the redirect to the page."""
    posted = client.post(URL, {"q": q})
    assert (posted.status_code, posted["Location"]) == (302, URL)
    return client.get(URL)  # type: ignore[return-value]


def test_a_search_never_puts_the_name_in_a_url(
    clinician_client: Client, clinic: Clinic, six_levels: dict[str, Treatment]
) -> None:
    """Issue 10: /clinic/?q=Ana+Silva put names in the access log, history and Referer."""
    response = search(clinician_client, "Uma")
    page = html_of(response)
    assert names_of(response) == ["Uma Urgent"]
    assert re.search(r'<form method="post" action="/clinic/" role="search"', page)
    for url in re.findall(r'(?:href|hx-get|action)="([^"]*)"', page):
        assert "Uma" not in url and "q=" not in url, url
    # It stays while the clinician pages, filters and the queue refreshes ...
    assert names_of(clinician_client.get(URL, {"level": "urgent"})) == ["Uma Urgent"]
    assert names_of(clinician_client.get(URL, headers=HTMX)) == ["Uma Urgent"]
    # ... and a name put in the URL by hand is not searched for.
    clear = clinician_client.post(URL, {"q": ""})
    assert clear.status_code == 302
    assert len(names_of(clinician_client.get(URL, {"q": "Uma"}))) == 6


# Pagination ---------------------------------------------------------------------------------


@pytest.fixture
def thirty(clinic: Clinic) -> list[str]:
    for i in range(30):
        patient_with(clinic, f"Person {i:02d}", treated_on=days_ago(1))
    return [f"Person {i:02d}" for i in range(30)]


def test_twenty_five_a_page(clinician_client: Client, thirty: list[str]) -> None:
    first = clinician_client.get(URL)
    second = clinician_client.get(URL, {"page": "2"})
    assert len(names_of(first)) == 25
    assert len(names_of(second)) == 5
    assert names_of(first) + names_of(second) == thirty  # same level: oldest first
    assert "Page 1 of 2" in page_words(first)
    assert 'href="/clinic/?page=2" rel="next"' in html_of(first)
    assert 'href="/clinic/?page=1" rel="prev"' in html_of(second)
    assert "26–30 of 30" in page_words(second)


def test_pages_keep_the_search_and_filter(clinician_client: Client, thirty: list[str]) -> None:
    search(clinician_client, "person")
    response = clinician_client.get(URL, {"level": "on_track"})
    assert 'href="/clinic/?level=on_track&amp;page=2" rel="next"' in html_of(response)
    assert "Clear the search “person”" in page_words(response)


@pytest.mark.parametrize(("page", "shown"), [("99", 2), ("3", 2), ("0", 1), ("-4", 1)])
def test_a_page_out_of_range_shows_the_nearest_page(
    clinician_client: Client, thirty: list[str], page: str, shown: int
) -> None:
    # A refresh after the list shrank lands on the last page there is.
    response = clinician_client.get(URL, {"page": page})
    assert response.status_code == 200
    assert f"Page {shown} of 2" in page_words(response)
    assert len(names_of(response)) == (5 if shown == 2 else 25)


def test_a_page_that_is_not_a_number_is_refused(
    clinician_client: Client, thirty: list[str]
) -> None:
    response = clinician_client.get(URL, {"page": "two"})
    assert response.status_code == 400
    assert "The page must be a whole number" in page_words(response)


# What a row says ----------------------------------------------------------------------------


def test_a_row_at_a_glance(
    clinician_client: Client, clinic: Clinic, clinician: User, six_levels: dict[str, Treatment]
) -> None:
    _, treatment = patient_with(clinic, "Rita Ratings", treated_on=days_ago(10))
    with at(NOW - dt.timedelta(hours=3)):
        check_in(treatment, swelling=2, redness=1, bruising=0, lumps=1, pain=3, itching=0)
    with at(NOW - dt.timedelta(minutes=20)):
        treatment.refresh_from_db()
        assert treatment.open_alert is not None
        alerts.acknowledge_alert(
            alert=treatment.open_alert,
            seen_version=treatment.open_alert.version,
            by=clinician,
            at=timezone.now(),
            ip_address=None,
        )

    response = clinician_client.get(URL)
    rows = {row["patient"]: row for row in rows_of(response)}
    rita = rows["Rita Ratings"]
    assert rita["triage"] == "Contact clinic"
    assert rita["day"] == "10"
    assert rita["ratings_seen"] == "Sw 2 · Re 1 · Br 0 · Lu 1 · Pa 3 · It 0"
    assert rita["ratings_heard"] == (
        "Swelling: 2, moderate; Redness: 1, mild; Bruising: 0, none; "
        "Lumps or bumps: 1, mild; Pain or tenderness: 3, severe; Itching: 0, none"
    )
    assert rita["last_check_in"] == "3 h ago"
    assert "Opened 3 h ago." in rita["alert"]
    assert "Pain or tenderness severe" in rita["alert"]
    assert "Acknowledged by nurse@riverside.example 20 min ago." in rita["alert"]
    page = html_of(response)
    assert '<abbr title="Swelling">Sw</abbr>' in page
    patient_url = f"/clinic/patients/{treatment.patient.public_id}/"
    assert f'href="{patient_url}">Rita Ratings</a>' in page

    urgent = rows["Uma Urgent"]
    assert urgent["alert"].startswith("Urgent Warning sign: Eyesight or eye change")
    assert "Not acknowledged yet." in urgent["alert"]
    assert "Review the alert for Uma Urgent" in urgent["alert"]
    assert rows["Mia Missed"]["ratings"] == "none yet"
    assert rows["Mia Missed"]["last_check_in"] == "none yet"
    assert rows["Mia Missed"]["alert"] == "—none"
    assert rows["Fay Finished"]["day"] == "finished"


def test_last_check_in_counts_days(
    clinician_client: Client, six_levels: dict[str, Treatment]
) -> None:
    with at(NOW + dt.timedelta(days=2, hours=1)):
        rows = {row["patient"]: row for row in rows_of(clinician_client.get(URL))}
    assert rows["Otto Ontrack"]["last_check_in"] == "2 days ago"
    assert rows["Uma Urgent"]["alert"].count("Opened 2 days ago.") == 1


def test_the_day_is_the_patients_own(clinician_client: Client, clinic: Clinic) -> None:
    # 15:00 UTC on 1 December: already 2 December in Auckland, still 1 December in Honolulu.
    tomorrow = TODAY + dt.timedelta(days=1)
    patient_with(clinic, "Aroha Auckland", treated_on=tomorrow, time_zone="Pacific/Auckland")
    patient_with(clinic, "Hale Honolulu", treated_on=tomorrow, time_zone="Pacific/Honolulu")
    patient_with(clinic, "Nia Newyork", treated_on=TODAY)
    patient_with(clinic, "Lani Later", treated_on=days_ago(1), time_zone="Pacific/Honolulu")

    rows = rows_of(clinician_client.get(URL))
    days = {row["patient"]: row["day"] for row in rows}
    assert days == {
        "Aroha Auckland": "0",
        "Hale Honolulu": "—not treated yet",
        "Nia Newyork": "0",
        "Lani Later": "1",
    }
    assert [row["day_heard"] for row in rows if row["patient"] == "Hale Honolulu"] == [
        "not treated yet"
    ]


# Keeping up with the clock ------------------------------------------------------------------


def test_the_sweep_moves_a_silent_patient_to_missed_check_in(
    clinician_client: Client, clinic: Clinic
) -> None:
    _, treatment = patient_with(clinic, "Sam Silent", treated_on=days_ago(4))
    check_in(treatment)
    assert rows_of(clinician_client.get(URL))[0]["triage"] == "On track"

    with at(NOW + dt.timedelta(days=2)):  # no check-in yesterday: not yet two days
        assert rows_of(clinician_client.get(URL))[0]["triage"] == "On track"
    with at(NOW + dt.timedelta(days=3)):  # none on the last two days
        row = rows_of(clinician_client.get(URL))[0]
    assert (row["patient"], row["triage"], row["last_check_in"]) == (
        "Sam Silent",
        "Missed check-in",
        "3 days ago",
    )
    treatment.refresh_from_db()
    assert treatment.triage == Triage.MISSED_CHECK_IN


def test_the_sweep_marks_a_finished_diary(clinician_client: Client, clinic: Clinic) -> None:
    _, treatment = patient_with(clinic, "Dee Done", treated_on=days_ago(30))
    check_in(treatment)
    assert rows_of(clinician_client.get(URL))[0]["triage"] == "On track"
    with at(NOW + dt.timedelta(days=1)):
        row = rows_of(clinician_client.get(URL))[0]
    assert (row["triage"], row["day"]) == ("Diary finished", "finished")


# Superseded treatments ----------------------------------------------------------------------


def test_only_the_current_treatment_of_a_patient_is_listed(
    clinician_client: Client, clinic: Clinic
) -> None:
    patient, _ = patient_with(clinic, "Rosa Returning", treated_on=days_ago(60))
    factories.create_treatment(patient=patient, treated_on=days_ago(1))

    response = clinician_client.get(URL)
    rows = rows_of(response)
    assert [(r["patient"], r["triage"], r["day"]) for r in rows] == [
        ("Rosa Returning", "On track", "1")
    ]
    assert counts_of(response)["Diary finished"] == 0
    assert Treatment.objects.filter(patient=patient, superseded=True).count() == 1


# The refresh --------------------------------------------------------------------------------


def test_full_page_and_the_refreshed_partial(
    clinician_client: Client, six_levels: dict[str, Treatment]
) -> None:
    search(clinician_client, "a")
    full = clinician_client.get(URL, {"level": "urgent"})
    page = html_of(full)
    assert page.lstrip().startswith("<!doctype html>")
    assert "<title>Triage · Aftercare</title>" in page
    assert 'role="search"' in page
    assert '<p id="queue-news" class="visually-hidden" aria-live="polite"></p>' in page
    assert 'hx-get="/clinic/?level=urgent"' in page
    assert 'hx-trigger="every 60s"' in page
    assert 'hx-push-url="false"' in page
    assert "Vary" in full and "HX-Request" in full["Vary"]

    partial = clinician_client.get(URL, {"level": "urgent"}, headers=HTMX)
    fragment = html_of(partial)
    assert partial.status_code == 200
    assert "<html" not in fragment
    assert "<title>" not in fragment
    assert fragment.lstrip().startswith('<div id="queue"')
    # The search form is not swapped: its value and focus stay as the clinician left them.
    assert 'role="search"' not in fragment
    assert 'name="q"' not in fragment
    # The next refresh asks for the same filter and page (the search is in the session).
    assert 'hx-get="/clinic/?level=urgent"' in fragment
    assert names_of(partial) == ["Uma Urgent"]
    assert names_of(partial) == names_of(full)


def test_a_boosted_navigation_gets_the_full_page(
    clinician_client: Client, six_levels: dict[str, Treatment]
) -> None:
    response = clinician_client.get(URL, headers={**HTMX, "HX-Boosted": "true"})
    assert "<html" in html_of(response)


def test_the_refresh_keeps_the_page(clinician_client: Client, thirty: list[str]) -> None:
    partial = clinician_client.get(URL, {"page": "2", "shown": "0.0.0.0.30.0.0.0.0"}, headers=HTMX)
    fragment = html_of(partial)
    assert 'hx-get="/clinic/?page=2"' in fragment
    assert names_of(partial) == thirty[25:]


def test_a_new_urgent_alert_is_first_at_the_next_refresh(
    clinician_client: Client, six_levels: dict[str, Treatment]
) -> None:
    before = clinician_client.get(URL, headers=HTMX)
    assert names_of(before)[0] == "Uma Urgent"
    shown = re.search(r'"shown": "([\d.]+)"', html_of(before))
    assert shown is not None
    assert shown.group(1) == "1.1.1.1.1.1.0.0.0"  # then the long-term group's three

    otto = six_levels["on_track"]
    with at(NOW + dt.timedelta(seconds=30)):
        checkins.record_check_in(
            treatment=otto,
            local_date=TODAY,
            answers=course.Answers(
                ratings=dict.fromkeys(course.SYMPTOMS, 0), red_flags=frozenset({"skin_color"})
            ),
            entered_by=otto.patient.user,
            today=TODAY,
            at=timezone.now(),
        )
    with at(NOW + dt.timedelta(minutes=1)):
        after = clinician_client.get(URL, {"shown": shown.group(1)}, headers=HTMX)
    rows = rows_of(after)
    # Among the urgent, behind Uma, whose alert has waited longer.
    assert [(r["patient"], r["triage"]) for r in rows[:2]] == [
        ("Uma Urgent", "Urgent"),
        ("Otto Ontrack", "Urgent"),
    ]
    assert "Warning sign: Pale, mottled or blistered skin" in rows[1]["alert"]
    # The counts changed: the live region outside the table says so.
    assert (
        '<p id="queue-news" hx-swap-oob="innerHTML">Queue updated. Urgent: 2; Contact clinic: 1;'
        in html_of(after)
    )


def test_a_new_urgent_alert_outranks_everyone_else(
    clinician_client: Client, clinic: Clinic
) -> None:
    for name in ("Abe First", "Bea Second", "Cy Third"):
        _, treatment = patient_with(clinic, name, treated_on=days_ago(4))
        check_in(treatment, swelling=3)  # contact clinic
    _, quiet = patient_with(clinic, "Zoe Quiet", treated_on=days_ago(4))
    assert names_of(clinician_client.get(URL, headers=HTMX))[-1] == "Zoe Quiet"

    with at(NOW + dt.timedelta(minutes=5)):
        checkins.record_check_in(
            treatment=quiet,
            local_date=TODAY,
            answers=course.Answers(
                ratings=dict.fromkeys(course.SYMPTOMS, 1), red_flags=frozenset({"vision"})
            ),
            entered_by=quiet.patient.user,
            today=TODAY,
            at=timezone.now(),
        )
        rows = rows_of(clinician_client.get(URL, headers=HTMX))
    assert (rows[0]["patient"], rows[0]["triage"]) == ("Zoe Quiet", "Urgent")


def test_an_unchanged_refresh_announces_nothing(
    clinician_client: Client, six_levels: dict[str, Treatment]
) -> None:
    fragment = html_of(clinician_client.get(URL, {"shown": "1.1.1.1.1.1.0.0.0"}, headers=HTMX))
    assert "queue-news" not in fragment
    assert "Queue updated" not in fragment


# Audit --------------------------------------------------------------------------------------


def test_each_view_writes_one_audit_row_for_the_list(
    clinician_client: Client, clinician: User, six_levels: dict[str, Treatment]
) -> None:
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    clinician_client.get(URL, REMOTE_ADDR="203.0.113.7")
    new = AuditEvent.objects.exclude(pk__in=before)
    assert [(e.action, e.patient, e.actor, e.ip_address) for e in new] == [
        ("dashboard.viewed", None, clinician, "203.0.113.7")
    ]
    clinician_client.get(URL, headers=HTMX)
    assert AuditEvent.objects.filter(action="dashboard.viewed").count() == 2


# Cost ---------------------------------------------------------------------------------------

# The session, the user with their clinician and clinic, whether any row is due for the
# sweep and any long-term watch, the kept counts (or, for a search, the matching rows and
# watches counted), the page, the audit row.
QUERY_BOUND = 8


def test_the_cost_does_not_grow_with_the_number_of_patients(
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

    populate(clinic, 10, by=clinician)
    small = clinician_client.get(URL)
    assert len(names_of(small)) == 10
    assert {r["level"] for r in rows_of(small)} == {
        "urgent",
        "contact_clinic",
        "missed_check_in",
        "watch",
        "diary_finished",
    }
    with_ten = queries_for()

    populate(clinic, 190, by=clinician, start=10)
    assert counts_of(clinician_client.get(URL))["All"] == 200
    with_two_hundred = queries_for()
    last_page = queries_for(page="8")
    clinician_client.post(URL, {"q": "patient 1"})
    searched = queries_for(level="urgent")

    assert with_ten == with_two_hundred == last_page == searched - 1  # the watches counted
    assert with_ten <= QUERY_BOUND


def test_the_counts_are_read_not_counted_unless_searching(
    clinician_client: Client, clinic: Clinic, six_levels: dict[str, Treatment]
) -> None:
    """The dashboard reads the counts the write functions keep; it scans no rows to count
    them on each refresh. Only a search counts the rows it matches."""
    with CaptureQueriesContext(connection) as captured:
        response = clinician_client.get(URL)
    assert counts_of(response)["Urgent"] == 1
    assert not [q for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]

    TriageCounts.objects.filter(clinic=clinic).update(urgent=41)  # what is kept is shown
    assert counts_of(clinician_client.get(URL))["Urgent"] == 41
    assert counts_of(search(clinician_client, "u"))["Urgent"] == 1


def test_an_alerts_row_says_how_to_reach_the_patient_and_what_they_wrote(
    clinician_client: Client, clinic: Clinic
) -> None:
    """Issue 11: the nurse had to open the record to find a number or the patient's note."""
    patient, treatment = patient_with(clinic, "Vera Vision", treated_on=days_ago(3))
    patient.mobile = "+1 (555) 010-4242"
    patient.save(update_fields=["mobile"])
    checkins.record_check_in(
        treatment=treatment,
        local_date=TODAY,
        answers=course.Answers(
            ratings=dict.fromkeys(course.SYMPTOMS, 0), red_flags=frozenset({"vision"})
        ),
        note="Blurred in my left eye since lunch. " + "It is not getting better. " * 10,
        entered_by=patient.user,
        today=TODAY,
        at=timezone.now(),
    )

    page = html_of(clinician_client.get(URL))
    row = page[page.index('class="queue-row') : page.index("</tr>", page.index('class="queue-row'))]
    assert 'href="tel:+15550104242"' in row
    assert "“Blurred in my left eye since lunch." in row
    assert "…”" in row  # long notes are cut; the whole is on the alert's panel
