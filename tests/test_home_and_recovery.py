"""The patient's home page, their own calendar day wherever they are, and My recovery."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.http import HttpResponse
from django.test import Client
from pytest_django.fixtures import Settings as SettingsFixture

from recovery import access
from recovery.diary import my_recovery
from recovery.models import AuditEvent, CheckIn, CheckInRevision, Clinic, Patient, Treatment
from tests import factories
from tests.helpers import TREATED_ON, AssertMaxQueries, at_local, day, html_of, text_of

SYMPTOMS = ("swelling", "redness", "bruising", "lumps", "pain", "itching")
RED_FLAGS = ("skin_color", "severe_pain", "vision", "stroke", "infection", "allergy")
CLINIC_CALL = 'href="tel:+15550102000"'
SOMETHING_WRONG = "Something feels wrong — tell us now"


@pytest.fixture(autouse=True)
def _default_time() -> Iterator[None]:
    # Fixtures that save check-ins run at a fixed moment too; tests travel on from there.
    with at_local(day(5), 9):
        yield


@pytest.fixture(autouse=True)
def _server_in_utc(settings: SettingsFixture) -> None:
    # The server's own time zone must not leak into a patient's day.
    settings.TIME_ZONE = "UTC"


def form_data(
    local_date: dt.date, *, flags: tuple[str, ...] = (), **ratings: int
) -> dict[str, str]:
    data = {"date": local_date.isoformat(), "note": ""}
    data.update({s: str(ratings.get(s, 0)) for s in SYMPTOMS})
    data.update({f: "yes" if f in flags else "no" for f in RED_FLAGS})
    return data


def signed_in(patient: Patient) -> Client:
    client = Client()
    client.force_login(patient.user)
    return client


def home(client: Client) -> HttpResponse:
    response = client.get("/")
    assert response.status_code == 200
    return response  # type: ignore[return-value]


# Home ----------------------------------------------------------------------------------------


def test_home_before_todays_check_in(patient_client: Client) -> None:
    with at_local(day(5)):
        response = home(patient_client)

    page, said = html_of(response), text_of(response)
    assert "Hello, Ana Patient" in said
    assert "Day 5 after your treatment on 20 Nov" in said
    assert '<a class="button primary" href="/check-in/">Check in for today</a>' in page
    assert "You've checked in today" not in said
    assert f'href="/check-in/?first=red_flags">{SOMETHING_WRONG}</a>' in page
    assert 'href="/my-recovery/"' in page
    assert f'<a class="button call secondary" {CLINIC_CALL}>' in page
    assert "Call Riverside Skin Clinic: +1 (555) 010-2000" in said


def test_home_after_an_on_track_check_in_shows_the_result(
    patient_client: Client, treatment: Treatment
) -> None:
    with at_local(day(5)):
        patient_client.post("/check-in/", form_data(day(5), swelling=1))
        response = home(patient_client)

    page, said = html_of(response), text_of(response)
    assert "Day 5 after your treatment on 20 Nov" in said
    assert "You're on track" in said
    assert "Swelling and bruising usually fade within a week." in said
    assert "You've checked in today." in said
    assert "Change today's check-in" in said
    assert "Check in for today" not in said
    assert SOMETHING_WRONG in said
    assert CLINIC_CALL in page


def test_home_after_a_watch_check_in_says_keep_an_eye_on_it(
    patient_client: Client, treatment: Treatment
) -> None:
    factories.create_check_in(treatment=treatment, local_date=day(9), bruising=2)
    with at_local(day(10)):
        patient_client.post("/check-in/", form_data(day(10), bruising=2))
        said = text_of(home(patient_client))

    assert "Keep an eye on it" in said
    assert "If it is still there on day 15, contact your clinic." in said


def test_home_after_a_contact_clinic_check_in_puts_the_call_first(
    patient_client: Client, treatment: Treatment
) -> None:
    with at_local(day(5)):
        patient_client.post("/check-in/", form_data(day(5), lumps=3))
        response = home(patient_client)

    said = text_of(response)
    assert "Please contact Riverside Skin Clinic today" in said
    assert "Lumps or bumps are severe." in said
    assert said.index("Please contact Riverside Skin Clinic today") < said.index("Day 5 after")


def test_home_after_an_emergency_red_flag_says_call_911_first(
    patient_client: Client, treatment: Treatment
) -> None:
    with at_local(day(5)):
        patient_client.post("/check-in/", form_data(day(5), flags=("allergy",)))
        response = home(patient_client)

    page, said = html_of(response), text_of(response)
    assert "Call 911 now" in said
    assert "Contact Riverside Skin Clinic now — you need to be seen in person today" in said
    assert page.index('href="tel:911"') < page.index(CLINIC_CALL)
    assert said.index("Call 911 now") < said.index("Day 5 after")
    assert SOMETHING_WRONG in said


def test_home_offers_yesterday_only_if_it_was_missed(
    patient_client: Client, treatment: Treatment
) -> None:
    with at_local(day(5)):
        missed = html_of(home(patient_client))
        factories.create_check_in(treatment=treatment, local_date=day(4))
        done = html_of(home(patient_client))

    link = 'href="/check-in/?date=2026-11-24">Fill in yesterday\'s check-in</a>'
    assert "You missed yesterday's check-in." in missed
    assert link in missed
    assert "You missed yesterday's check-in." not in done
    assert "?date=" not in done


def test_after_the_diary_a_missed_last_day_can_still_be_filled_in(
    patient_client: Client, treatment: Treatment
) -> None:
    with at_local(day(31)):
        said = text_of(home(patient_client))

    assert "diary after your treatment on 20 Nov is finished" in said
    assert "Fill in yesterday's check-in" in said
    assert SOMETHING_WRONG in said  # after the diary too (issue 13)


def test_home_on_the_day_of_the_treatment(patient_client: Client) -> None:
    with at_local(day(0)):
        response = home(patient_client)

    said = text_of(response)
    assert "Day 0 after your treatment on 20 Nov" in said
    assert "Check in for today" in said
    assert SOMETHING_WRONG in said
    assert "You missed yesterday" not in said  # the day before the treatment is no diary day


def test_home_on_the_last_day_of_the_diary(patient_client: Client) -> None:
    with at_local(day(30)):
        said = text_of(home(patient_client))

    assert "Day 30 after your treatment on 20 Nov" in said
    assert "Check in for today" in said
    assert SOMETHING_WRONG in said


def test_home_after_the_diary_says_it_is_finished(patient_client: Client) -> None:
    with at_local(day(31)):
        response = home(patient_client)

    page, said = html_of(response), text_of(response)
    assert "Your 30-day diary after your treatment on 20 Nov is finished." in said
    assert "Thank you for keeping it." in said
    # The long-term watch of a Bellafill treatment takes over (tests/test_long_term_views.py).
    assert "Long-term check-ins" in said
    assert (
        "If a new lump, hardness, redness or swelling appears at a treated area, even months "
        "from now, tell us at any time." in said
    )
    assert "Day 31" not in said
    assert "Check in for today" not in said
    # The warning signs can still be sent after the diary (issue 13).
    assert SOMETHING_WRONG in said
    assert CLINIC_CALL in page


def test_home_of_a_patient_without_a_treatment(client: Client, patient: Patient) -> None:
    client.force_login(patient.user)

    with at_local(day(5)):
        response = home(client)
        check_in = client.get("/check-in/")
        recovery = client.get("/my-recovery/")

    page, said = html_of(response), text_of(response)
    assert "Your clinic hasn't recorded a treatment for you yet." in said
    assert 'href="/check-in/' not in page
    assert SOMETHING_WRONG not in said
    assert CLINIC_CALL in page
    assert check_in.status_code == 400
    assert "Your clinic hasn't recorded a treatment for you yet." in text_of(check_in)
    assert recovery.status_code == 200
    assert "Your clinic hasn't recorded a treatment for you yet." in text_of(recovery)
    assert "<svg" not in html_of(recovery)


def test_home_before_a_treatment_that_is_still_to_come(client: Client, patient: Patient) -> None:
    factories.create_treatment(patient=patient, treated_on=TREATED_ON)
    client.force_login(patient.user)

    with at_local(day(-2)):
        response = home(client)
        refused = client.get("/check-in/")

    said = text_of(response)
    assert refused.status_code == 400
    assert "Day -" not in said
    assert "Check in for today" not in said
    assert "Your diary starts on the day of your treatment, Friday 20 November." in said


def test_viewing_home_is_audited(patient_client: Client, patient: Patient) -> None:
    with at_local(day(5)):
        home(patient_client)

    event = AuditEvent.objects.get(action="patient.home_viewed")
    assert (event.actor, event.patient, event.object_id) == (patient.user, patient, "")
    assert event.ip_address == "127.0.0.1"


# A patient's own calendar day ------------------------------------------------------------------


def test_patients_on_either_side_of_the_date_line_see_their_own_day(clinic: Clinic) -> None:
    auckland = factories.create_patient(clinic=clinic, time_zone="Pacific/Auckland")
    los_angeles = factories.create_patient(clinic=clinic, time_zone="America/Los_Angeles")
    for patient in (auckland, los_angeles):
        factories.create_treatment(patient=patient, treated_on=TREATED_ON)

    # 1am on Thursday 26 November in Auckland, 4am on Wednesday 25 November in Los Angeles.
    with time_machine.travel(dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC), tick=False):
        in_auckland = text_of(home(signed_in(auckland)))
        in_los_angeles = text_of(home(signed_in(los_angeles)))
        signed_in(auckland).post("/check-in/", form_data(day(6)))
        signed_in(los_angeles).post("/check-in/", form_data(day(5)))

    assert "Day 6 after your treatment on 20 Nov" in in_auckland
    assert "Day 5 after your treatment on 20 Nov" in in_los_angeles
    assert CheckIn.objects.get(treatment__patient=auckland).day == 6
    assert CheckIn.objects.get(treatment__patient=los_angeles).day == 5


@pytest.fixture
def tokyo_patient(clinic: Clinic) -> Patient:
    patient = factories.create_patient(
        clinic=clinic, email="kei@example.com", time_zone="Asia/Tokyo"
    )
    factories.create_treatment(patient=patient, treated_on=TREATED_ON)
    return patient


TOKYO = ZoneInfo("Asia/Tokyo")


def test_at_the_patients_midnight_the_day_moves_on(tokyo_patient: Patient) -> None:
    client = signed_in(tokyo_patient)
    with at_local(day(5), 23, 59, tz=TOKYO):
        before = text_of(home(client))
        sent = client.post("/check-in/", form_data(day(5), swelling=1))
        result_before = text_of(client.get(sent["Location"]))

    with at_local(day(6), 0, 1, tz=TOKYO):
        after = text_of(home(client))
        page = client.get("/check-in/")
        yesterday = client.get("/check-in/?date=2026-11-25")
        result_after = text_of(client.get(sent["Location"]))

    assert "Day 5 after your treatment on 20 Nov" in before
    assert CheckIn.objects.get().local_date == day(5)
    assert "Change today's check-in" in result_before

    assert "Day 6 after your treatment on 20 Nov" in after
    assert "Check in for today" in after
    assert "You've checked in today" not in after
    assert "You missed yesterday" not in after
    assert "Today, day 6" in text_of(page)
    assert 'name="date" value="2026-11-26"' in html_of(page)
    assert yesterday.status_code == 400
    assert "Yesterday's check-in is already saved" in text_of(yesterday)
    assert "Change today's check-in" not in result_after


def test_after_the_patients_midnight_a_missed_day_becomes_yesterday(
    tokyo_patient: Patient,
) -> None:
    client = signed_in(tokyo_patient)
    with at_local(day(5), 23, 59, tz=TOKYO):
        opened = html_of(client.get("/check-in/"))

    with at_local(day(6), 0, 1, tz=TOKYO):
        after = html_of(home(client))
        # The form opened before midnight is sent after it: it counts for the day it was for.
        sent = client.post("/check-in/", form_data(day(5), swelling=2))

    assert 'name="date" value="2026-11-25"' in opened
    assert "You missed yesterday's check-in." in after
    assert 'href="/check-in/?date=2026-11-25"' in after
    assert sent.status_code == 302
    check_in = CheckIn.objects.get()
    assert (check_in.local_date, check_in.day) == (day(5), 5)


@pytest.mark.parametrize(
    ("treated_on", "shown_as"),
    [
        pytest.param(dt.date(2026, 10, 30), "30 Oct", id="clocks go back on 1 November"),
        pytest.param(dt.date(2026, 3, 6), "6 Mar", id="clocks go forward on 8 March"),
    ],
)
def test_a_daylight_saving_day_is_one_diary_day(
    patient: Patient, treated_on: dt.date, shown_as: str
) -> None:
    factories.create_treatment(patient=patient, treated_on=treated_on)
    client = signed_in(patient)
    change_day = day(2, treated_on)

    with at_local(change_day, 0, 30):
        early = text_of(home(client))
        first = client.post("/check-in/", form_data(change_day, swelling=1))
    with at_local(change_day, 1, 30, fold=1):
        small_hours = text_of(home(client))
    with at_local(change_day, 23, 30):
        late = text_of(home(client))
        second = client.post("/check-in/", form_data(change_day, swelling=2))
    with at_local(day(3, treated_on), 0, 30):
        next_day = text_of(home(client))

    label = f"after your treatment on {shown_as}"
    assert f"Day 2 {label}" in early
    assert f"Day 2 {label}" in small_hours
    assert f"Day 2 {label}" in late
    assert "You've checked in today" in late
    assert first["Location"] == second["Location"]
    check_in = CheckIn.objects.get()
    assert (check_in.local_date, check_in.day, check_in.swelling) == (change_day, 2, 2)
    assert CheckInRevision.objects.get().answers["swelling"] == 1
    assert f"Day 3 {label}" in next_day
    assert "Check in for today" in next_day


# My recovery ---------------------------------------------------------------------------------


@pytest.fixture
def diary(treatment: Treatment) -> Treatment:
    """Four days of check-ins, with day 2 missed and day 4 sent from "Something feels wrong"."""
    factories.create_check_in(
        treatment=treatment, local_date=day(0), swelling=2, redness=1, bruising=0, pain=2
    )
    factories.create_check_in(treatment=treatment, local_date=day(1), swelling=3, redness=1)
    factories.create_check_in(treatment=treatment, local_date=day(3), swelling=1, itching=1)
    factories.create_check_in(
        treatment=treatment,
        local_date=day(4),
        red_flags=frozenset({"infection"}),
        **dict.fromkeys(SYMPTOMS),
    )
    return treatment


def charts_of(page: str) -> dict[str, str]:
    """Each chart's markup, by its caption."""
    figures = re.findall(r'<figure class="chart">.*?</figure>', page, flags=re.DOTALL)
    return {
        re.search(r"<figcaption[^>]*>([^<]+)</figcaption>", f).group(1): f  # type: ignore[union-attr]
        for f in figures
    }


