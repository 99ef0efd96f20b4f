"""Signing in with a login link, asking for a new one, signing out, and who may see what."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from pytest_django.fixtures import Settings as SettingsFixture

from recovery import login_links
from recovery.models import AuditEvent, CheckIn, LoginLink, Patient, Treatment, User
from tests import factories
from tests.helpers import text_of

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
SITE_URL = "http://127.0.0.1:8000"
PATIENT_PAGES = ["/", "/check-in/", "/check-in/?first=red_flags", "/my-recovery/"]


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _site_url(settings: SettingsFixture) -> None:
    settings.SITE_URL = SITE_URL


def token_of(url: str) -> str:
    """A sign-in link's token: its fragment (/l/#<token>), which browsers never send."""
    parts = urlsplit(url)
    assert (parts.path, parts.query) == ("/l/", "")
    assert parts.fragment
    return parts.fragment


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
#
# A link is /l/#<token>. Browsers never send a URL's fragment, so the server only ever sees
# GET /l/ (the page) and the token in the body of the POST its "Sign in" button sends.


def sign_in_with(client: Client, token: str = "", link: str = "", **extra: Any) -> Any:
    """Press "Sign in" on /l/: the token as the page's script puts it in the form, or the
    link (or its code) as a patient without JavaScript pastes it."""
    return client.post("/l/", {"token": token, "link": link}, **extra)


