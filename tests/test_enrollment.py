"""Enrollment at the treatment visit: the checklist's warnings, the QR code, a returning patient."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import segno
import time_machine
from django.core import mail
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from recovery import course, enrollment, login_links
from recovery.enrollment import ScreeningFacts, screening_warnings
from recovery.models import (
    AuditEvent,
    Clinic,
    LoginLink,
    Patient,
    Product,
    Screening,
    Treatment,
    User,
)
from tests import factories
from tests.helpers import text_of

UTC = dt.UTC
# 10:00 in New York, where the clinic is: its date is 25 November.
NOW = dt.datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
TODAY = dt.date(2026, 11, 25)
SITE_URL = "http://127.0.0.1:8000"
ENROLL = "/clinic/patients/new/"


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _site_url(settings: Any) -> None:
    settings.SITE_URL = SITE_URL


def enrollment_data(**changes: str) -> dict[str, str]:
    """A complete enrollment that raises no warning: 41 years old, skin test 36 days before."""
    data = {
        "name": "Carla Díaz",
        "email": "carla@example.com",
        "mobile": "+1 312 555 0142",
        "date_of_birth": "1985-04-02",
        "time_zone": "America/Chicago",
        "language": "es",
        "product": "bellafill",
        "treated_on": "2026-11-25",
        "session_number": "1",
        "areas": "Both cheeks",
        "injection_sites": "12",
        "lot_number": "LOT-77",
        "skin_test_result": "negative",
        "skin_test_on": "2026-10-20",
        "lidocaine_allergy": "no",
        "bovine_collagen_allergy": "no",
        "anaphylaxis_history": "no",
        "multiple_severe_allergies": "no",
        "keloid_tendency": "no",
    }
    data.update(changes)
    return data


def treatment_data(**changes: str) -> dict[str, str]:
    """The treatment and checklist parts only, for a returning patient."""
    patient_fields = ("name", "email", "mobile", "date_of_birth", "time_zone", "language")
    data = {k: v for k, v in enrollment_data().items() if k not in patient_fields}
    data.update(changes)
    return data


def login_url_in(response: Any) -> str:
    """The sign-in link the page shows as text (for staff to read out)."""
    match = re.search(r"<code>(http[^<]+)</code>", response.content.decode())
    assert match, "the page shows the sign-in link as text"
    return html.unescape(match.group(1))


def token_of(url: str) -> str:
    """A sign-in link's token: its fragment (/l/#<token>), which browsers never send."""
    parts = urlsplit(url)
    assert (parts.path, parts.query) == ("/l/", "")
    assert parts.fragment
    return parts.fragment


def qr_path_in(response: Any) -> str:
    """The QR code's drawing: the path of its dark modules."""
    match = re.search(
        r'<svg role="img"[^>]*class="qr-code".*?</svg>', response.content.decode(), re.S
    )
    assert match, "the page shows a QR code"
    paths: list[str] = re.findall(r' d="([^"]+)"', match.group(0))
    return paths[-1]


def qr_path_of(url: str) -> str:
    """What the QR code of `url` draws (segno's encoding is deterministic)."""
    svg = segno.make(url, error="m").svg_inline(omitsize=True)
    paths: list[str] = re.findall(r' d="([^"]+)"', svg)
    return paths[-1]


def audit_actions(patient: Patient) -> list[str]:
    return list(
        AuditEvent.objects.filter(patient=patient)
        .order_by("at", "pk")
        .values_list("action", flat=True)
    )


def nothing_saved() -> None:
    assert not Patient.objects.exists()
    assert not Treatment.objects.exists()
    assert not Screening.objects.exists()
    assert not LoginLink.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not User.objects.filter(username__startswith="patient-").exists()


# The checklist's rules, one row per case ----------------------------------------------------

CLEAR = ScreeningFacts(skin_test_on=dt.date(2026, 10, 20), skin_test_result="negative")
BORN = dt.date(1985, 4, 2)