def test_my_recovery_draws_one_chart_per_symptom(patient_client: Client, diary: Treatment) -> None:
    with at_local(day(5)):
        response = patient_client.get("/my-recovery/")

    assert response.status_code == 200
    page = html_of(response)
    assert len(re.findall(r"<svg\b", page)) == 6
    assert len(re.findall(r'<svg\b[^>]*\brole="img"', page)) == 6
    charts = charts_of(page)
    assert list(charts) == [
        "Swelling",
        "Redness",
        "Bruising",
        "Lumps or bumps",
        "Pain or tenderness",
        "Itching",
    ]


def test_each_check_in_is_a_point_with_its_day_and_word(
    patient_client: Client, diary: Treatment
) -> None:
    with at_local(day(5)):
        charts = charts_of(html_of(patient_client.get("/my-recovery/")))

    def points(label: str) -> list[str]:
        return re.findall(
            r'<(?:circle|path) class="point[^>]*><title>([^<]+)</title>', charts[label]
        )

    # Day 1's severe swelling is above the band (up to moderate in the first week): said
    # in words, and drawn as a diamond, not a circle (issue 11: not by colour alone).
    assert points("Swelling") == [
        "Day 0: Moderate",
        "Day 1: Severe, more than usual",
        "Day 3: Mild",
    ]
    assert re.search(r'<path class="point above rating-3"[^>]*><title>Day 1:', charts["Swelling"])
    assert points("Redness") == ["Day 0: Mild", "Day 1: Mild", "Day 3: None"]
    assert points("Pain or tenderness") == ["Day 0: Moderate", "Day 1: None", "Day 3: None"]
    assert points("Itching") == ["Day 0: None", "Day 1: None", "Day 3: Mild"]
    # Day 4 had no ratings, and day 2 was missed: no point, and the line breaks.
    assert all("Day 4" not in t and "Day 2:" not in t for c in charts for t in points(c))
    assert len(re.findall(r'<polyline class="trend"', charts["Swelling"])) == 1
    assert (
        "Swelling: mild on day 3, the latest check-in. More than usual on day 1. 1 day missed."
    ) in charts["Swelling"]


