"""The daily check-in page, what it saves, and the result the patient is shown.

The words and rules come from /work/shared/recovery-course.md; they are spelled
out here rather than imported, so a change to the app's copy of them shows up.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from recovery.models import AuditEvent, CheckIn, CheckInRevision, Clinic, Patient, Treatment
from tests import factories
from tests.helpers import NEW_YORK, TREATED_ON, AssertMaxQueries, at_local, day, html_of, text_of

TODAY = TREATED_ON + dt.timedelta(days=5)  # Wednesday 25 November 2026, day 5
YESTERDAY = TODAY - dt.timedelta(days=1)

SYMPTOMS = {
    "swelling": "Swelling",
    "redness": "Redness",
    "bruising": "Bruising",
    "lumps": "Lumps or bumps",
    "pain": "Pain or tenderness",
    "itching": "Itching",
}
SCALE = [
    ("None", ""),
    ("Mild", "I notice it, it doesn't bother me"),
    ("Moderate", "it bothers me, but I can do my usual activities"),
    ("Severe", "it stops me doing my usual activities"),
]
RED_FLAGS = {
    "skin_color": (
        "Near an injection, is there a white or pale patch, a net-like or mottled grey, blue "
        "or purple pattern that is spreading or painful, or blisters or sores? (An ordinary "
        "bruise is not this.)"
    ),
    "severe_pain": "Is the pain severe, or getting worse instead of better?",
    "vision": "Any change in your eyesight, eye pain, double vision, or a drooping eyelid?",
    "stroke": (
        "Sudden trouble speaking, a drooping face, weakness or numbness in the face, an arm or "
        "a leg, trouble walking, a severe headache, dizziness or confusion?"
    ),
    "infection": (
        "Fever or chills, pus or fluid from an injection site, redness that is hot and "
        "spreading, or a lump that is warm, tender or growing?"
    ),
    "allergy": "Hives, swelling of the lips, tongue or throat, or trouble breathing?",
}
NO_RATINGS: dict[str, Any] = dict.fromkeys(SYMPTOMS)  # Any: unpacked beside other keywords
CLINIC_CALL = 'href="tel:+15550102000"'
AFTER_HOURS_CALL = 'href="tel:+15550102999"'


@pytest.fixture(autouse=True)
def _on_day_5() -> Iterator[None]:
    with at_local(TODAY):
        yield


def form_data(
    local_date: dt.date = TODAY,
    *,
    flags: Iterable[str] = (),
    note: str = "",
    key: uuid.UUID | None = None,
    **ratings: int | str | None,
) -> dict[str, str]:
    """What the check-in form sends: every symptom rated 0 unless given (None leaves it out)."""
    data = {"date": local_date.isoformat(), "note": note}
    if key is not None:
        data["idempotency_key"] = str(key)
    for symptom in SYMPTOMS:
        value = ratings.get(symptom, 0)
        if value is not None:
            data[symptom] = str(value)
    flags = set(flags)
    for flag in RED_FLAGS:
        data[flag] = "yes" if flag in flags else "no"
    return data


def result_path(check_in: CheckIn) -> str:
    return f"/check-ins/{check_in.public_id}/"


def check_in_actions() -> list[str]:
    return list(
        AuditEvent.objects.filter(action__startswith="check_in.")
        .order_by("at", "pk")
        .values_list("action", flat=True)
    )


def nothing_saved() -> bool:
    return (
        not CheckIn.objects.exists()
        and not CheckInRevision.objects.exists()
        and not AuditEvent.objects.filter(
            action__in=["check_in.created", "check_in.replaced"]
        ).exists()
    )


def send(client: Client, data: dict[str, str], **extra: object) -> HttpResponse:
    return client.post("/check-in/", data, **extra)  # type: ignore[arg-type,return-value]


# The page ---------------------------------------------------------------------------------


def test_the_page_shows_the_day_and_the_six_symptoms_on_the_four_point_scale(
    patient_client: Client,
) -> None:
    response = patient_client.get("/check-in/")

    assert response.status_code == 200
    page, said = html_of(response), text_of(response)
    assert "Today, day 5" in said
    assert "Wednesday 25 November, after your treatment on 20 Nov" in said
    assert 'name="date" value="2026-11-25"' in page
    key = re.search(r'name="idempotency_key" value="([0-9a-f-]{36})"', page)
    assert key is not None
    # The scale's words with what they mean, once above the six rows (issue 11: the same
    # words under each of 24 buttons made the form 5 screens tall).
    scale = " ".join(f"{word}: {hint}" for word, hint in SCALE if hint)
    assert said.count(scale.replace(": ", " ")) == 1
    words = [word for word, _ in SCALE]
    for symptom, label in SYMPTOMS.items():
        fieldset = re.search(rf"<legend>{label}</legend>(.*?)</fieldset>", page, flags=re.DOTALL)
        assert fieldset is not None, label
        assert re.findall(rf'name="{symptom}" value="(\d)"', fieldset.group(1)) == list("0123")
        in_words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fieldset.group(1))).split())
        assert in_words == " ".join(words)
    # Nothing is answered for the patient.
    assert " checked" not in page


def test_the_page_asks_the_six_red_flag_questions(patient_client: Client) -> None:
    response = patient_client.get("/check-in/")

    page, said = html_of(response), text_of(response)
    # Each sign a box to tick for a yes, in words, then "None of these" (issue 11: six
    # yes/no pairs took six taps on an all-clear day).
    for flag, question in RED_FLAGS.items():
        assert question in said
        assert f'<input type="checkbox" name="{flag}" value="yes">' in page
    assert '<input type="checkbox" name="no_warning_signs" value="yes" data-none-of-these>' in page
    assert said.index(RED_FLAGS["allergy"]) < said.rindex("None of these")


def test_each_visit_gets_a_fresh_submission_key(patient_client: Client) -> None:
    keys = {
        re.search(r'name="idempotency_key" value="([0-9a-f-]{36})"', html_of(r)).group(1)  # type: ignore[union-attr]
        for r in (patient_client.get("/check-in/"), patient_client.get("/check-in/"))
    }
    assert len(keys) == 2


def test_ratings_come_before_the_red_flags_by_default(patient_client: Client) -> None:
    said = text_of(patient_client.get("/check-in/"))

    assert said.index("How are these today?") < said.index("Warning signs")


def test_something_feels_wrong_puts_the_red_flags_first(patient_client: Client) -> None:
    response = patient_client.get("/check-in/?first=red_flags")

    assert response.status_code == 200
    said = text_of(response)
    assert said.index("Warning signs") < said.index("How are these today?")
    assert said.index(RED_FLAGS["vision"]) < said.index("Lumps or bumps")
    assert said.index("Send now") < said.index("How are these today?")


# Saving a check-in -------------------------------------------------------------------------

# (name, day, previous check-in's ratings or None, today's ratings, red flags, status, reasons)
COURSE_CASES = [
    ("nothing to report", 5, None, {}, (), "on_track", []),
    ("mild swelling at the first check-in", 5, None, {"swelling": 1}, (), "on_track", []),
    ("moderate swelling early on", 1, {"swelling": 1}, {"swelling": 2}, (), "on_track", []),
    ("severe swelling", 5, None, {"swelling": 3}, (), "contact_clinic", ["severe:swelling"]),
    (
        "swelling worse than yesterday, now moderate",
        5,
        {"swelling": 1},
        {"swelling": 2},
        (),
        "contact_clinic",
        ["worsening:swelling"],
    ),
    ("a new mild lump after a week", 9, {}, {"lumps": 1}, (), "watch", ["worsening:lumps"]),
    (
        "bruising still moderate after a week",
        10,
        {"bruising": 2},
        {"bruising": 2},
        (),
        "watch",
        ["slow_to_improve:bruising"],
    ),
    (
        "redness at two check-ins in a row past day 14",
        15,
        {"redness": 1},
        {"redness": 1},
        (),
        "contact_clinic",
        ["persisting:redness"],
    ),
    ("a change in eyesight", 5, None, {}, ("vision",), "urgent", ["red_flag:vision"]),
    (
        "severe pain and infection signs with severe pain rated",
        5,
        None,
        {"pain": 3},
        ("infection", "severe_pain"),
        "urgent",
        ["red_flag:severe_pain", "red_flag:infection"],
    ),
]


@pytest.mark.parametrize(
    ("on_day", "previous", "ratings", "flags", "status", "reasons"),
    [pytest.param(*case[1:], id=case[0]) for case in COURSE_CASES],
)
def test_a_check_in_is_saved_with_the_status_and_reasons_of_the_course(
    patient_client: Client,
    patient: Patient,
    treatment: Treatment,
    on_day: int,
    previous: dict[str, Any] | None,
    ratings: dict[str, Any],
    flags: tuple[str, ...],
    status: str,
    reasons: list[str],
) -> None:
    if previous is not None:
        factories.create_check_in(treatment=treatment, local_date=day(on_day - 1), **previous)

    with at_local(day(on_day)):
        response = send(
            patient_client,
            form_data(day(on_day), flags=flags, note="Took a paracetamol", **ratings),
        )

    check_in = CheckIn.objects.get(local_date=day(on_day))
    assert response.status_code == 302
    assert response["Location"] == result_path(check_in)
    assert check_in.treatment == treatment
    assert check_in.day == on_day
    assert {s: getattr(check_in, s) for s in SYMPTOMS} == {s: ratings.get(s, 0) for s in SYMPTOMS}
    assert sorted(check_in.red_flags) == sorted(flags)
    assert check_in.note == "Took a paracetamol"
    assert check_in.status == status
    assert check_in.reasons == reasons
    assert check_in.entered_by == patient.user
    event = AuditEvent.objects.get(action="check_in.created", object_id=check_in.public_id)
    assert event.actor == patient.user
    assert event.patient == patient
    assert event.object_id == str(check_in.public_id)
    assert event.ip_address == "127.0.0.1"


# The result page --------------------------------------------------------------------------


def result_after(client: Client, on_day: int, **fields: object) -> HttpResponse:
    """Send a check-in on `on_day` and open the result page it leads to."""
    with at_local(day(on_day)):
        response = send(client, form_data(day(on_day), **fields))  # type: ignore[arg-type]
        assert response.status_code == 302, text_of(response)
        return client.get(response["Location"])  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("on_day", "reassurance"),
    [
        (1, "Swelling, redness, tenderness and bruising are normal in the first days"),
        (5, "Swelling and bruising usually fade within a week."),
        (10, "it is usually gone within two weeks."),
    ],
)
def test_on_track_reassures_with_what_is_normal_that_day(
    patient_client: Client, treatment: Treatment, on_day: int, reassurance: str
) -> None:
    response = result_after(patient_client, on_day, swelling=1)

    assert response.status_code == 200
    said = text_of(response)
    assert f"Your check-in, day {on_day}" in said
    assert "You're on track" in said
    assert reassurance in said
    assert "contact your clinic" not in said.lower()
    assert "Call 911 now" not in said


@pytest.mark.parametrize("on_day", [1, 10, 20])
def test_an_all_clear_day_is_told_so_not_that_what_is_left_should_fade(
    patient_client: Client, treatment: Treatment, on_day: int
) -> None:
    """Issue 11: after an all-None check-in the result said "What is left of the swelling,
    redness or bruising should be fading"."""
    said = text_of(result_after(patient_client, on_day))
    assert "You have no symptoms today: that is good news." in said
    assert "What is left" not in said and "normal in the first days" not in said


