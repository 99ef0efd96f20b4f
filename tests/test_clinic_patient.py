"""One patient's page on the clinic's side, and a check-in the clinic takes by phone."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.http.response import HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from recovery import checkins, course
from recovery.models import (
    Alert,
    AuditEvent,
    CheckIn,
    CheckInRevision,
    Clinic,
    Patient,
    Screening,
    Treatment,
    Triage,
    User,
)
from recovery.templatetags.clinic_times import zoned
from recovery.timeline import day_text, time_text
from tests import factories
from tests.helpers import TREATED_ON, AssertMaxQueries, at_local, day, html_of, text_of

SYMPTOMS = ("swelling", "redness", "bruising", "lumps", "pain", "itching")
RED_FLAGS = ("skin_color", "severe_pain", "vision", "stroke", "infection", "allergy")
TODAY = TREATED_ON + dt.timedelta(days=5)  # Wednesday 25 November 2026, day 5


def section(response: HttpResponseBase, heading: str) -> str:
    """The words of the page from `heading` up to the next heading of the same or higher rank."""
    said = text_of(response)
    start = said.index(heading)
    return said[start:]


def check_in_on(
    treatment: Treatment,
    n: int,
    *,
    hour: int = 12,
    minute: int = 0,
    flags: Iterable[str] = (),
    note: str = "",
    by: User | None = None,
    **ratings: int | None,
) -> CheckIn:
    """A check-in sent on day `n` itself, at `hour` in New York, through the real write path."""
    local_date = day(n)
    with at_local(local_date, hour, minute):
        return checkins.record_check_in(
            treatment=treatment,
            local_date=local_date,
            answers=course.Answers(
                ratings={s: ratings.get(s, 0) for s in SYMPTOMS}, red_flags=frozenset(flags)
            ),
            note=note,
            entered_by=by or treatment.patient.user,
            today=local_date,
            at=timezone.now(),
        ).check_in


def form_data(
    local_date: dt.date = TODAY,
    *,
    flags: Iterable[str] = (),
    note: str = "",
    key: uuid.UUID | None = None,
    version: int = 0,
    **ratings: int | str | None,
) -> dict[str, str]:
    """What the check-in form sends: every symptom rated 0 unless given (None leaves it out),
    filled in against `version` of the day's check-in (0: the day had none)."""
    data = {"date": local_date.isoformat(), "note": note, "version": str(version)}
    if key is not None:
        data["idempotency_key"] = str(key)
    for symptom in SYMPTOMS:
        value = ratings.get(symptom, 0)
        if value is not None:
            data[symptom] = str(value)
    chosen = set(flags)
    for flag in RED_FLAGS:
        data[flag] = "yes" if flag in chosen else "no"
    return data


@pytest.fixture(autouse=True)
def _on_day_5() -> Iterator[None]:
    with at_local(TODAY, 10):
        yield


@pytest.fixture
def clinic(db: None) -> Clinic:
    return factories.create_clinic(alert_email="alerts@riverside.example")


def page_path(patient: Patient) -> str:
    return f"/clinic/patients/{patient.public_id}/"


def check_in_path(patient: Patient) -> str:
    return f"/clinic/patients/{patient.public_id}/check-in/"


# The patient's page -----------------------------------------------------------------------