@pytest.mark.parametrize(
    ("case", "date_of_birth", "treated_on", "product", "facts", "codes"),
    [
        ("nothing to warn about", BORN, TODAY, "bellafill", CLEAR, []),
        ("22 on the treatment day exactly", dt.date(2004, 11, 25), TODAY, "bellafill", CLEAR, []),
        (
            "21, the day before turning 22",
            dt.date(2004, 11, 26),
            TODAY,
            "bellafill",
            CLEAR,
            ["under_22"],
        ),
        (
            "born on 29 February, 22 on 1 March",
            dt.date(2004, 2, 29),
            dt.date(2026, 3, 1),
            "dermal-filler",
            CLEAR,
            [],
        ),
        (
            "born on 29 February, still 21 on 28 February",
            dt.date(2004, 2, 29),
            dt.date(2026, 2, 28),
            "dermal-filler",
            CLEAR,
            ["under_22"],
        ),
        (
            "negative skin test read 28 days before",
            BORN,
            TODAY,
            "bellafill",
            dataclasses.replace(CLEAR, skin_test_on=TODAY - dt.timedelta(days=28)),
            [],
        ),
        (
            "negative skin test read 27 days before",
            BORN,
            TODAY,
            "bellafill",
            dataclasses.replace(CLEAR, skin_test_on=TODAY - dt.timedelta(days=27)),
            ["skin_test_too_recent"],
        ),
        (
            "negative skin test read after the treatment",
            BORN,
            TODAY,
            "bellafill",
            dataclasses.replace(CLEAR, skin_test_on=TODAY + dt.timedelta(days=1)),
            ["skin_test_too_recent"],
        ),
        (
            "no skin test done",
            BORN,
            TODAY,
            "bellafill",
            ScreeningFacts(),
            ["skin_test_missing"],
        ),
        (
            "negative skin test with no date",
            BORN,
            TODAY,
            "bellafill",
            dataclasses.replace(CLEAR, skin_test_on=None),
            ["skin_test_missing"],
        ),
        (
            "positive skin test",
            BORN,
            TODAY,
            "bellafill",
            dataclasses.replace(CLEAR, skin_test_result="positive"),
            ["skin_test_positive"],
        ),
        (
            "equivocal skin test",
            BORN,
            TODAY,
            "bellafill",
            dataclasses.replace(CLEAR, skin_test_result="equivocal"),
            ["skin_test_equivocal"],
        ),
        (
            "another product needs no skin test",
            BORN,
            TODAY,
            "dermal-filler",
            ScreeningFacts(),
            [],
        ),
        (
            "another product, a recent skin test",
            BORN,
            TODAY,
            "dermal-filler",
            dataclasses.replace(CLEAR, skin_test_on=TODAY),
            [],
        ),
        (
            "another product, a positive skin test is still a contraindication",
            BORN,
            TODAY,
            "dermal-filler",
            dataclasses.replace(CLEAR, skin_test_result="positive"),
            ["skin_test_positive"],
        ),
        *[
            (
                field.replace("_", " "),
                BORN,
                TODAY,
                "bellafill",
                dataclasses.replace(CLEAR, **{field: True}),  # type: ignore[arg-type]
                [field],
            )
            for field in course.CONTRAINDICATIONS
        ],
        (
            "everything at once, in a stable order",
            dt.date(2010, 1, 1),
            TODAY,
            "bellafill",
            ScreeningFacts(
                skin_test_result="equivocal",
                skin_test_on=TODAY,
                lidocaine_allergy=True,
                bovine_collagen_allergy=True,
                anaphylaxis_history=True,
                multiple_severe_allergies=True,
                keloid_tendency=True,
            ),
            [
                "under_22",
                "skin_test_equivocal",
                "lidocaine_allergy",
                "bovine_collagen_allergy",
                "anaphylaxis_history",
                "multiple_severe_allergies",
                "keloid_tendency",
            ],
        ),
    ],
)
def test_screening_warnings(
    case: str,
    date_of_birth: dt.date,
    treated_on: dt.date,
    product: str,
    facts: ScreeningFacts,
    codes: list[str],
) -> None:
    warnings = screening_warnings(
        date_of_birth=date_of_birth, treated_on=treated_on, product_code=product, facts=facts
    )

    assert [w.code for w in warnings] == codes, case
    assert all(w.text for w in warnings)


def test_warnings_are_in_plain_words() -> None:
    warnings = screening_warnings(
        date_of_birth=dt.date(2005, 1, 1),
        treated_on=TODAY,
        product_code="bellafill",
        facts=dataclasses.replace(CLEAR, skin_test_on=TODAY - dt.timedelta(days=27)),
    )

    assert [w.text for w in warnings] == [
        "The patient is 21 on the treatment date. Treatment is for adults over 21 (22 or older).",
        "The skin test was read 27 days before treatment. Bellafill needs it read negative "
        "at least 28 days (four weeks) before treatment.",
    ]


def twenty_second_birthday(born: dt.date) -> dt.date:
    if (born.month, born.day) == (2, 29):
        return dt.date(born.year + 22, 3, 1)
    return born.replace(year=born.year + 22)