def test_the_words_agree_with_a_symptom_named_in_the_plural(
    patient_client: Client, treatment: Treatment
) -> None:
    said = text_of(result_after(patient_client, 4, lumps=3))
    assert "Lumps or bumps are severe." in said


def test_watch_says_which_symptom_and_to_contact_the_clinic_if_still_there_on_day_15(
    patient_client: Client, treatment: Treatment
) -> None:
    factories.create_check_in(treatment=treatment, local_date=day(9), bruising=2)

    said = text_of(result_after(patient_client, 10, bruising=2))

    assert "Keep an eye on it" in said
    assert "Bruising is taking longer than the usual week to settle." in said
    assert "If it is still there on day 15, contact your clinic." in said
    assert CLINIC_CALL not in said


def test_watch_after_day_14_says_to_contact_the_clinic_if_still_there_tomorrow(
    patient_client: Client, treatment: Treatment
) -> None:
    factories.create_check_in(treatment=treatment, local_date=day(15))

    response = result_after(patient_client, 16, swelling=1)

    said = text_of(response)
    assert CheckIn.objects.get(local_date=day(16)).status == "watch"
    assert "Keep an eye on it" in said
    assert "Swelling has come back or is a little worse than at your last check-in." in said
    assert "If it is still there tomorrow, contact your clinic." in said
    assert "day 15" not in said