def test_the_page_shows_the_contact_details(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    patient.mobile = "+1 (555) 010-7777"
    patient.save(update_fields=["mobile"])

    response = clinician_client.get(page_path(patient))

    assert response.status_code == 200
    said = text_of(response)
    contact = section(response, "Contact details")
    assert "Ana Patient" in said
    assert "Email ana@example.com" in contact
    assert "Mobile +1 (555) 010-7777" in contact
    assert 'href="tel:+15550107777"' in html_of(response)
    # Born 2 April 1985: 41 on 25 November 2026.
    assert "Date of birth 2 April 1985 (age 41)" in contact
    assert "Time zone America/New_York" in contact
    assert "Language English" in contact
    assert "<title>Ana Patient · Aftercare</title>" in html_of(response)


def test_the_page_lists_the_treatments_newest_first_with_their_screening(
    clinician_client: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    Screening.objects.create(
        treatment=treatment,
        skin_test_on=TREATED_ON - dt.timedelta(days=30),
        skin_test_result=Screening.SkinTest.EQUIVOCAL,
        keloid_tendency=True,
        warnings=["The skin test was equivocal.", "The patient tends to form keloid scars."],
        went_ahead_by=clinician,
    )
    with at_local(TODAY, 9):
        later = factories.create_treatment(patient=patient, treated_on=TODAY)
    later.areas, later.notes, later.lot_number = "Left cheek", "Touch-up of two scars", "LOT-7"
    later.save(update_fields=["areas", "notes", "lot_number"])

    response = clinician_client.get(page_path(patient))

    treatments = section(response, "Treatments")
    assert treatments.index("Bellafill, 25 Nov 2026 (current)") < treatments.index(
        "Bellafill, 20 Nov 2026"
    )
    assert "Session 2 Areas Left cheek Injection sites 12 Lot number LOT-7" in treatments
    assert "Notes Touch-up of two scars" in treatments
    assert "Session 1 Areas Both cheeks Injection sites 12 Lot number LOT-1" in treatments
    assert "Skin test Equivocal, read 21 Oct 2026" in treatments
    assert "Contraindications Tendency to keloid or hypertrophic scarring" in treatments
    assert "The skin test was equivocal." in treatments
    assert "The patient tends to form keloid scars." in treatments
    # Only the treatment with a screening shows one.
    assert treatments.count("Skin test") == 1


def test_the_page_charts_each_symptom_against_the_expected_course(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 1, swelling=2, bruising=1)
    check_in_on(treatment, 2, swelling=1)
    check_in_on(treatment, 4, swelling=1)

    response = clinician_client.get(page_path(patient))

    page = html_of(response)
    assert page.count('<figure class="chart">') == 6
    assert page.count('class="expected"') == 6
    for label in ("Swelling", "Redness", "Bruising", "Lumps or bumps", "Pain or tenderness"):
        assert f">{label}</figcaption>" in page
    swelling = re.search(r"chart-swelling-title.*?</figure>", page, flags=re.DOTALL)
    assert swelling is not None
    assert re.findall(r'class="point[^>]*><title>(Day \d+: \w+)</title>', swelling.group(0)) == [
        "Day 1: Moderate",
        "Day 2: Mild",
        "Day 4: Mild",
    ]
    # Days gone by without a check-in are marked missed (today, day 5, not yet).
    assert re.findall(r'class="missed"[^>]*><title>(Day \d+): missed', swelling.group(0)) == [
        "Day 0",
        "Day 3",
    ]
    # Days 1 and 2 are joined by a line; the missed day 3 breaks it.
    assert swelling.group(0).count("<polyline") == 1


def test_the_check_in_history_shows_each_day_in_words(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 1, swelling=2, bruising=1, note="A bit tender")
    check_in_on(treatment, 4, swelling=3, flags=["infection"], note="Feels hot")

    response = clinician_client.get(page_path(patient))

    history = section(response, "Check-ins Day Date")
    assert (
        "1 Sat 21 Nov Moderate None Mild None None None None On track A bit tender Patient"
    ) in history
    assert (
        "4 Tue 24 Nov Severe None None None None None "
        "Fever, pus, hot spreading redness or a growing lump (infection?) Urgent"
    ) in history
    assert "Urgent Warning sign: Fever, pus" in history
    assert "Feels hot Patient 24 Nov, 12:00 EST" in history
    assert "Entered by clinic" not in history


def test_red_flags_and_notes_are_listed_by_day(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 1, note="A bit tender")
    check_in_on(treatment, 3, flags=["vision"])
    check_in_on(treatment, 4, flags=["allergy"], note="Lips swollen")
    check_in_on(treatment, 4, hour=18, note="Better now")

    response = clinician_client.get(page_path(patient))

    said = text_of(response)
    flags = said[said.index("Warning signs by day") : said.index("Notes by day")]
    assert "Day 3, Mon 23 Nov: Eyesight or eye change (blocked blood vessel: emergency)" in flags
    assert (
        "Day 4, Tue 24 Nov: Answered yes earlier that day, then no: Hives, swollen lips, "
        "tongue or throat, or trouble breathing (allergic reaction)"
    ) in flags
    notes = said[said.index("Notes by day") : said.index("Alert history")]
    assert "Day 1, Sat 21 Nov: A bit tender" in notes
    assert "Day 4, Tue 24 Nov: Better now" in notes
    assert "Day 3" not in notes


def test_each_edit_of_a_check_in_shows_what_changed_and_when(
    clinician_client: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    check_in_on(treatment, 4, swelling=1)
    check_in_on(treatment, 5, hour=8, swelling=1)
    check_in_on(treatment, 5, hour=9, minute=30, swelling=2, note="Worse after lunch")
    check_in_on(treatment, 5, hour=9, minute=45, swelling=2, flags=["severe_pain"], by=clinician)

    response = clinician_client.get(page_path(patient))

    history = section(response, "Check-ins Day Date")
    assert "Changed 2 times on day 5" in history
    first = history.index("25 Nov, 09:30 EST, by the patient; the version it replaced was sent")
    second = history.index("25 Nov, 09:45 EST, by the clinic (nurse@riverside.example)")
    assert first < second
    first_changes = history[first:second]
    assert "Swelling: Mild → Moderate" in first_changes
    assert "Note added" in first_changes
    assert "Status: On track → Contact clinic" in first_changes
    second_changes = history[second:]
    assert "Warning sign added: Severe or worsening pain" in second_changes
    assert "Status: Contact clinic → Urgent" in second_changes
    assert "Entered by clinic (nurse@riverside.example)" in history


def test_the_open_alert_comes_first_with_its_actions(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 4, hour=11, swelling=3)

    response = clinician_client.get(page_path(patient))

    said, page = text_of(response), html_of(response)
    alert = Alert.objects.get()
    assert said.index("Open alert") < said.index("Contact details")
    panel = said[said.index("Open alert") : said.index("Contact details")]
    assert "Contact clinic Reach Ana Patient:" in panel
    assert "Swelling severe" in panel
    assert "Opened Tue 24 Nov, 11:00 EST (check-in of day 4)" in panel
    assert "Acknowledged Not yet" in panel
    assert f'action="/clinic/alerts/{alert.public_id}/acknowledge/"' in page
    assert f'action="/clinic/alerts/{alert.public_id}/resolve/"' in page
    for outcome in ("advised_at_home", "seen_in_clinic", "referred", "could_not_reach"):
        assert f'name="outcome" value="{outcome}"' in page
    assert "Bellafill, day 5 of 30 · Contact clinic" in said


def test_no_alert_no_panel(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 4, swelling=1)

    response = clinician_client.get(page_path(patient))

    assert "Open alert" not in text_of(response)
    assert "Alert history No alerts." in text_of(response)


def test_the_alert_history_shows_outcomes(
    clinician_client: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    check_in_on(treatment, 2, swelling=3)
    alert = Alert.objects.get()
    with at_local(day(2), 13):
        response = clinician_client.post(
            f"/clinic/alerts/{alert.public_id}/acknowledge/", {"version": "1"}
        )
        assert response.status_code == 302
    with at_local(day(2), 13, 20):
        response = clinician_client.post(
            f"/clinic/alerts/{alert.public_id}/resolve/",
            {
                "outcome": "advised_at_home",
                "note": "Cold compress; call back tomorrow.",
                "version": "2",
            },
        )
        assert response.status_code == 302

    response = clinician_client.get(page_path(patient))

    history = section(response, "Alert history")
    assert (
        "Contact clinic Swelling severe Opened 22 Nov, 12:00 EST "
        "nurse@riverside.example, 22 Nov, 13:00 EST "
        "nurse@riverside.example, 22 Nov, 13:20 EST "
        "Advised at home Cold compress; call back tomorrow."
    ) in history
    assert "Open alert" not in text_of(response)


def test_viewing_the_page_is_audited_once(
    clinician_client: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    check_in_on(treatment, 4, swelling=1)
    before = AuditEvent.objects.count()

    clinician_client.get(page_path(patient), REMOTE_ADDR="203.0.113.9")

    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("at", "pk")
    assert (event.action, event.object_id, event.actor, event.patient, event.ip_address) == (
        "patient.viewed",
        str(patient.public_id),
        clinician,
        patient,
        "203.0.113.9",
    )


def test_a_patient_without_a_treatment_yet(clinician_client: Client, patient: Patient) -> None:
    response = clinician_client.get(page_path(patient))

    assert response.status_code == 200
    said = text_of(response)
    assert "No treatment recorded yet." in said
    assert "No treatments recorded." in said
    assert "Record a check-in from a call" not in said


def test_the_page_costs_the_same_queries_however_long_the_history(
    clinician_client: Client,
    patient: Patient,
    treatment: Treatment,
    clinician: User,
    django_assert_max_num_queries: AssertMaxQueries,
) -> None:
    def fill(days: range) -> None:
        for n in days:
            # Each day by the patient, then changed by the clinic: one revision a day.
            check_in_on(treatment, n, hour=9, swelling=1, note=f"day {n}")
            check_in_on(treatment, n, hour=10, swelling=1, by=clinician, note=f"day {n} again")

    def queries_on(n: int, check_ins: int) -> int:
        with at_local(day(n), 14), CaptureQueriesContext(connection) as queries:
            response = clinician_client.get(page_path(patient))
        assert response.status_code == 200
        assert text_of(response).count("Changed 1 time") == check_ins
        return len(queries)

    fill(range(3))
    check_in_on(treatment, 2, hour=11, swelling=3)  # an open alert, acknowledged
    Alert.objects.update(acknowledged_by=clinician, acknowledged_at=timezone.now())
    with at_local(day(2), 14), django_assert_max_num_queries(14):
        clinician_client.get(page_path(patient))
    with_3 = queries_on(2, 2)

    fill(range(3, 30))
    with_30 = queries_on(29, 29)

    assert with_3 == with_30


# Who may see it ----------------------------------------------------------------------------


def test_another_clinics_patient_is_not_found(
    client: Client, other_clinician: User, patient: Patient, treatment: Treatment
) -> None:
    client.force_login(other_clinician)

    assert client.get(page_path(patient)).status_code == 404
    assert client.get(check_in_path(patient)).status_code == 404
    assert client.post(check_in_path(patient), form_data()).status_code == 404
    assert not CheckIn.objects.exists()
    assert not AuditEvent.objects.filter(actor=other_clinician).exists()


def test_a_patient_cannot_open_the_clinic_pages(
    patient_client: Client, patient: Patient, second_patient: Patient
) -> None:
    for someone in (patient, second_patient):
        assert patient_client.get(page_path(someone)).status_code == 404
        assert patient_client.get(check_in_path(someone)).status_code == 404
        assert patient_client.post(check_in_path(someone), form_data()).status_code == 404
    assert not CheckIn.objects.exists()


def test_an_unknown_patient_is_not_found(clinician_client: Client) -> None:
    assert clinician_client.get(f"/clinic/patients/{uuid.uuid4()}/").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client: Client, patient: Patient) -> None:
    response = client.get(page_path(patient))

    assert response.status_code == 302
    assert "sign-in" in response["Location"]


def test_the_page_is_get_only(clinician_client: Client, patient: Patient) -> None:
    assert clinician_client.post(page_path(patient)).status_code == 405


# A check-in taken by phone -----------------------------------------------------------------


def test_the_check_in_form_asks_the_same_questions(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    response = clinician_client.get(check_in_path(patient))

    assert response.status_code == 200
    page, said = html_of(response), text_of(response)
    assert "Check-in by phone for Ana Patient: today, day 5" in said
    assert 'name="date" value="2026-11-25"' in page
    assert re.search(r'name="idempotency_key" value="[0-9a-f-]{36}"', page)
    for symptom in SYMPTOMS:
        assert re.findall(rf'name="{symptom}" value="(\d)"', page) == list("0123")
    for flag in RED_FLAGS:
        assert f'name="{flag}" value="yes"' in page
        assert f'name="{flag}" value="no"' in page
    assert "Is the pain severe, or getting worse instead of better?" in said
    # Yesterday (day 4) was missed, so it can be filled in instead.
    assert f'href="{check_in_path(patient)}?date=2026-11-24"' in page


def test_a_check_in_by_phone_is_saved_as_entered_by_the_clinician(
    clinician_client: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    response = clinician_client.post(
        check_in_path(patient),
        form_data(swelling=1, note="Called her: swelling going down"),
        REMOTE_ADDR="203.0.113.9",
    )

    assert response.status_code == 302
    assert response["Location"] == page_path(patient)
    saved = CheckIn.objects.get()
    assert (saved.local_date, saved.day, saved.swelling, saved.status) == (TODAY, 5, 1, "on_track")
    assert saved.entered_by == clinician
    assert saved.note == "Called her: swelling going down"
    event = AuditEvent.objects.get(action="check_in.created")
    assert (event.actor, event.patient, event.object_id, event.ip_address) == (
        clinician,
        patient,
        str(saved.public_id),
        "203.0.113.9",
    )
    treatment.refresh_from_db()
    assert treatment.latest_check_in == saved

    page = clinician_client.get(page_path(patient))
    assert "The check-in for Wednesday 25 November is saved." in text_of(page)
    assert "Entered by clinic (nurse@riverside.example)" in section(page, "Check-ins Day Date")
    assert "Day 5, Wed 25 Nov (entered by clinic): Called her" in text_of(page)


def test_a_check_in_by_phone_can_fill_in_a_missed_yesterday(
    clinician_client: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    response = clinician_client.get(check_in_path(patient) + "?date=2026-11-24")
    assert response.status_code == 200
    assert "yesterday, day 4" in text_of(response)

    response = clinician_client.post(check_in_path(patient), form_data(day(4), redness=1))

    assert response.status_code == 302
    assert CheckIn.objects.get().local_date == day(4)


def test_a_check_in_by_phone_that_needs_the_clinic_opens_an_alert(
    clinician_client: Client,
    patient: Patient,
    treatment: Treatment,
    clinician: User,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[object]],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = clinician_client.post(check_in_path(patient), form_data(flags=["vision"]))

    assert response.status_code == 302
    alert = Alert.objects.get()
    assert (alert.level, alert.reasons) == ("urgent", ["red_flag:vision"])
    assert alert.check_in == CheckIn.objects.get()
    treatment.refresh_from_db()
    assert treatment.open_alert == alert
    assert [m.to for m in mail.outbox] == [["alerts@riverside.example"]]


def test_a_check_in_by_phone_replaces_todays_and_keeps_the_patients_version(
    clinician_client: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    check_in_on(treatment, 5, hour=8, swelling=1, note="From the app")

    response = clinician_client.get(check_in_path(patient))
    assert response.status_code == 200
    assert re.search(r'name="swelling" value="1"\s+checked', html_of(response))
    assert "From the app" in html_of(response)
    assert AuditEvent.objects.filter(action="check_in.viewed", actor=clinician).count() == 1

    response = clinician_client.post(
        check_in_path(patient), form_data(swelling=2, note="By phone", version=1)
    )

    assert response.status_code == 302
    saved = CheckIn.objects.get()
    assert (saved.swelling, saved.entered_by, saved.note) == (2, clinician, "By phone")
    revision = CheckInRevision.objects.get()
    assert (revision.answers["swelling"], revision.entered_by) == (1, patient.user)
    assert AuditEvent.objects.get(action="check_in.replaced").actor == clinician


def test_a_replayed_submission_saves_once(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    key = uuid.uuid4()
    for _ in range(2):
        response = clinician_client.post(check_in_path(patient), form_data(swelling=1, key=key))
        assert response.status_code == 302

    assert CheckIn.objects.count() == 1
    assert not CheckInRevision.objects.exists()
    assert AuditEvent.objects.filter(action="check_in.created").count() == 1


@pytest.mark.parametrize(
    ("local_date", "message"),
    [
        (day(3), "can no longer be filled in"),
        (day(6), "a day that hasn't come yet"),
        (day(-1), "Your diary starts on the day of your treatment"),
    ],
)
def test_a_check_in_by_phone_for_another_day_is_refused(
    clinician_client: Client,
    patient: Patient,
    treatment: Treatment,
    local_date: dt.date,
    message: str,
) -> None:
    response = clinician_client.post(check_in_path(patient), form_data(local_date, swelling=1))

    assert response.status_code == 400
    assert message in text_of(response)
    assert not CheckIn.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="check_in.").exists()

    response = clinician_client.get(check_in_path(patient) + f"?date={local_date.isoformat()}")
    assert response.status_code == 400
    assert message in text_of(response)


def test_yesterday_already_saved_is_refused(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 4, swelling=1)

    response = clinician_client.post(check_in_path(patient), form_data(day(4), swelling=2))

    assert response.status_code == 400
    assert "Yesterday's check-in is already saved" in text_of(response)
    assert CheckIn.objects.get().swelling == 1
    assert not CheckInRevision.objects.exists()


def test_a_date_that_is_not_a_date_is_refused(clinician_client: Client, patient: Patient) -> None:
    factories.create_treatment(patient=patient, treated_on=TREATED_ON)

    response = clinician_client.get(check_in_path(patient) + "?date=yesterday")

    assert response.status_code == 400
    assert "That is not a date." in text_of(response)


def test_no_check_in_before_a_treatment_is_recorded(
    clinician_client: Client, patient: Patient
) -> None:
    assert clinician_client.get(check_in_path(patient)).status_code == 400
    response = clinician_client.post(check_in_path(patient), form_data())
    assert response.status_code == 400
    assert "No treatment is recorded for this patient yet." in text_of(response)
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize(
    "bad",
    [
        {"swelling": "4"},
        {"swelling": "-1"},
        {"swelling": "lots"},
        {"swelling": None},
        {"vision": "maybe"},
        {"date": "2026-13-01"},
        {"note": "x" * 2001},
    ],
    ids=[
        "rating 4",
        "rating -1",
        "rating not a number",
        "rating missing",
        "yes/no",
        "date",
        "note",
    ],
)
def test_bad_answers_are_shown_again_and_nothing_is_saved(
    clinician_client: Client, patient: Patient, treatment: Treatment, bad: dict[str, str | None]
) -> None:
    data = form_data()
    for name, value in bad.items():
        if value is None:
            data.pop(name)
        else:
            data[name] = value

    response = clinician_client.post(check_in_path(patient), data)

    assert response.status_code == 422
    assert "Please check the answers" in text_of(response)
    assert not CheckIn.objects.exists()
    assert not Alert.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="check_in.").exists()


def test_the_check_in_page_needs_csrf(
    patient: Patient, treatment: Treatment, clinician: User
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(clinician)

    assert client.post(check_in_path(patient), form_data()).status_code == 403
    assert not CheckIn.objects.exists()


def test_the_page_shows_a_missed_check_in_before_the_sweep_has_run(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 1, swelling=1)

    with at_local(day(5), 9):  # nothing on days 2 to 4; the stored place is still "on track"
        response = clinician_client.get(page_path(patient))

    treatment.refresh_from_db()
    assert treatment.triage == Triage.ON_TRACK
    assert "Bellafill, day 5 of 30 · Missed check-in" in text_of(response)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Lisbon", "Asia/Kolkata", "UTC"])
def test_the_timeline_writes_dates_and_times_as_the_template_filters_do(zone: str) -> None:
    """Every day of a year, and every quarter hour around the daylight-saving changes of
    the United States and of Europe."""
    tz = ZoneInfo(zone)
    for n in range(366):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=n)
        assert day_text(day) == date_format(day, "D j M")
    changes = [
        dt.date(2026, 3, 8),
        dt.date(2026, 3, 29),
        dt.date(2026, 10, 25),
        dt.date(2026, 11, 1),
    ]
    for change in changes:
        start = dt.datetime.combine(change, dt.time(), tzinfo=dt.UTC) - dt.timedelta(hours=12)
        for quarter in range(48 * 4):
            at = start + dt.timedelta(minutes=15 * quarter)
            with timezone.override(tz):
                assert time_text(at, tz) == zoned(at, "j M, H:i")
                django_says = date_format(timezone.localtime(at), "j M, H:i T")
            if not django_says.endswith(" "):  # where Django names the zone, the same name
                assert time_text(at, tz) == django_says


def test_a_time_in_the_hour_that_comes_twice_says_which(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    """New York's clocks went back at 2:00 on 1 November 2026: 1:30 came first in EDT,
    then again an hour later in EST. The date filter's "T" names neither."""
    check_in_on(treatment, 4, hour=11, swelling=3)
    Alert.objects.update(opened_at=dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC))

    said = text_of(clinician_client.get(page_path(patient)))

    assert "Opened Sun 1 Nov, 01:30 EST" in said
    assert "Opened 1 Nov, 01:30 EST" in said  # the alert history
    Alert.objects.update(opened_at=dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC))
    assert "Opened Sun 1 Nov, 01:30 EDT" in text_of(clinician_client.get(page_path(patient)))


def test_an_alert_panel_says_first_how_to_reach_the_patient_and_what_they_wrote(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    """Issue 11: the mobile number and the patient's note were far down the timeline."""
    patient.mobile = "+1 (555) 010-7777"
    patient.save(update_fields=["mobile"])
    with at_local(day(4), 11):
        checkins.record_check_in(
            treatment=treatment,
            local_date=day(4),
            answers=course.Answers(
                ratings=dict.fromkeys(course.SYMPTOMS, 0), red_flags=frozenset({"vision"})
            ),
            note="My left eye went blurry after lunch",
            entered_by=patient.user,
            today=day(4),
            at=timezone.now(),
        )
    response = clinician_client.get(page_path(patient))
    page = html_of(response)
    panel = page[page.index('class="alert-panel') : page.index("</article>")]
    assert 'href="tel:+15550107777"' in panel
    assert panel.index("tel:+15550107777") < panel.index("Warning sign:")
    assert 'href="mailto:ana@example.com"' in panel
    assert "The patient wrote:</strong> My left eye went blurry after lunch" in panel