@given(
    born=st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2020, 12, 31)),
    days_after=st.integers(min_value=0, max_value=40_000),
)
def test_the_age_warning_fires_exactly_before_the_22nd_birthday(
    born: dt.date, days_after: int
) -> None:
    treated_on = born + dt.timedelta(days=days_after)
    codes = [
        w.code
        for w in screening_warnings(
            date_of_birth=born, treated_on=treated_on, product_code="x", facts=ScreeningFacts()
        )
    ]

    assert ("under_22" in codes) == (treated_on < twenty_second_birthday(born))


# Enrolling ----------------------------------------------------------------------------------


def test_the_form_starts_with_the_clinics_time_zone_and_today(clinician_client: Client) -> None:
    response = clinician_client.get(ENROLL)

    assert response.status_code == 200
    page = response.content.decode()
    assert '<option value="America/New_York" selected>' in page
    assert 'name="treated_on" value="2026-11-25"' in page
    assert '<option value="bellafill" selected>' in page
    assert "no-store" in response["Cache-Control"]
    assert "Enroll a patient" in text_of(response)


def test_enrolling_with_no_warnings_shows_a_qr_code_of_a_fresh_single_use_link(
    clinician_client: Client, clinician: User, clinic: Clinic
) -> None:
    response = clinician_client.post(ENROLL, enrollment_data(), follow=True)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "Carla Díaz is enrolled" in text_of(response)
    patient = Patient.objects.get()
    assert (patient.name, patient.email, patient.mobile) == (
        "Carla Díaz",
        "carla@example.com",
        "+1 312 555 0142",
    )
    assert (patient.clinic, patient.time_zone, patient.language) == (
        clinic,
        "America/Chicago",
        "es",
    )
    assert patient.date_of_birth == dt.date(1985, 4, 2)
    assert not patient.user.has_usable_password()
    treatment = Treatment.objects.get()
    assert (treatment.patient, treatment.product.code, treatment.treated_on) == (
        patient,
        "bellafill",
        TODAY,
    )
    assert (treatment.areas, treatment.injection_sites, treatment.lot_number) == (
        "Both cheeks",
        12,
        "LOT-77",
    )
    assert treatment.session_number == 1
    screening = Screening.objects.get(treatment=treatment)
    assert screening.skin_test_result == "negative"
    assert screening.skin_test_on == dt.date(2026, 10, 20)
    assert screening.warnings == []
    assert screening.went_ahead_by is None
    assert screening.recorded_at == NOW

    # The QR code and the text show one and the same working link; only its hash is kept.
    url = login_url_in(response)
    assert url.startswith(f"{SITE_URL}/l/#")
    assert qr_path_in(response) == qr_path_of(url)
    link = LoginLink.objects.get(patient=patient)
    token = token_of(url)
    assert login_links.usable_link(token=token, at=NOW) == link
    assert link.token_hash == login_links.hash_token(token)
    assert token not in link.token_hash
    assert 'style="' not in response.content.decode()

    assert audit_actions(patient) == [
        "patient.enrolled",
        "treatment.added",
        "screening.recorded",
        "patient.login_link_issued",
        "patient.viewed",  # the page the enrollment's redirect leads to
    ]
    assert set(AuditEvent.objects.values_list("actor", "ip_address")) == {
        (clinician.pk, "127.0.0.1")
    }


def test_the_new_patients_link_signs_them_in_once(clinician_client: Client) -> None:
    url = login_url_in(clinician_client.post(ENROLL, enrollment_data(), follow=True))
    phone = Client()

    assert phone.get(urlsplit(url).path).status_code == 200
    assert phone.post("/l/", {"token": token_of(url)}).status_code == 302
    assert phone.get("/").status_code == 200

    again = Client()
    assert again.post("/l/", {"token": token_of(url)}).status_code == 410


def test_a_patient_with_only_a_mobile_is_enrolled_without_an_email_button(
    clinician_client: Client,
) -> None:
    response = clinician_client.post(
        ENROLL, enrollment_data(email="", mobile="+1 (555) 010-4321"), follow=True
    )

    assert response.status_code == 200
    assert Patient.objects.get().mobile == "+1 (555) 010-4321"
    assert "Email the link" not in text_of(response)
    assert "No email address on record" in text_of(response)