def test_contact_clinic_says_contact_the_clinic_today_with_its_phone_and_hours(
    patient_client: Client, treatment: Treatment
) -> None:
    response = result_after(patient_client, 5, swelling=3)

    page, said = html_of(response), text_of(response)
    assert "Please contact Riverside Skin Clinic today" in said
    assert "Swelling is severe." in said
    assert f'<a class="button call" {CLINIC_CALL}>' in page
    assert "Call Riverside Skin Clinic: +1 (555) 010-2000" in said
    assert "Open Mon–Fri 9am–6pm." in said
    assert "Call 911 now" not in said


def test_urgent_says_to_be_seen_today_with_the_clinic_and_after_hours_numbers(
    patient_client: Client, treatment: Treatment
) -> None:
    response = result_after(patient_client, 5, flags=["skin_color"])

    page, said = html_of(response), text_of(response)
    assert "Contact Riverside Skin Clinic now — you need to be seen in person today" in said
    assert "You told us about a pale, mottled or blistered patch of skin near an injection." in said
    assert CLINIC_CALL in page
    assert AFTER_HOURS_CALL in page
    assert "Clinic closed? Call +1 (555) 010-2999" in said
    assert "Call 911" not in said
    assert 'href="tel:911"' not in page


@pytest.mark.parametrize("flag", ["vision", "stroke", "allergy"])
def test_an_emergency_red_flag_says_call_911_before_the_clinic(
    patient_client: Client, treatment: Treatment, flag: str
) -> None:
    response = result_after(patient_client, 5, flags=[flag])

    page, said = html_of(response), text_of(response)
    assert "Call 911 now" in said
    assert "Contact Riverside Skin Clinic now — you need to be seen in person today" in said
    assert 'href="tel:911"' in page
    assert page.index('href="tel:911"') < page.index(CLINIC_CALL) < page.index(AFTER_HOURS_CALL)
    assert said.index("Call 911 now") < said.index("Call Riverside Skin Clinic")


def test_the_emergency_number_is_the_clinics_own(other_clinic: Clinic) -> None:
    patient = factories.create_patient(
        clinic=other_clinic, email="cara@example.com", time_zone="Europe/London"
    )
    factories.create_treatment(patient=patient, treated_on=TREATED_ON)
    client = Client()
    client.force_login(patient.user)

    response = result_after(client, 5, flags=["stroke"])

    page, said = html_of(response), text_of(response)
    assert "Call 999 now" in said
    assert page.index('href="tel:999"') < page.index('href="tel:+442079460000"')
    assert "Contact Harbour Aesthetics now — you need to be seen in person today" in said
    assert "911" not in said


