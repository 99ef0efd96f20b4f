"""Signing in with a login link, asking for a new one, signing out, and who may see what."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client

from recovery import login_links
from recovery.models import AuditEvent, CheckIn, LoginLink, Patient, Treatment, User
from tests import factories

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
SITE_URL = "http://127.0.0.1:8000"
PATIENT_PAGES = ["/", "/check-in/", "/check-in/?first=red_flags", "/my-recovery/"]


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _site_url(settings: pytest.FixtureRequest) -> None:
    settings.SITE_URL = SITE_URL


def text_of(response: object) -> str:
    """The page as a person reads it: tags removed, entities decoded, spaces collapsed."""
    content = response.content.decode()  # type: ignore[attr-defined]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content)).split())


def token_of(url: str) -> str:
    path = urlsplit(url).path
    assert path.startswith("/l/")
    return path.removeprefix("/l/")


def new_link(patient: Patient) -> str:
    """A fresh login link's token, as the clinic would hand it out."""
    return token_of(login_links.issue_login_link(patient=patient, at=NOW))


def signed_in_user_pk(client: Client) -> str | None:
    return client.session.get(SESSION_KEY)


def audit_actions(patient: Patient) -> list[str]:
    return list(
        AuditEvent.objects.filter(patient=patient)
        .order_by("at", "pk")
        .values_list("action", flat=True)
    )


# Opening a link ----------------------------------------------------------------------------


def test_opening_a_link_checks_it_and_moves_the_token_out_of_the_url(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)

    response = client.get(f"/l/{token}")

    assert response.status_code == 302
    assert response["Location"] == "/sign-in/confirm/"
    assert token not in response["Location"]
    assert "no-store" in response["Cache-Control"]
    # Only looking: the link is not used up and nobody is signed in yet.
    assert LoginLink.objects.get().used_at is None
    assert signed_in_user_pk(client) is None
    assert "patient.signed_in" not in audit_actions(patient)