def test_missed_days_are_marked_as_missed(patient_client: Client, diary: Treatment) -> None:
    """Day 2 had no check-in: a cross under the axis, named "missed"; today (day 5) is not
    missed yet. Day 4 (warning signs only) was a check-in, not a missed day."""
    with at_local(day(5)):
        charts = charts_of(html_of(patient_client.get("/my-recovery/")))

    for chart in charts.values():
        assert re.findall(r'<path class="missed"[^>]*><title>([^<]+)</title>', chart) == [
            "Day 2: missed"
        ]


def test_each_chart_has_a_legend_in_words(patient_client: Client, diary: Treatment) -> None:
    with at_local(day(5)):
        charts = charts_of(html_of(patient_client.get("/my-recovery/")))

    for chart in charts.values():
        key = re.search(r'<ul class="chart-key"[^>]*>(.*?)</ul>', chart)
        assert key is not None
        assert re.findall(r"</span>([^<]+)</li>", key.group(1)) == [
            "usual for this treatment",
            "you",
            "more than usual",
            "missed day",
        ]


def test_each_chart_shades_the_expected_course(patient_client: Client, diary: Treatment) -> None:
    with at_local(day(5)):
        charts = charts_of(html_of(patient_client.get("/my-recovery/")))

    for label, chart in charts.items():
        assert "The shaded area is usual for this treatment." in chart, label
        axis = {
            word: float(y)
            for y, word in re.findall(
                r'<text class="axis"[^>]* y="([\d.]+)"[^>]*>(\w+)</text>', chart
            )
        }
        area = re.search(r'<polygon class="expected" points="([^"]+)"', chart)
        assert area is not None, label
        heights = {float(p.split(",")[1]) for p in area.group(1).split()}
        # Up to moderate in the first week, mild in the second, none after: never severe.
        assert heights == {axis["None"], axis["Mild"], axis["Moderate"]}, label