def test_the_result_page_lists_the_answers_and_is_audited(
    patient_client: Client, patient: Patient, treatment: Treatment
) -> None:
    response = result_after(patient_client, 5, swelling=2, itching=1)

    said = text_of(response)
    assert "Swelling Moderate" in said
    assert "Itching Mild" in said
    assert "Warning signs None" in said
    assert "Change today's check-in" in said
    check_in = CheckIn.objects.get()
    event = AuditEvent.objects.get(action="check_in.viewed")
    assert (event.actor, event.patient, event.object_id) == (
        patient.user,
        patient,
        str(check_in.public_id),
    )


def test_another_patients_check_in_is_not_found(
    patient_client: Client, patient: Patient, second_patient: Patient
) -> None:
    theirs = factories.create_check_in(
        treatment=second_patient.treatments.get(), local_date=TODAY, swelling=3
    )

    response = patient_client.get(result_path(theirs))

    assert response.status_code == 404
    assert "Swelling" not in text_of(response)
    assert not AuditEvent.objects.filter(action="check_in.viewed").exists()


def test_an_unknown_check_in_is_not_found(patient_client: Client) -> None:
    assert patient_client.get(f"/check-ins/{uuid.uuid4()}/").status_code == 404
    assert patient_client.get("/check-ins/12/").status_code == 404


# Changing today's check-in, and filling in yesterday's ---------------------------------------


def test_a_second_check_in_today_replaces_the_first_and_keeps_its_answers(
    patient_client: Client, patient: Patient, treatment: Treatment
) -> None:
    first = send(patient_client, form_data(swelling=1, note="A bit puffy"))
    with at_local(TODAY, 18):
        second = send(patient_client, form_data(swelling=3, note="Much worse tonight"))

    check_in = CheckIn.objects.get()
    assert first["Location"] == second["Location"] == result_path(check_in)
    assert check_in.swelling == 3
    assert check_in.note == "Much worse tonight"
    assert check_in.status == "contact_clinic"
    revision = CheckInRevision.objects.get()
    assert revision.check_in == check_in
    assert revision.answers == {
        **dict.fromkeys(SYMPTOMS, 0),
        "swelling": 1,
        "red_flags": [],
        "note": "A bit puffy",
    }
    assert revision.status == "on_track"
    assert revision.replaced_at == dt.datetime(2026, 11, 25, 18, tzinfo=NEW_YORK)
    assert check_in_actions() == ["check_in.created", "check_in.replaced"]
    replaced = AuditEvent.objects.get(action="check_in.replaced")
    assert (replaced.actor, replaced.patient, replaced.object_id) == (
        patient.user,
        patient,
        str(check_in.public_id),
    )


def test_changing_todays_check_in_starts_from_its_answers(
    patient_client: Client, treatment: Treatment
) -> None:
    send(patient_client, form_data(swelling=2, flags=["infection"], note="Warm lump"))

    response = patient_client.get("/check-in/")

    page = html_of(response)
    assert response.status_code == 200
    assert re.search(r'name="swelling" value="2"\s+checked', page)
    assert re.search(r'name="infection" value="yes"\s+checked', page)
    assert re.search(r'name="vision" value="yes">', page)
    assert re.search(r'name="no_warning_signs" value="yes" data-none-of-these>', page)
    assert ">Warm lump</textarea>" in page
    assert check_in_actions() == ["check_in.created", "check_in.viewed"]


def test_a_missed_yesterday_can_be_filled_in_once(
    patient_client: Client, treatment: Treatment
) -> None:
    page = patient_client.get(f"/check-in/?date={YESTERDAY}")
    assert page.status_code == 200
    assert "Yesterday, day 4" in text_of(page)
    assert 'name="date" value="2026-11-24"' in html_of(page)

    response = send(patient_client, form_data(YESTERDAY, swelling=1))

    check_in = CheckIn.objects.get()
    assert response.status_code == 302
    assert response["Location"] == result_path(check_in)
    assert (check_in.local_date, check_in.day, check_in.swelling) == (YESTERDAY, 4, 1)
    result = patient_client.get(response["Location"])
    assert "Your check-in, day 4" in text_of(result)
    assert "Change today's check-in" not in text_of(result)

    again = patient_client.get(f"/check-in/?date={YESTERDAY}")
    resent = send(patient_client, form_data(YESTERDAY, swelling=3))

    for refused in (again, resent):
        assert refused.status_code == 400
        assert "Yesterday's check-in is already saved; only today's can be changed." in (
            text_of(refused)
        )
    check_in.refresh_from_db()
    assert check_in.swelling == 1
    assert not CheckInRevision.objects.exists()
    assert check_in_actions() == ["check_in.created", "check_in.viewed"]


def test_filling_in_yesterday_late_reassesses_today_against_it(
    patient_client: Client, treatment: Treatment
) -> None:
    today = send(patient_client, form_data(swelling=2))
    assert "You're on track" in text_of(patient_client.get(today["Location"]))

    send(patient_client, form_data(YESTERDAY))

    todays = CheckIn.objects.get(local_date=TODAY)
    assert (todays.status, todays.reasons) == ("contact_clinic", ["worsening:swelling"])
    said = text_of(patient_client.get(today["Location"]))
    assert "Please contact Riverside Skin Clinic today" in said
    assert "Swelling is worse than at your last check-in." in said