def test_the_confirm_page_shows_a_sign_in_button_and_does_not_use_the_link(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    client.get(f"/l/{new_link(patient)}")

    response = client.get("/sign-in/confirm/")

    assert response.status_code == 200
    page = response.content.decode()
    assert '<form method="post" action="/sign-in/confirm/">' in page
    assert '<button type="submit" class="button">Sign in</button>' in page
    assert "Riverside Skin Clinic" in text_of(response)
    assert "no-store" in response["Cache-Control"]
    assert LoginLink.objects.get().used_at is None
    assert signed_in_user_pk(client) is None


def test_a_mail_scanner_following_the_link_does_not_use_it_up(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)
    scanner = Client()
    assert scanner.get(f"/l/{token}").status_code == 302
    assert scanner.get("/sign-in/confirm/").status_code == 200

    assert client.get(f"/l/{token}").status_code == 302
    response = client.post("/sign-in/confirm/")

    assert response.status_code == 302
    assert signed_in_user_pk(client) == str(patient.user.pk)


def test_pressing_sign_in_signs_the_patient_in_and_records_it(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)
    client.get(f"/l/{token}")

    response = client.post("/sign-in/confirm/", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_pk(client) == str(patient.user.pk)
    assert "pending_login_link" not in client.session
    link = LoginLink.objects.get()
    assert link.used_at == NOW
    event = AuditEvent.objects.get(action="patient.signed_in")
    assert event.actor == patient.user
    assert event.patient == patient
    assert event.object_id == ""
    assert event.ip_address == "203.0.113.7"
    # And the patient lands on their home page.
    home = client.get("/")
    assert home.status_code == 200
    assert "Hello, Ana Patient" in text_of(home)


def csrf_token_in(response: object) -> str:
    found = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"',
        response.content.decode(),  # type: ignore[attr-defined]
    )
    assert found is not None
    return found.group(1)


def test_the_sign_in_button_only_works_from_the_confirm_page_form(
    patient: Patient, treatment: Treatment
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.get(f"/l/{new_link(patient)}")

    forged = browser.post("/sign-in/confirm/")
    assert forged.status_code == 403
    assert signed_in_user_pk(browser) is None
    assert LoginLink.objects.get().used_at is None

    token = csrf_token_in(browser.get("/sign-in/confirm/"))
    pressed = browser.post("/sign-in/confirm/", {"csrfmiddlewaretoken": token})
    assert pressed.status_code == 302
    assert signed_in_user_pk(browser) == str(patient.user.pk)


def test_a_used_link_cannot_be_used_again(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)
    client.get(f"/l/{token}")
    client.post("/sign-in/confirm/")

    someone_else = Client()
    response = someone_else.get(f"/l/{token}")

    assert response.status_code == 410
    assert "This sign-in link has already been used." in text_of(response)
    assert signed_in_user_pk(someone_else) is None
    assert audit_actions(patient).count("patient.signed_in") == 1


def test_two_phones_opening_the_same_link_only_one_signs_in(
    patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)
    first, second = Client(), Client()
    assert first.get(f"/l/{token}").status_code == 302
    assert second.get(f"/l/{token}").status_code == 302

    assert first.post("/sign-in/confirm/").status_code == 302
    response = second.post("/sign-in/confirm/")

    assert response.status_code == 410
    assert "already been used" in text_of(response)
    assert signed_in_user_pk(first) == str(patient.user.pk)
    assert signed_in_user_pk(second) is None
    assert audit_actions(patient).count("patient.signed_in") == 1


def test_a_link_works_until_it_expires(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)
    last_minute = NOW + dt.timedelta(hours=settings.LOGIN_LINK_MAX_AGE_HOURS, minutes=-1)

    with time_machine.travel(last_minute, tick=False):
        assert client.get(f"/l/{token}").status_code == 302
        assert client.post("/sign-in/confirm/").status_code == 302

    assert signed_in_user_pk(client) == str(patient.user.pk)


def test_an_expired_link_is_refused(client: Client, patient: Patient, treatment: Treatment) -> None:
    token = new_link(patient)
    later = NOW + dt.timedelta(hours=settings.LOGIN_LINK_MAX_AGE_HOURS, seconds=1)

    with time_machine.travel(later, tick=False):
        response = client.get(f"/l/{token}")

    assert response.status_code == 410
    assert "This sign-in link has expired." in text_of(response)
    # The page offers to email a new one.
    assert 'action="/sign-in/new-link/"' in response.content.decode()
    assert LoginLink.objects.get().used_at is None
    assert signed_in_user_pk(client) is None


def test_a_link_that_expires_between_opening_and_pressing_sign_in_is_refused(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)
    client.get(f"/l/{token}")
    later = NOW + dt.timedelta(hours=settings.LOGIN_LINK_MAX_AGE_HOURS, seconds=1)

    with time_machine.travel(later, tick=False):
        shown = client.get("/sign-in/confirm/")
        pressed = client.post("/sign-in/confirm/")

    assert shown.status_code == 410
    assert pressed.status_code == 410
    assert "expired" in text_of(pressed)
    assert signed_in_user_pk(client) is None
    assert LoginLink.objects.get().used_at is None
    assert "patient.signed_in" not in audit_actions(patient)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda token: "not-a-real-token", id="made up"),
        pytest.param(lambda token: token[:-1], id="last character missing"),
        pytest.param(lambda token: token + "x", id="extra character"),
        pytest.param(lambda token: token.upper(), id="case changed"),
        pytest.param(lambda token: "%E2%9C%93" * 3, id="not ascii"),
        pytest.param(lambda token: "x" * 5000, id="very long"),
    ],
)
def test_an_unknown_or_garbled_link_is_not_found(
    client: Client,
    patient: Patient,
    treatment: Treatment,
    make_token: Callable[[str], str],
) -> None:
    token = new_link(patient)

    response = client.get(f"/l/{make_token(token)}")

    assert response.status_code == 404
    assert "This sign-in link isn't valid." in text_of(response)
    assert "pending_login_link" not in client.session
    assert LoginLink.objects.get().used_at is None


def test_only_a_sha256_hash_of_the_token_is_stored(patient: Patient, treatment: Treatment) -> None:
    token = new_link(patient)

    link = LoginLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    for field in LoginLink._meta.concrete_fields:
        assert token not in str(field.value_from_object(link)), field.name
    for event in AuditEvent.objects.all():
        assert token not in event.object_id


def test_confirming_without_opening_a_link_goes_to_sign_in(client: Client, db: None) -> None:
    pressed = client.post("/sign-in/confirm/")
    shown = client.get("/sign-in/confirm/")

    assert pressed.status_code == 302
    assert pressed["Location"] == "/sign-in/"
    assert shown.status_code == 302
    assert shown["Location"] == "/sign-in/"
    assert signed_in_user_pk(client) is None
    assert not AuditEvent.objects.filter(action="patient.signed_in").exists()


# Asking for a new link by email -------------------------------------------------------------