def test_the_result_page_offers_to_email_the_link(clinician_client: Client) -> None:
    response = clinician_client.post(ENROLL, enrollment_data(), follow=True)

    patient = Patient.objects.get()
    page = response.content.decode()
    assert f'action="/clinic/patients/{patient.public_id}/sign-in-link/"' in page
    assert 'name="action" value="email"' in page
    assert "Email the link to carla@example.com" in text_of(response)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"treated_on": "2026-11-26"}, "treated_on", "can't be in the future"),
        ({"email": "", "mobile": ""}, "mobile", "Enter the patient's mobile number"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"mobile": "call me"}, "mobile", "Enter a phone number"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Choose a time zone from the list."),
        ({"time_zone": "UTC"}, "time_zone", "Choose a time zone from the list."),
        ({"language": "xx"}, "language", "Select a valid choice."),
        ({"product": "botox"}, "product", "Choose one of the products listed."),
        ({"date_of_birth": "2027-01-01"}, "date_of_birth", "must be in the past"),
        ({"date_of_birth": "yesterday"}, "date_of_birth", "Enter a date."),
        ({"name": "   "}, "name", "This field is required."),
        ({"session_number": "0"}, "session_number", "greater than or equal to 1"),
        ({"injection_sites": "-3"}, "injection_sites", "greater than or equal to 1"),
        ({"skin_test_result": ""}, "skin_test_result", "Choose the skin test result"),
        ({"skin_test_on": ""}, "skin_test_on", "Enter the date the skin test was read."),
        (
            {"skin_test_on": "2026-11-25", "treated_on": "2026-11-24"},
            "skin_test_on",
            "on or before",
        ),
        ({"lidocaine_allergy": ""}, "lidocaine_allergy", "Please answer yes or no."),
        ({"keloid_tendency": "maybe"}, "keloid_tendency", "Please answer yes or no."),
    ],
)
def test_bad_answers_are_refused_with_nothing_saved(
    clinician_client: Client, changes: dict[str, str], field: str, message: str
) -> None:
    response = clinician_client.post(ENROLL, enrollment_data(**changes), follow=True)

    assert response.status_code == 422
    assert response.context["form"].errors[field]
    assert message in text_of(response)
    assert "Please check the form" in text_of(response)
    nothing_saved()


def test_the_treatment_date_follows_the_clinics_time_zone(clinician_client: Client) -> None:
    # 22:30 in New York on the 25th, already the 26th in UTC.
    with time_machine.travel(dt.datetime(2026, 11, 26, 3, 30, tzinfo=UTC), tick=False):
        tomorrow = clinician_client.post(
            ENROLL, enrollment_data(treated_on="2026-11-26"), follow=True
        )
        today = clinician_client.post(ENROLL, enrollment_data(treated_on="2026-11-25"), follow=True)

    assert tomorrow.status_code == 422
    assert today.status_code == 200


def test_a_skin_test_not_done_needs_no_date(clinician_client: Client) -> None:
    data = enrollment_data(product="dermal-filler", skin_test_result="not_done")

    response = clinician_client.post(ENROLL, data, follow=True)

    assert response.status_code == 200
    assert Screening.objects.get().skin_test_on is None


# Warnings and going ahead ------------------------------------------------------------------


def test_warnings_are_shown_and_nothing_is_saved_until_the_clinician_goes_ahead(
    clinician_client: Client,
) -> None:
    data = enrollment_data(date_of_birth="2005-01-10", lidocaine_allergy="yes")

    response = clinician_client.post(ENROLL, data, follow=True)

    assert response.status_code == 422
    text = text_of(response)
    assert "Check before going ahead" in text
    assert "The patient is 21 on the treatment date." in text
    assert "Lidocaine allergy or hypersensitivity recorded: a contraindication." in text
    assert "I have reviewed these warnings and we are going ahead" in text
    page = response.content.decode()
    assert '<input type="checkbox" name="go_ahead" id="id_go_ahead" value="on" required' in page
    assert '<input type="hidden" name="reviewed" value="under_22 lidocaine_allergy"' in page
    # The answers are kept on the form.
    assert 'value="Carla Díaz"' in page
    nothing_saved()


def test_submitting_again_without_ticking_the_box_is_refused(clinician_client: Client) -> None:
    data = enrollment_data(lidocaine_allergy="yes", reviewed="lidocaine_allergy")

    response = clinician_client.post(ENROLL, data, follow=True)

    assert response.status_code == 422
    assert "Tick the box to go ahead" in text_of(response)
    assert 'aria-invalid="true" aria-describedby="id_go_ahead_error"' in response.content.decode()
    nothing_saved()