REFUSED_DATES = [
    pytest.param(
        5,
        day(3),
        "The check-in for Monday 23 November can no longer be filled in: "
        "only today's, and yesterday's if you missed it.",
        id="the day before yesterday",
    ),
    pytest.param(5, day(6), "You can't check in for a day that hasn't come yet.", id="tomorrow"),
    pytest.param(
        0,
        day(-1),
        "Your diary starts on the day of your treatment, Friday 20 November.",
        id="the day before the treatment",
    ),
    pytest.param(
        31,
        day(31),
        "Your diary ended on Sunday 20 December. Thank you for keeping it.",
        id="after day 30",
    ),
]


@pytest.mark.parametrize(("on_day", "local_date", "message"), REFUSED_DATES)
def test_a_day_that_cannot_be_filled_in_is_refused_on_the_page(
    patient_client: Client, treatment: Treatment, on_day: int, local_date: dt.date, message: str
) -> None:
    with at_local(day(on_day)):
        response = patient_client.get(f"/check-in/?date={local_date}")

    assert response.status_code == 400
    assert message in text_of(response)
    assert 'name="swelling"' not in html_of(response)
    assert nothing_saved()


@pytest.mark.parametrize(("on_day", "local_date", "message"), REFUSED_DATES)
def test_a_day_that_cannot_be_filled_in_is_refused_when_sent(
    patient_client: Client, treatment: Treatment, on_day: int, local_date: dt.date, message: str
) -> None:
    with at_local(day(on_day)):
        response = send(patient_client, form_data(local_date, swelling=2))

    assert response.status_code == 400
    assert message in text_of(response)
    assert CLINIC_CALL in html_of(response)  # the clinic is still one tap away
    assert nothing_saved()


def test_day_30_can_still_be_filled_in_on_day_31_if_missed(
    patient_client: Client, treatment: Treatment
) -> None:
    with at_local(day(31)):
        response = send(patient_client, form_data(day(30)))

    assert response.status_code == 302
    assert CheckIn.objects.get().day == 30


# Answers that cannot be saved ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        pytest.param(
            {"swelling": "5"}, "swelling", "Choose None, Mild, Moderate or Severe.", id="5"
        ),
        pytest.param(
            {"redness": "-1"}, "redness", "Choose None, Mild, Moderate or Severe.", id="-1"
        ),
        pytest.param({"pain": "abc"}, "pain", "Choose None, Mild, Moderate or Severe.", id="abc"),
        pytest.param({"pain": "1.5"}, "pain", "Choose None, Mild, Moderate or Severe.", id="1.5"),
        pytest.param(
            {"swelling": None},
            "swelling",
            "Choose None, Mild, Moderate or Severe for swelling.",
            id="missing",
        ),
        pytest.param(
            {"itching": ""},
            "itching",
            "Choose None, Mild, Moderate or Severe for itching.",
            id="empty",
        ),
        # The six signs have one error on the patient's page, under their question.
        pytest.param({"vision": None}, "warning_signs", "Please answer yes or no.", id="no answer"),
        pytest.param({"allergy": "maybe"}, "warning_signs", "Please answer yes or no.", id="maybe"),
    ],
)
def test_a_bad_answer_is_shown_next_to_its_question_and_nothing_is_saved(
    patient_client: Client,
    treatment: Treatment,
    changes: dict[str, str | None],
    field: str,
    error: str,
) -> None:
    key = uuid.uuid4()
    data = form_data(bruising=2, key=key)
    for name, value in changes.items():
        if value is None:
            del data[name]
        else:
            data[name] = value

    response = send(patient_client, data)

    assert response.status_code == 422
    page = html_of(response)
    assert f'<p class="error" id="id_{field}-error">{error}</p>' in page
    assert f'aria-describedby="id_{field}-error' in page
    assert page.count('class="error"') == 1
    assert "Please check your answers" in text_of(response)
    # What was already answered is kept, and the same submission key is sent again.
    assert re.search(r'name="bruising" value="2"\s+checked', page)
    assert 'name="date" value="2026-11-25"' in page
    assert f'name="idempotency_key" value="{key}"' in page
    assert nothing_saved()


def test_a_missing_rating_is_pointed_out_for_each_symptom(
    patient_client: Client, treatment: Treatment
) -> None:
    response = send(patient_client, form_data(lumps=None, pain=None))

    assert response.status_code == 422
    page = html_of(response)
    assert 'id="id_lumps-error">Choose None, Mild, Moderate or Severe for lumps or bumps' in page
    assert 'id="id_pain-error">Choose None, Mild, Moderate or Severe for pain or tenderness' in page
    assert 'id="id_swelling-error"' not in page
    assert nothing_saved()


def test_a_note_over_2000_characters_is_refused(
    patient_client: Client, treatment: Treatment
) -> None:
    response = send(patient_client, form_data(note="x" * 2001))

    assert response.status_code == 422
    assert "at most 2000 characters (it has 2001)" in text_of(response)
    assert nothing_saved()


def test_a_note_of_2000_characters_is_kept(patient_client: Client, treatment: Treatment) -> None:
    assert send(patient_client, form_data(note="x" * 2000)).status_code == 302
    assert CheckIn.objects.get().note == "x" * 2000