def test_my_recovery_has_the_same_ratings_as_a_table(
    patient_client: Client, diary: Treatment
) -> None:
    with at_local(day(5)):
        page = html_of(patient_client.get("/my-recovery/"))

    rows = {
        int(day_number): (re.findall(r"<td>([^<]*)</td>", cells))
        for day_number, cells in re.findall(
            r'<tr[^>]*><th scope="row">(\d+)</th>(.*?)</tr>', page, flags=re.DOTALL
        )
    }
    # In words, one column of them so that it fits a 360px phone (issue 11: 0-3 in eight
    # columns), with the missed day shown as missed.
    assert rows == {
        0: ["Swelling: Moderate; Redness: Mild; Pain or tenderness: Moderate", "On track"],
        1: ["Swelling: Severe; Redness: Mild", "Contact your clinic"],
        2: ["Missed", "–"],
        3: ["Swelling: Mild; Itching: Mild", "Keep an eye on it"],
        4: ["Not rated", "Contact your clinic now"],
    }


def test_my_recovery_reads_the_diary_in_one_query_however_long(
    patient: Patient,
    diary: Treatment,
    django_assert_num_queries: AssertMaxQueries,
) -> None:
    """The read model costs the treatment's check-ins, one query, for 4 days or 14."""
    read = access.current_treatment(patient, today=day(5))
    assert read is not None
    with django_assert_num_queries(1):
        short = my_recovery(read, today=day(5))
    for n in range(5, 15):
        with at_local(day(n), 9):
            factories.create_check_in(treatment=diary, local_date=day(n))
    read = access.current_treatment(patient, today=day(15))
    assert read is not None
    with django_assert_num_queries(1):
        long = my_recovery(read, today=day(15))

    assert [row.day for row in short.table] == [0, 1, 2, 3, 4]
    assert [row.day for row in long.table] == list(range(15))
    assert len(short.charts) == len(long.charts) == 6