def test_going_ahead_keeps_the_warnings_and_the_decision(
    clinician_client: Client, clinician: User
) -> None:
    data = enrollment_data(
        date_of_birth="2005-01-10",
        lidocaine_allergy="yes",
        reviewed="under_22 lidocaine_allergy",
        go_ahead="on",
    )

    response = clinician_client.post(ENROLL, data, follow=True)

    assert response.status_code == 200
    assert "Warnings you went ahead with" in text_of(response)
    screening = Screening.objects.get()
    assert screening.lidocaine_allergy is True
    assert screening.warnings == [
        {
            "code": "under_22",
            "text": "The patient is 21 on the treatment date. "
            "Treatment is for adults over 21 (22 or older).",
        },
        {
            "code": "lidocaine_allergy",
            "text": "Lidocaine allergy or hypersensitivity recorded: a contraindication.",
        },
    ]
    assert screening.went_ahead_by == clinician
    assert screening.recorded_at == NOW
    assert audit_actions(Patient.objects.get()) == [
        "patient.enrolled",
        "treatment.added",
        "screening.went_ahead_with_warnings",
        "patient.login_link_issued",
        "patient.viewed",  # the page the enrollment's redirect leads to
    ]


def test_a_ticked_box_does_not_cover_warnings_the_clinician_was_not_shown(
    clinician_client: Client,
) -> None:
    # Ticked for the lidocaine allergy, then the keloid answer changed to yes.
    data = enrollment_data(
        lidocaine_allergy="yes",
        keloid_tendency="yes",
        reviewed="lidocaine_allergy",
        go_ahead="on",
    )

    response = clinician_client.post(ENROLL, data, follow=True)

    assert response.status_code == 422
    text = text_of(response)
    assert "Your changes raised different warnings." in text
    assert "Tick the box" not in text
    assert 'name="reviewed" value="lidocaine_allergy keloid_tendency"' in response.content.decode()
    assert "checked" not in re.search(
        r"<input type=\"checkbox\"[^>]*>", response.content.decode()
    ).group(0)  # type: ignore[union-attr]
    nothing_saved()


def test_a_ticked_box_sent_before_any_warning_was_shown_is_not_a_decision(
    clinician_client: Client,
) -> None:
    response = clinician_client.post(
        ENROLL, enrollment_data(keloid_tendency="yes", go_ahead="on"), follow=True
    )

    assert response.status_code == 422
    nothing_saved()


def test_a_ticked_box_with_no_warnings_is_harmless(clinician_client: Client) -> None:
    response = clinician_client.post(
        ENROLL, enrollment_data(go_ahead="on", reviewed="under_22"), follow=True
    )

    assert response.status_code == 200
    assert Screening.objects.get().warnings == []


def test_the_skin_test_warning_is_only_for_bellafill(clinician_client: Client) -> None:
    bellafill = clinician_client.post(
        ENROLL, enrollment_data(skin_test_result="not_done"), follow=True
    )
    other = clinician_client.post(
        ENROLL, enrollment_data(product="dermal-filler", skin_test_result="not_done")
    )

    assert bellafill.status_code == 422
    assert "No negative skin test is recorded." in text_of(bellafill)
    assert other.status_code == 302  # enrolled, to the page with the link
    assert Treatment.objects.get().product.code == "dermal-filler"


def test_nothing_is_half_saved_when_a_step_fails(
    clinician_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: object) -> str:
        raise RuntimeError("the link could not be made")

    monkeypatch.setattr(login_links, "issue_login_link", broken)

    with pytest.raises(RuntimeError):
        clinician_client.post(ENROLL, enrollment_data(), follow=True)

    nothing_saved()


def test_enrolling_costs_a_fixed_number_of_queries(
    clinician_client: Client, django_assert_max_num_queries: object
) -> None:
    # 30 with the clinic's triage counts, made here at the clinic's first enrollment.
    # Three more since the redirect: the submission key looked up, the link kept in the
    # session (saved) for the page the redirect leads to. Four for the long-term watch of
    # a Bellafill treatment: the patient's latest watched treatment, the watch locked (none
    # yet) and made, and its counts beside the triage counts.
    with django_assert_max_num_queries(37):  # type: ignore[operator]
        response = clinician_client.post(ENROLL, enrollment_data())
    assert response.status_code == 302


# Who may enroll -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_patients_cannot_enroll(patient_client: Client, method: str) -> None:
    response = getattr(patient_client, method)(ENROLL, enrollment_data())

    assert response.status_code == 404
    assert Patient.objects.count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(client: Client, db: None) -> None:
    response = client.post(ENROLL, enrollment_data())

    assert response.status_code == 302
    assert "sign-in/?next=/clinic/patients/new/" in response["Location"]
    nothing_saved()


# A fresh sign-in link ------------------------------------------------------------------------


def sign_in_link_url(patient: Patient) -> str:
    return f"/clinic/patients/{patient.public_id}/sign-in-link/"