@pytest.mark.parametrize("bad_date", ["2026-13-45", "yesterday", "25/11/2026", ""])
def test_a_malformed_date_is_refused_when_sent(
    patient_client: Client, treatment: Treatment, bad_date: str
) -> None:
    data = form_data()
    data["date"] = bad_date

    response = send(patient_client, data)

    assert response.status_code == 422
    assert "Please check your answers" in text_of(response)
    # The form sent back is for today, not for the malformed date.
    assert 'name="date" value="2026-11-25"' in html_of(response)
    assert nothing_saved()


@pytest.mark.parametrize("bad_date", ["garbage", "2026-02-30", "2026-11-25T10:00"])
def test_a_malformed_date_in_the_address_is_refused(
    patient_client: Client, treatment: Treatment, bad_date: str
) -> None:
    response = patient_client.get(f"/check-in/?date={bad_date}")

    assert response.status_code == 400
    assert "That is not a date." in text_of(response)


def test_a_bad_change_leaves_todays_check_in_as_it_was(
    patient_client: Client, treatment: Treatment
) -> None:
    send(patient_client, form_data(swelling=1, note="first"))

    response = send(patient_client, form_data(swelling="9", note="second"))

    assert response.status_code == 422
    check_in = CheckIn.objects.get()
    assert (check_in.swelling, check_in.note, check_in.status) == (1, "first", "on_track")
    assert not CheckInRevision.objects.exists()
    assert check_in_actions() == ["check_in.created"]


# "Something feels wrong — tell us now" ------------------------------------------------------


def test_a_red_flag_can_be_sent_without_ratings(
    patient_client: Client, treatment: Treatment
) -> None:
    response = send(patient_client, form_data(flags=["stroke"], **NO_RATINGS))

    check_in = CheckIn.objects.get()
    assert response.status_code == 302
    assert response["Location"] == result_path(check_in)
    assert [getattr(check_in, s) for s in SYMPTOMS] == [None] * 6
    assert (check_in.status, check_in.reasons) == ("urgent", ["red_flag:stroke"])
    said = text_of(patient_client.get(response["Location"]))
    assert "Call 911 now" in said
    assert "Swelling Not answered" in said


def test_a_later_full_check_in_replaces_a_red_flag_only_one(
    patient_client: Client, treatment: Treatment
) -> None:
    with at_local(TODAY, 9):
        send(patient_client, form_data(flags=["allergy"], **NO_RATINGS))
    with at_local(TODAY, 20):
        response = send(patient_client, form_data(swelling=1, bruising=2))

    check_in = CheckIn.objects.get()
    assert response["Location"] == result_path(check_in)
    assert (check_in.swelling, check_in.bruising, check_in.red_flags) == (1, 2, [])
    revision = CheckInRevision.objects.get()
    assert revision.status == "urgent"
    assert revision.answers["red_flags"] == ["allergy"]
    assert revision.answers["swelling"] is None
    assert check_in_actions() == ["check_in.created", "check_in.replaced"]


def test_a_later_red_flag_keeps_the_ratings_given_earlier_the_same_day(
    patient_client: Client, treatment: Treatment
) -> None:
    with at_local(TODAY, 9):
        send(patient_client, form_data(swelling=2, pain=1, note="Morning"))
    with at_local(TODAY, 20):
        response = send(patient_client, form_data(flags=["severe_pain"], **NO_RATINGS))

    check_in = CheckIn.objects.get()
    assert response["Location"] == result_path(check_in)
    assert (check_in.swelling, check_in.pain, check_in.itching) == (2, 1, 0)
    assert check_in.red_flags == ["severe_pain"]
    assert (check_in.status, check_in.reasons) == ("urgent", ["red_flag:severe_pain"])
    assert CheckInRevision.objects.get().answers["swelling"] == 2


def test_a_mistake_on_the_something_feels_wrong_page_keeps_the_red_flags_first(
    patient_client: Client, treatment: Treatment
) -> None:
    page = patient_client.get("/check-in/?first=red_flags")
    action = re.search(r'<form method="post" action="([^"]+)" class="check-in-form"', html_of(page))
    assert action is not None
    data = form_data(flags=[], **NO_RATINGS)
    del data["allergy"]

    response = patient_client.post(html.unescape(action.group(1)), data)

    assert response.status_code == 422
    said = text_of(response)
    assert said.index("Warning signs") < said.index("How are these today?")


def test_one_yes_is_enough_to_be_told_what_to_do(
    patient_client: Client, treatment: Treatment
) -> None:
    # A patient who answers yes to the eyesight question and presses "Send now" at once.
    data = {
        k: v
        for k, v in form_data(flags=["vision"], **NO_RATINGS).items()
        if k not in {"skin_color", "severe_pain", "stroke", "infection", "allergy"}
    }

    response = send(patient_client, data)

    assert response.status_code == 302
    result = text_of(patient_client.get(response["Location"]))
    assert "Call 911 now" in result
    saved = CheckIn.objects.get()
    assert (saved.status, saved.red_flags) == ("urgent", ["vision"])