def test_my_recovery_before_any_check_in(patient_client: Client) -> None:
    with at_local(day(0)):
        response = patient_client.get("/my-recovery/")

    page = html_of(response)
    assert "No check-ins yet." in text_of(response)
    assert len(re.findall(r"<svg\b", page)) == 6
    assert "<circle" not in page
    assert "Swelling: no check-ins yet." in page


def test_viewing_my_recovery_is_audited(
    patient_client: Client, patient: Patient, diary: Treatment
) -> None:
    with at_local(day(5)):
        patient_client.get("/my-recovery/")

    event = AuditEvent.objects.get(action="recovery.viewed")
    assert (event.actor, event.patient, event.object_id) == (patient.user, patient, "")


def test_my_recovery_shows_only_the_patients_own_check_ins(
    patient_client: Client, diary: Treatment, second_patient: Patient
) -> None:
    factories.create_check_in(
        treatment=second_patient.treatments.get(), local_date=day(2), swelling=3
    )

    with at_local(day(5)):
        page = html_of(patient_client.get("/my-recovery/"))

    # Day 2 is missed on this patient's diary: the other patient's check-in is not shown.
    assert "Day 2: Severe" not in page
    assert "Day 2: missed" in page
    assert "Swelling: Severe; " not in page.split('<th scope="row">2</th>')[1].split("</tr>")[0]