@pytest.fixture
def patient_with_history(patient: Patient, treatment: Treatment) -> Patient:
    """Ana, with check-ins that say something about her health."""
    factories.create_check_in(
        treatment=treatment, local_date=treatment.treated_on, swelling=3, lumps=2, pain=1
    )
    factories.create_check_in(
        treatment=treatment,
        local_date=treatment.treated_on + dt.timedelta(days=1),
        red_flags=frozenset({"vision"}),
        swelling=2,
    )
    assert CheckIn.objects.filter(status="urgent").exists()
    return patient


HEALTH_WORDS = [
    "swelling",
    "redness",
    "bruising",
    "lump",
    "pain",
    "itching",
    "mild",
    "moderate",
    "severe",
    "on track",
    "keep an eye",
    "urgent",
    "contact your clinic",
    "eyesight",
    "bellafill",
    "cheek",
    "day 5",
    "20 nov",
    "1985",
]


def test_a_known_address_gets_one_email_with_a_working_link_and_no_health_details(
    client: Client,
    patient_with_history: Patient,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    patient = patient_with_history
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        response = client.post("/sign-in/new-link/", {"email": "ana@example.com"})

    assert response.status_code == 200
    assert "Check your email" in text_of(response)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.com"]
    assert message.subject == "Your Aftercare sign-in link"
    html_body = message.alternatives[0].content
    for part in (message.subject, message.body, html_body):
        for word in HEALTH_WORDS:
            assert word not in part.lower(), word
        assert "010-2000" not in part
    url = re.search(r"https?://\S+/l/[\w-]+", message.body)
    assert url is not None
    assert url.group(0).startswith(SITE_URL + "/l/")
    assert f'href="{url.group(0)}"' in html_body
    emailed = AuditEvent.objects.get(action="patient.login_link_emailed")
    assert emailed.patient == patient

    # The link in the email signs Ana in on another phone.
    phone = Client()
    assert phone.get(urlsplit(url.group(0)).path)["Location"] == "/sign-in/confirm/"
    assert phone.post("/sign-in/confirm/").status_code == 302
    assert signed_in_user_pk(phone) == str(patient.user.pk)


def test_the_address_is_matched_whatever_its_case_and_spaces(
    client: Client,
    patient: Patient,
    treatment: Treatment,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        response = client.post("/sign-in/new-link/", {"email": "  Ana@Example.COM "})

    assert response.status_code == 200
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]


def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(
    client: Client,
    patient: Patient,
    treatment: Treatment,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        known = client.post("/sign-in/new-link/", {"email": "ana@example.com"})
    mail.outbox.clear()
    links_before = LoginLink.objects.count()
    audit_before = AuditEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        unknown = client.post("/sign-in/new-link/", {"email": "nobody@example.com"})

    assert unknown.status_code == known.status_code == 200
    assert unknown.content.decode().replace("nobody@example.com", "EMAIL") == (
        known.content.decode().replace("ana@example.com", "EMAIL")
    )
    assert mail.outbox == []
    assert LoginLink.objects.count() == links_before
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.parametrize("email", ["", "not an email", "ana@", "a" * 250 + "@example.com"])
def test_an_invalid_address_is_refused_with_a_clear_error(
    client: Client,
    patient: Patient,
    treatment: Treatment,
    email: str,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        response = client.post("/sign-in/new-link/", {"email": email})

    assert response.status_code == 422
    page = response.content.decode()
    assert '<p class="error" id="email-error">' in page
    assert 'aria-invalid="true"' in page
    said = text_of(response)
    assert any(
        words in said
        for words in (
            "Enter a valid email address.",
            "This field is required.",
            "Ensure this value has at most 254 characters",
        )
    ), said
    assert mail.outbox == []
    assert not LoginLink.objects.exists()


def test_the_hourly_limit_stops_further_emails(
    client: Client,
    patient: Patient,
    treatment: Treatment,
    settings: pytest.FixtureRequest,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    settings.LOGIN_LINKS_PER_HOUR = 3

    def ask() -> int:
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
            response = client.post("/sign-in/new-link/", {"email": "ana@example.com"})
        return response.status_code

    assert [ask() for _ in range(3)] == [200, 200, 200]
    assert len(mail.outbox) == 3

    # The fourth request is answered the same way, but no email goes out.
    assert ask() == 200
    assert len(mail.outbox) == 3
    assert LoginLink.objects.count() == 3

    # An hour after the first ones, links can be sent again.
    with time_machine.travel(NOW + dt.timedelta(hours=1, seconds=1), tick=False):
        assert ask() == 200
    assert len(mail.outbox) == 4


def test_the_hourly_limit_is_per_patient(
    client: Client,
    patient: Patient,
    treatment: Treatment,
    second_patient: Patient,
    settings: pytest.FixtureRequest,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    settings.LOGIN_LINKS_PER_HOUR = 1
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        client.post("/sign-in/new-link/", {"email": "ana@example.com"})
        client.post("/sign-in/new-link/", {"email": "ana@example.com"})
        client.post("/sign-in/new-link/", {"email": "ben@example.com"})

    assert [m.to for m in mail.outbox] == [["ana@example.com"], ["ben@example.com"]]


# Signing out ------------------------------------------------------------------------------


def test_signing_out_needs_a_post(patient_client: Client, patient: Patient) -> None:
    response = patient_client.get("/sign-out/")

    assert response.status_code == 405
    assert signed_in_user_pk(patient_client) == str(patient.user.pk)
    assert patient_client.get("/").status_code == 200


def test_signing_out_cannot_be_forged_from_another_site(
    patient: Patient, treatment: Treatment
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(patient.user)

    assert browser.post("/sign-out/").status_code == 403
    assert signed_in_user_pk(browser) == str(patient.user.pk)

    token = csrf_token_in(browser.get("/"))
    assert browser.post("/sign-out/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert signed_in_user_pk(browser) is None


def test_signing_out_signs_the_patient_out(patient_client: Client) -> None:
    response = patient_client.post("/sign-out/")

    assert response.status_code == 302
    assert response["Location"] == "/sign-in/"
    assert signed_in_user_pk(patient_client) is None
    sign_in = patient_client.get("/sign-in/")
    assert "You are signed out." in text_of(sign_in)
    home = patient_client.get("/")
    assert home.status_code == 302
    assert home["Location"].startswith("/sign-in/")


def test_the_sign_out_button_is_on_the_patient_pages(patient_client: Client) -> None:
    page = patient_client.get("/").content.decode()

    assert '<form method="post" action="/sign-out/"' in page
    assert "Sign out</button>" in page


# Who sees the patient pages -----------------------------------------------------------------


@pytest.fixture
def check_in_url(treatment: Treatment) -> str:
    check_in = factories.create_check_in(treatment=treatment, local_date=treatment.treated_on)
    return f"/check-ins/{check_in.public_id}/"


@pytest.mark.parametrize("path", PATIENT_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(
    client: Client, path: str, check_in_url: str
) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/sign-in/"


def test_anonymous_visitors_are_sent_to_sign_in_from_a_check_in_result(
    client: Client, check_in_url: str
) -> None:
    response = client.get(check_in_url)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/sign-in/"
    assert not AuditEvent.objects.filter(action="check_in.viewed").exists()


def test_an_anonymous_check_in_is_not_saved(client: Client, treatment: Treatment) -> None:
    data = {"date": treatment.treated_on.isoformat(), "swelling": "1"}

    response = client.post("/check-in/", data)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/sign-in/"
    assert not CheckIn.objects.exists()


def test_the_sign_in_page_is_public_and_sends_signed_in_patients_home(
    patient_client: Client,
) -> None:
    anonymous = Client().get("/sign-in/")
    assert anonymous.status_code == 200
    assert "Email me a sign-in link" in text_of(anonymous)

    signed_in = patient_client.get("/sign-in/")
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/"


def test_a_clinician_is_sent_from_home_to_the_dashboard(client: Client, clinician: User) -> None:
    client.force_login(clinician)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/clinic/"


@pytest.mark.parametrize("path", PATIENT_PAGES[1:])
def test_a_clinician_gets_not_found_on_patient_pages(
    client: Client, clinician: User, path: str, check_in_url: str
) -> None:
    client.force_login(clinician)

    assert client.get(path).status_code == 404
    assert client.get(check_in_url).status_code == 404
    assert not AuditEvent.objects.filter(actor=clinician).exists()


def test_a_clinician_cannot_send_a_check_in(
    client: Client, clinician: User, treatment: Treatment
) -> None:
    client.force_login(clinician)
    data = {"date": treatment.treated_on.isoformat(), "idempotency_key": str(uuid.uuid4())}

    response = client.post("/check-in/", data)

    assert response.status_code == 404
    assert not CheckIn.objects.exists()


def test_the_session_holds_only_a_hash_of_the_pending_token(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)
    client.get(f"/l/{token}")

    stored = dict(client.session.items())
    assert token not in repr(stored)
    assert stored["pending_login_link"] == hashlib.sha256(token.encode()).hexdigest()