# The warning signs as the patient's page asks them: a tick for each yes, or "None of these".


def ticked_form_data(*, flags: Iterable[str] = (), none_of_these: bool = False) -> dict[str, str]:
    """What the patient's page sends: every symptom rated 0, a "yes" for each ticked sign,
    nothing for the others, and "None of these" if ticked."""
    data = {k: v for k, v in form_data().items() if k not in RED_FLAGS}
    data.update(dict.fromkeys(flags, "yes"))
    if none_of_these:
        data["no_warning_signs"] = "yes"
    return data


def test_none_of_these_answers_the_six_warning_signs(
    patient_client: Client, treatment: Treatment
) -> None:
    response = send(patient_client, ticked_form_data(none_of_these=True))

    assert response.status_code == 302
    saved = CheckIn.objects.get()
    assert (saved.status, saved.red_flags) == ("on_track", [])


def test_warning_signs_left_unanswered_are_asked_again(
    patient_client: Client, treatment: Treatment
) -> None:
    response = send(patient_client, ticked_form_data())

    assert response.status_code == 422
    page = html_of(response)
    assert (
        '<p class="error" id="id_warning_signs-error">'
        "Tick each warning sign you have, or “None of these”.</p>"
    ) in page
    assert page.count('class="error"') == 1
    assert nothing_saved()


def test_a_sign_ticked_beside_none_of_these_is_a_yes(
    patient_client: Client, treatment: Treatment
) -> None:
    # Without JavaScript both can be ticked: a warning sign is never dropped.
    response = send(patient_client, ticked_form_data(flags=["stroke"], none_of_these=True))

    assert response.status_code == 302
    saved = CheckIn.objects.get()
    assert (saved.status, saved.red_flags) == ("urgent", ["stroke"])


def test_the_page_offers_what_to_do_once_a_sign_is_ticked(patient_client: Client) -> None:
    """The words and numbers offline.js shows at once when a sign is ticked (issue 11)."""
    page = html_of(patient_client.get("/check-in/"))
    found = re.search(r'<script id="clinic-contact" type="application/json">(.*?)</script>', page)
    assert found is not None
    contact = json.loads(found.group(1))
    assert contact["call_emergency"] == "Call 911 now"
    assert contact["emergency_flags"] == ["allergy", "stroke", "vision"]
    assert contact["call_after_hours"] == "Clinic closed? Call +1 (555) 010-2999"
    assert contact["send_now_line"] == (
        "Send now so your clinic is told. The other questions can wait."
    )
    assert contact["questions"] == list(SYMPTOMS)
    assert '<div class="sign-guidance" id="sign-guidance" aria-live="assertive"></div>' in page
    assert "None of these: all six None" in page


# Sending the same check-in twice ---------------------------------------------------------------


def test_the_same_submission_sent_twice_is_saved_once(
    patient_client: Client, treatment: Treatment
) -> None:
    key = uuid.uuid4()

    first = send(patient_client, form_data(swelling=1, key=key))
    second = send(patient_client, form_data(swelling=1, key=key))

    check_in = CheckIn.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == result_path(check_in)
    assert check_in.idempotency_key == key
    assert not CheckInRevision.objects.exists()
    assert check_in_actions() == ["check_in.created"]


def test_an_old_submission_replayed_after_a_change_changes_nothing(
    patient_client: Client, treatment: Treatment
) -> None:
    old_key = uuid.uuid4()
    send(patient_client, form_data(swelling=1, key=old_key))
    send(patient_client, form_data(swelling=2, key=uuid.uuid4()))

    replay = send(patient_client, form_data(swelling=1, key=old_key))

    check_in = CheckIn.objects.get()
    assert replay.status_code == 302
    assert replay["Location"] == result_path(check_in)
    assert check_in.swelling == 2
    assert CheckInRevision.objects.count() == 1
    assert check_in_actions() == ["check_in.created", "check_in.replaced"]


def test_a_submission_key_of_another_patient_is_refused(
    patient_client: Client, patient: Patient, second_patient: Patient
) -> None:
    key = uuid.uuid4()
    ben = Client()
    ben.force_login(second_patient.user)
    assert send(ben, form_data(swelling=1, key=key)).status_code == 302
    audit_before = AuditEvent.objects.count()

    response = send(patient_client, form_data(swelling=3, key=key))

    assert response.status_code == 400
    assert "This submission can't be accepted." in text_of(response)
    theirs = CheckIn.objects.get()
    assert theirs.treatment.patient == second_patient
    assert theirs.swelling == 1
    assert not CheckInRevision.objects.exists()
    assert AuditEvent.objects.count() == audit_before