def test_a_link_carries_its_token_only_after_the_hash(patient: Patient) -> None:
    url = login_links.issue_login_link(patient=patient, at=NOW)

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == SITE_URL
    assert (parts.path, parts.query) == ("/l/", "")
    token = parts.fragment
    assert len(token) >= 43
    assert url == f"{SITE_URL}/l/#{token}"
    # What a browser sends for it (everything before the #) does not hold the token.
    assert token not in url.partition("#")[0]
    assert LoginLink.objects.get().token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_opening_a_link_shows_a_sign_in_button_and_uses_nothing_up(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    new_link(patient)

    response = client.get("/l/")

    assert response.status_code == 200
    page = response.content.decode()
    assert '<form method="post" action="/l/" id="sign-in-link-form"' in page
    assert '<input type="hidden" name="token" value="">' in page
    assert '<button type="submit" class="button">Sign in</button>' in page
    # Without JavaScript, the patient pastes the link instead.
    assert "Paste the whole link from your email or the code after #" in text_of(response)
    assert re.search(r'<input type="text" name="link" id="id_link"', page)
    # The script comes from the site (strict CSP: no inline script).
    assert '<script src="/static/js/sign-in-link.js" defer></script>' in page
    assert "<script>" not in page
    assert "no-store" in response["Cache-Control"]
    assert settings.CSRF_COOKIE_NAME in response.cookies
    # Only looking: nothing is used up, nobody is signed in, nothing is recorded.
    assert LoginLink.objects.get().used_at is None
    assert signed_in_user_pk(client) is None
    assert "patient.signed_in" not in audit_actions(patient)


def test_the_page_is_the_same_whatever_the_link_and_is_not_the_clinics(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    """GET /l/ never sees a token: the page cannot depend on one (nor name the clinic)."""
    before = client.get("/l/")
    token = new_link(patient)
    after = client.get("/l/")
    # A token sent in the query, as a broken client might, is not read either.
    queried = client.get("/l/", {"token": token})

    assert text_of(before) == text_of(after) == text_of(queried)
    assert "Riverside Skin Clinic" not in text_of(after)
    assert token not in queried.content.decode()
    assert LoginLink.objects.get().used_at is None
    assert signed_in_user_pk(client) is None


def test_a_mail_scanner_following_the_link_does_not_use_it_up(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    url = login_links.issue_login_link(patient=patient, at=NOW)
    scanner = Client()
    assert scanner.get(urlsplit(url).path).status_code == 200
    assert LoginLink.objects.get().used_at is None

    response = sign_in_with(client, token_of(url))

    assert response.status_code == 302
    assert signed_in_user_pk(client) == str(patient.user.pk)


def test_pressing_sign_in_signs_the_patient_in_and_records_it(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)
    assert client.get("/l/").status_code == 200

    response = sign_in_with(client, token, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_pk(client) == str(patient.user.pk)
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    link = LoginLink.objects.get()
    assert link.used_at == NOW
    event = AuditEvent.objects.get(action="patient.signed_in")
    assert event.actor == patient.user
    assert event.patient == patient
    assert event.object_id == ""
    assert event.ip_address == "203.0.113.7"
    # Neither the token nor its hash is kept in the session.
    session = repr(dict(client.session.items()))
    assert token not in session
    assert link.token_hash not in session
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


def test_the_sign_in_button_only_works_from_the_pages_form(
    patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)
    browser = Client(enforce_csrf_checks=True)

    forged = sign_in_with(browser, token)
    assert forged.status_code == 403
    assert signed_in_user_pk(browser) is None
    assert LoginLink.objects.get().used_at is None

    csrf = csrf_token_in(browser.get("/l/"))
    pressed = browser.post("/l/", {"csrfmiddlewaretoken": csrf, "token": token})
    assert pressed.status_code == 302
    assert signed_in_user_pk(browser) == str(patient.user.pk)


def test_a_second_browser_sending_the_same_link_is_refused_as_used(
    patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)
    first, second = Client(), Client()
    assert first.get("/l/").status_code == second.get("/l/").status_code == 200

    assert sign_in_with(first, token).status_code == 302
    response = sign_in_with(second, token)

    assert response.status_code == 410
    assert "This sign-in link has already been used." in text_of(response)
    assert 'action="/sign-in/new-link/"' in response.content.decode()
    assert signed_in_user_pk(first) == str(patient.user.pk)
    assert signed_in_user_pk(second) is None
    assert audit_actions(patient).count("patient.signed_in") == 1


def test_a_link_works_until_it_expires(
    client: Client, patient: Patient, treatment: Treatment
) -> None:
    token = new_link(patient)
    last_minute = NOW + dt.timedelta(hours=settings.LOGIN_LINK_MAX_AGE_HOURS, minutes=-1)

    with time_machine.travel(last_minute, tick=False):
        assert sign_in_with(client, token).status_code == 302

    assert signed_in_user_pk(client) == str(patient.user.pk)


def test_an_expired_link_is_refused(client: Client, patient: Patient, treatment: Treatment) -> None:
    token = new_link(patient)
    assert client.get("/l/").status_code == 200  # opened in time, pressed too late
    later = NOW + dt.timedelta(hours=settings.LOGIN_LINK_MAX_AGE_HOURS, seconds=1)

    with time_machine.travel(later, tick=False):
        response = sign_in_with(client, token)

    assert response.status_code == 410
    assert "This sign-in link has expired." in text_of(response)
    # The page offers to email a new one.
    assert 'action="/sign-in/new-link/"' in response.content.decode()
    assert LoginLink.objects.get().used_at is None
    assert signed_in_user_pk(client) is None
    assert "patient.signed_in" not in audit_actions(patient)


@pytest.mark.parametrize("field", ["token", "link"])
@pytest.mark.parametrize(
    ("make_token", "status"),
    [
        pytest.param(lambda token: "not-a-real-token", 404, id="made up"),
        pytest.param(lambda token: token[:-1], 404, id="last character missing"),
        pytest.param(lambda token: token + "x", 404, id="extra character"),
        pytest.param(lambda token: token.upper(), 404, id="case changed"),
        pytest.param(lambda token: "✓" * 43, 404, id="not ascii"),
        pytest.param(lambda token: "%2F" + token, 404, id="percent-encoded"),
        pytest.param(lambda token: token[:20] + "/" + token[20:], 404, id="a slash inside"),
        pytest.param(lambda token: "x" * 5000, 404, id="very long"),
        pytest.param(lambda token: token + "x" * 100_000, 404, id="token then 100k more"),
        pytest.param(lambda token: f"{SITE_URL}/l/#", 404, id="a link without its code"),
        pytest.param(lambda token: f"{SITE_URL}/l/", 404, id="a link without its #"),
        pytest.param(lambda token: token[:10] + "\x00" + token[10:], 400, id="NUL"),
    ],
)
def test_an_unknown_or_garbled_link_is_refused_and_nothing_is_written(
    client: Client,
    patient: Patient,
    treatment: Treatment,
    field: str,
    make_token: Callable[[str], str],
    status: int,
) -> None:
    token = new_link(patient)
    audit_before = AuditEvent.objects.count()

    response = sign_in_with(client, **{field: make_token(token)})

    assert response.status_code == status
    if status == 404:
        assert "This sign-in link isn't valid." in text_of(response)
    assert LoginLink.objects.get().used_at is None
    assert AuditEvent.objects.count() == audit_before
    assert not Session.objects.exists()
    assert signed_in_user_pk(client) is None


def test_pressing_sign_in_with_nothing_asks_for_the_link(client: Client, db: None) -> None:
    response = sign_in_with(client)

    assert response.status_code == 422
    page = response.content.decode()
    assert '<p class="error" id="link-error">' in page
    assert 'aria-invalid="true" aria-describedby="link-error"' in page
    assert "Paste the link from your email, or the code after # in it." in text_of(response)
    assert signed_in_user_pk(client) is None
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "pasted",
    [
        pytest.param(lambda url: url, id="the whole link"),
        pytest.param(lambda url: f"  {url}\n", id="with spaces around it"),
        pytest.param(lambda url: url[:30] + "\n" + url[30:], id="broken over two lines"),
        pytest.param(lambda url: url.partition("#")[2], id="the code after #"),
        pytest.param(lambda url: "#" + url.partition("#")[2], id="the code with its #"),
    ],
)
def test_a_link_pasted_without_javascript_signs_in(
    patient: Patient, treatment: Treatment, pasted: Callable[[str], str]
) -> None:
    url = login_links.issue_login_link(patient=patient, at=NOW)
    phone = Client(enforce_csrf_checks=True)
    csrf = csrf_token_in(phone.get("/l/"))

    response = phone.post("/l/", {"csrfmiddlewaretoken": csrf, "token": "", "link": pasted(url)})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_pk(phone) == str(patient.user.pk)
    assert LoginLink.objects.get().used_at == NOW
    assert audit_actions(patient).count("patient.signed_in") == 1


def test_only_a_sha256_hash_of_the_token_is_stored(patient: Patient, treatment: Treatment) -> None:
    token = new_link(patient)

    link = LoginLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    for field in LoginLink._meta.concrete_fields:
        assert token not in str(field.value_from_object(link)), field.name
    for event in AuditEvent.objects.all():
        assert token not in event.object_id


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/l/{token}", id="a token in the path"),
        pytest.param("/l/anything", id="anything"),
        pytest.param("/l/" + "x" * 5000, id="very long"),
        pytest.param("/l/%E2%9C%93", id="not ascii"),
        pytest.param("/sign-in/confirm/", id="the old confirm page"),
    ],
)
def test_a_token_in_the_path_is_not_a_link(
    client: Client, patient: Patient, treatment: Treatment, path: str
) -> None:
    token = new_link(patient)

    response = client.get(path.format(token=token))

    assert response.status_code == 404
    assert LoginLink.objects.get().used_at is None
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
    assert isinstance(message, EmailMultiAlternatives)
    html_body = str(message.alternatives[0][0])
    for part in (message.subject, message.body, html_body):
        for word in HEALTH_WORDS:
            assert word not in part.lower(), word
        assert "010-2000" not in part
    url = re.search(r"https?://\S+/l/\S*", str(message.body))
    assert url is not None
    assert url.group(0).startswith(SITE_URL + "/l/#")
    assert f'href="{url.group(0)}"' in html_body
    emailed = AuditEvent.objects.get(action="patient.login_link_emailed")
    assert emailed.patient == patient

    # The link in the email signs Ana in on another phone; the server never sees its token
    # in a URL (the browser asks for /l/ and posts the token).
    phone = Client()
    assert phone.get(urlsplit(url.group(0)).path).status_code == 200
    assert sign_in_with(phone, token_of(url.group(0))).status_code == 302
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
    settings: SettingsFixture,
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
    settings: SettingsFixture,
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
    assert "Sign out now</button>" in page
    # Asked first (issue 11): getting back in needs an emailed link.
    assert '<summary class="link-button">Sign out</summary>' in page
    assert "you will need a new link from your clinic" in page


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