def test_the_sign_in_link_page_cannot_be_opened_by_get(
    clinician_client: Client, patient: Patient
) -> None:
    response = clinician_client.get(sign_in_link_url(patient))

    assert response.status_code == 405
    assert not LoginLink.objects.exists()


def test_a_fresh_link_is_shown_and_leaves_the_earlier_ones_working(
    clinician_client: Client, patient: Patient, treatment: Treatment, clinician: User
) -> None:
    earlier = token_of(login_links.issue_login_link(patient=patient, at=NOW))

    response = clinician_client.post(sign_in_link_url(patient), {"action": "show"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "Sign-in link for Ana Patient" in text_of(response)
    url = login_url_in(response)
    assert qr_path_in(response) == qr_path_of(url)
    fresh = token_of(url)
    assert LoginLink.objects.filter(patient=patient).count() == 2
    assert login_links.usable_link(token=earlier, at=NOW).patient == patient
    assert login_links.usable_link(token=fresh, at=NOW).patient == patient
    event = AuditEvent.objects.get(action="patient.login_link_issued")
    assert (event.patient, event.actor) == (patient, clinician)

    # Single-use: once redeemed it is gone, and the earlier link still works.
    login_links.redeem_login_link(token_hash=login_links.hash_token(fresh), at=NOW, ip_address=None)
    with pytest.raises(login_links.UnusableLink):
        login_links.usable_link(token=fresh, at=NOW)
    assert login_links.usable_link(token=earlier, at=NOW).patient == patient


def test_each_press_shows_a_different_link(
    clinician_client: Client, patient: Patient, treatment: Treatment
) -> None:
    first = login_url_in(clinician_client.post(sign_in_link_url(patient), {"action": "show"}))
    second = login_url_in(clinician_client.post(sign_in_link_url(patient), {"action": "show"}))

    assert first != second


def test_emailing_the_link_sends_one_email_without_health_details(
    clinician_client: Client,
    patient: Patient,
    treatment: Treatment,
    clinician: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = clinician_client.post(sign_in_link_url(patient), {"action": "email"})

    assert response.status_code == 200
    assert "We emailed a new sign-in link to ana@example.com" in text_of(response)
    assert "<svg" not in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.com"]
    assert "Riverside Skin Clinic sent it to you." in message.body
    for detail in ("Bellafill", "cheek", "skin test", "allerg", "1985", "Ana Patient", "Nov"):
        assert detail.lower() not in f"{message.subject} {message.body}".lower()
    url = re.search(r"http\S+", str(message.body)).group(0)  # type: ignore[union-attr]
    assert login_links.usable_link(token=token_of(url), at=NOW).patient == patient
    event = AuditEvent.objects.get(action="patient.login_link_emailed")
    assert (event.patient, event.actor, event.ip_address) == (patient, clinician, "127.0.0.1")


def test_a_patient_asking_for_a_link_still_gets_the_usual_email(
    client: Client,
    patient: Patient,
    treatment: Treatment,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sign-in/new-link/", {"email": "ana@example.com"})

    assert len(mail.outbox) == 1
    assert "If you did not ask for it, you can ignore this email." in mail.outbox[0].body
    event = AuditEvent.objects.get(action="patient.login_link_emailed")
    assert event.actor is None


def test_no_email_address_means_no_email(
    clinician_client: Client, clinic: Clinic, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    patient = factories.create_patient(clinic=clinic, email="", mobile="+1 555 010 7777")

    with django_capture_on_commit_callbacks(execute=True):
        response = clinician_client.post(sign_in_link_url(patient), {"action": "email"})

    assert response.status_code == 400
    assert "no email address" in text_of(response)
    assert mail.outbox == []
    assert not LoginLink.objects.exists()


def test_an_unknown_action_is_refused(clinician_client: Client, patient: Patient) -> None:
    response = clinician_client.post(sign_in_link_url(patient), {"action": "delete"})

    assert response.status_code == 400
    assert not LoginLink.objects.exists()


def test_another_clinics_patient_gets_no_link(
    client: Client,
    other_clinician: User,
    patient: Patient,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    client.force_login(other_clinician)

    for action in ("show", "email"):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(sign_in_link_url(patient), {"action": action}).status_code == 404
    assert not LoginLink.objects.exists()
    assert mail.outbox == []


def test_a_patient_cannot_make_links(patient_client: Client, patient: Patient) -> None:
    response = patient_client.post(sign_in_link_url(patient), {"action": "show"})

    assert response.status_code == 404
    assert not LoginLink.objects.exists()


# A returning patient -------------------------------------------------------------------------


def new_treatment_url(patient: Patient) -> str:
    return f"/clinic/patients/{patient.public_id}/treatments/new/"


@pytest.fixture
def screened_treatment(patient: Patient, clinician: User) -> Treatment:
    """Ana's first session, with a negative skin test on record."""
    return enrollment.add_screened_treatment(
        patient=patient,
        details=enrollment.TreatmentDetails(
            product=Product.objects.get(code="bellafill"),
            treated_on=dt.date(2026, 8, 20),
            areas="Left and right cheek",
        ),
        checklist=enrollment.Checklist(
            ScreeningFacts(skin_test_on=dt.date(2026, 7, 1), skin_test_result="negative")
        ),
        recorded_by=clinician,
        at=NOW - dt.timedelta(days=97),
    )


def test_the_next_session_starts_from_what_carries_over(
    clinician_client: Client, patient: Patient, screened_treatment: Treatment
) -> None:
    response = clinician_client.get(new_treatment_url(patient))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert 'name="session_number" value="2"' in page
    assert 'name="treated_on" value="2026-11-25"' in page
    assert 'name="areas" value="Left and right cheek"' in page
    assert 'name="skin_test_on" value="2026-07-01"' in page
    assert re.search(r'value="negative"[^>]*checked', page)
    # The allergy questions are asked afresh.
    assert not re.search(r'name="lidocaine_allergy" value="no"[^>]*checked', page)
    assert "New treatment for Ana Patient" in text_of(response)
    assert audit_actions(patient)[-1] == "patient.viewed"


def test_sessions_two_and_three_go_on_the_same_record(
    clinician_client: Client, patient: Patient, screened_treatment: Treatment, clinician: User
) -> None:
    second = clinician_client.post(
        new_treatment_url(patient),
        treatment_data(treated_on="2026-10-20", session_number="2", skin_test_on="2026-07-01"),
    )
    third = clinician_client.post(
        new_treatment_url(patient), treatment_data(session_number="3", skin_test_on="2026-07-01")
    )

    assert second.status_code == 302
    assert second["Location"] == f"/clinic/patients/{patient.public_id}/"
    assert third.status_code == 302
    treatments = list(patient.treatments.order_by("treated_on"))
    assert [t.session_number for t in treatments] == [1, 2, 3]
    assert [t.superseded for t in treatments] == [True, True, False]
    assert [t.treated_on for t in treatments] == [
        dt.date(2026, 8, 20),
        dt.date(2026, 10, 20),
        TODAY,
    ]
    assert Screening.objects.filter(treatment__patient=patient).count() == 3
    assert Patient.objects.count() == 1
    assert audit_actions(patient)[-4:] == [
        "treatment.added",
        "screening.recorded",
        "treatment.added",
        "screening.recorded",
    ]
    assert not LoginLink.objects.exists()


def test_a_returning_patients_warnings_need_the_same_decision(
    clinician_client: Client, patient: Patient, screened_treatment: Treatment, clinician: User
) -> None:
    first = clinician_client.post(
        new_treatment_url(patient), treatment_data(session_number="2", keloid_tendency="yes")
    )
    assert first.status_code == 422
    assert "Tendency to keloid or hypertrophic scarring recorded" in text_of(first)
    assert patient.treatments.count() == 1

    going_ahead = clinician_client.post(
        new_treatment_url(patient),
        treatment_data(
            session_number="2", keloid_tendency="yes", reviewed="keloid_tendency", go_ahead="on"
        ),
    )

    assert going_ahead.status_code == 302
    screening = Screening.objects.get(treatment__session_number=2)
    assert [w["code"] for w in screening.warnings] == ["keloid_tendency"]
    assert screening.went_ahead_by == clinician


def test_a_new_session_cannot_be_dated_before_the_latest(
    clinician_client: Client, patient: Patient, screened_treatment: Treatment
) -> None:
    response = clinician_client.post(
        new_treatment_url(patient), treatment_data(treated_on="2026-08-19", session_number="2")
    )

    assert response.status_code == 422
    assert "a new session can't be dated earlier" in text_of(response)
    assert patient.treatments.count() == 1


def test_a_new_session_cannot_be_in_the_future(
    clinician_client: Client, patient: Patient, screened_treatment: Treatment
) -> None:
    response = clinician_client.post(
        new_treatment_url(patient), treatment_data(treated_on="2026-11-26", session_number="2")
    )

    assert response.status_code == 422
    assert patient.treatments.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_clinics_patient_is_not_found(
    client: Client, other_clinician: User, patient: Patient, treatment: Treatment, method: str
) -> None:
    client.force_login(other_clinician)

    response = getattr(client, method)(new_treatment_url(patient), treatment_data())

    assert response.status_code == 404
    assert patient.treatments.count() == 1
    assert not AuditEvent.objects.filter(action="patient.viewed").exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_patients_cannot_add_treatments(
    patient_client: Client, patient: Patient, method: str
) -> None:
    response = getattr(patient_client, method)(new_treatment_url(patient), treatment_data())

    assert response.status_code == 404
    assert patient.treatments.count() == 1


# Sent twice ----------------------------------------------------------------------------------


def test_an_enrollment_answers_with_a_redirect_and_shows_the_link_once(
    clinician_client: Client,
) -> None:
    """A refresh of the old answer (a 200 to the POST) sent the form again: two patients."""
    response = clinician_client.post(ENROLL, enrollment_data(submission_key=str(uuid.uuid4())))
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/clinic/patients/{patient.public_id}/enrolled/"
    assert "/l/" not in response["Location"]

    first = clinician_client.get(response["Location"])
    assert login_url_in(first).startswith(f"{SITE_URL}/l/")
    again = clinician_client.get(response["Location"])  # the page reloaded: no link any more
    assert "/l/" not in again.content.decode()
    assert "Carla Díaz is enrolled" in text_of(again)
    assert "Show a QR code" in text_of(again)


def test_the_same_enrollment_sent_twice_makes_one_patient(clinician_client: Client) -> None:
    data = enrollment_data(submission_key=str(uuid.uuid4()))
    first = clinician_client.post(ENROLL, data)
    second = clinician_client.post(ENROLL, data)  # a double tap, or the back button and send

    assert Patient.objects.count() == 1
    assert Treatment.objects.count() == 1
    assert second.status_code == 302
    assert second["Location"] == first["Location"]
    assert LoginLink.objects.count() == 1


def test_two_different_enrollments_make_two_patients(clinician_client: Client) -> None:
    clinician_client.post(ENROLL, enrollment_data(submission_key=str(uuid.uuid4())))
    clinician_client.post(
        ENROLL, enrollment_data(submission_key=str(uuid.uuid4()), email="dora@example.com")
    )
    assert Patient.objects.count() == 2


def test_the_enrollment_form_carries_a_fresh_key(clinician_client: Client) -> None:
    keys = [
        re.search(r'name="submission_key" value="([0-9a-f-]{36})"', page.content.decode())
        for page in (clinician_client.get(ENROLL), clinician_client.get(ENROLL))
    ]
    assert keys[0] and keys[1] and keys[0].group(1) != keys[1].group(1)


def test_another_clinician_cannot_open_the_enrolled_page_of_another_clinic(
    clinician_client: Client, other_clinician: User
) -> None:
    response = clinician_client.post(ENROLL, enrollment_data(submission_key=str(uuid.uuid4())))
    other = Client()
    other.force_login(other_clinician)
    assert other.get(response["Location"]).status_code == 404


def test_the_same_next_session_sent_twice_is_recorded_once(
    clinician_client: Client, patient: Patient, screened_treatment: Treatment
) -> None:
    data = treatment_data(session_number="2", skin_test_on="2026-07-01")
    data["submission_key"] = str(uuid.uuid4())
    first = clinician_client.post(new_treatment_url(patient), data)
    second = clinician_client.post(new_treatment_url(patient), data)

    assert (first.status_code, second.status_code) == (302, 302)
    assert [t.session_number for t in patient.treatments.order_by("pk")] == [1, 2]
    page = clinician_client.get(second["Location"])
    assert "Session 2 was already recorded (the form was sent twice)" in text_of(page)


# The number to call ----------------------------------------------------------------------


def test_enrolling_asks_for_a_mobile_number_or_why_there_is_none(clinician_client: Client) -> None:
    """Issue 11: enrollment took an email with no mobile, and an urgent alert then had no
    number to call."""
    response = clinician_client.post(ENROLL, enrollment_data(mobile=""))
    assert response.status_code == 422
    assert "Enter the patient's mobile number" in text_of(response)
    nothing_saved()

    response = clinician_client.post(
        ENROLL, enrollment_data(mobile="", no_mobile_reason="Landline only: 0312 555 0100")
    )
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert (patient.mobile, patient.no_mobile_reason) == ("", "Landline only: 0312 555 0100")
    record = text_of(clinician_client.get(f"/clinic/patients/{patient.public_id}/"))
    assert "Mobile None: Landline only: 0312 555 0100" in record


def test_a_reason_given_with_a_mobile_number_is_not_kept(clinician_client: Client) -> None:
    clinician_client.post(ENROLL, enrollment_data(no_mobile_reason="no phone"))
    assert Patient.objects.get().no_mobile_reason == ""