def test_a_check_in_sent_from_another_site_is_refused(
    patient: Patient, treatment: Treatment
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(patient.user)

    forged = send(browser, form_data(swelling=3))

    assert forged.status_code == 403
    assert nothing_saved()
    page = html_of(browser.get("/check-in/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    sent = send(browser, {**form_data(swelling=3), "csrfmiddlewaretoken": token.group(1)})
    assert sent.status_code == 302


# htmx ------------------------------------------------------------------------------------------

HX = {"HX-Request": "true", "HX-Boosted": "true", "HX-Current-URL": "http://testserver/check-in/"}


def test_an_htmx_check_in_is_answered_with_the_same_redirect(
    patient_client: Client, treatment: Treatment
) -> None:
    response = send(patient_client, form_data(swelling=1), headers=HX)

    assert response.status_code == 302
    assert response["Location"] == result_path(CheckIn.objects.get())


def test_an_htmx_check_in_with_a_mistake_is_a_422_with_the_error(
    patient_client: Client, treatment: Treatment
) -> None:
    response = send(patient_client, form_data(swelling="7"), headers=HX)

    assert response.status_code == 422
    assert 'id="id_swelling-error">Choose None, Mild, Moderate or Severe.' in html_of(response)
    assert nothing_saved()


def _htmx_rule_for(config: dict[str, list[dict[str, object]]], status: int) -> dict[str, object]:
    """The first responseHandling rule whose code pattern matches, as htmx picks it."""
    return next(r for r in config["responseHandling"] if re.search(str(r["code"]), str(status)))


def test_the_patients_pages_load_no_htmx(patient_client: Client) -> None:
    """Issue 11: 17 KB of htmx made the check-in page 34 KB on a cold load; the patient's
    pages are plain forms and links, kept working offline by offline.js."""
    page = html_of(patient_client.get("/check-in/"))

    assert "htmx" not in page
    assert "hx-boost" not in page
    assert "/static/js/offline.js" in page
    assert "/static/css/clinic.css" not in page


def test_the_clinics_pages_tell_htmx_to_show_error_pages_instead_of_dropping_them(
    client: Client, db: None
) -> None:
    page = html_of(client.get("/clinic/sign-in/"))
    assert '<body hx-boost="true" class="clinic">' in page
    assert "/static/js/offline.js" not in page
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page)
    assert meta is not None
    config = json.loads(html.unescape(meta.group(1)))

    for shown in (200, 400, 404, 410, 422):
        rule = _htmx_rule_for(config, shown)
        assert rule["swap"] is True, shown
        assert not rule.get("error"), shown
    assert _htmx_rule_for(config, 500)["swap"] is False


# Queries ---------------------------------------------------------------------------------------


def test_the_check_in_page_costs_a_fixed_number_of_queries(
    patient_client: Client,
    treatment: Treatment,
    django_assert_max_num_queries: AssertMaxQueries,
) -> None:
    patient_client.get("/check-in/")  # warm up the session
    # Session, user with patient and clinic, treatments with product and latest check-in.
    with django_assert_max_num_queries(3):
        assert patient_client.get("/check-in/").status_code == 200
    factories.create_check_in(treatment=treatment, local_date=TODAY)
    # ... and the audit row for reading today's saved answers (the latest check-in).
    with django_assert_max_num_queries(4):
        assert patient_client.get("/check-in/").status_code == 200


def test_sending_a_check_in_costs_a_fixed_number_of_queries(
    patient_client: Client,
    treatment: Treatment,
    django_assert_max_num_queries: AssertMaxQueries,
) -> None:
    for n in range(4):
        factories.create_check_in(treatment=treatment, local_date=day(n))
    # The write itself, plus keeping the treatment's latest check-in, alert and triage place,
    # and the clinic's triage counts (this one moves the treatment from on track to watch:
    # its treatments and its long-term watches are counted again).
    # The treatment is locked alone, then read; the day's row, the latest check-in and the
    # open alert are read after that lock (recovery/locks.py), never from a copy before it.
    with django_assert_max_num_queries(19):
        assert send(patient_client, form_data(swelling=1)).status_code == 302


def test_the_home_page_costs_a_fixed_number_of_queries(
    patient_client: Client,
    treatment: Treatment,
    django_assert_max_num_queries: AssertMaxQueries,
) -> None:
    factories.create_check_in(treatment=treatment, local_date=YESTERDAY, swelling=3)
    factories.create_check_in(treatment=treatment, local_date=TODAY, swelling=3)
    patient_client.get("/")
    # Session, user with patient and clinic, treatments with product and latest check-in
    # (today's), whether yesterday's is there, the audit row.
    with django_assert_max_num_queries(5):
        assert patient_client.get("/").status_code == 200


def _recovery_page_queries(client: Client) -> int:
    client.get("/my-recovery/")  # warm up the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/my-recovery/")
    assert response.status_code == 200
    return len(queries)


def test_the_recovery_page_costs_the_same_for_1_or_25_check_ins(
    patient_client: Client, treatment: Treatment
) -> None:
    factories.create_check_in(treatment=treatment, local_date=day(0), swelling=2)
    one = _recovery_page_queries(patient_client)
    for n in range(1, 25):
        factories.create_check_in(treatment=treatment, local_date=day(n), swelling=n % 4)

    with at_local(day(25)):
        many = _recovery_page_queries(patient_client)

    assert CheckIn.objects.count() == 25
    assert many == one
    # Session, user, patient and clinic, treatment and product, check-ins, the audit row.
    assert one <= 6


def test_yesterdays_check_in_asks_about_yesterday(patient_client: Client) -> None:
    """Issue 11: it asked "How are these today?"."""
    said = text_of(patient_client.get("/check-in/", {"date": YESTERDAY.isoformat()}))
    assert "How were these yesterday?" in said and "How are these today?" not in said
