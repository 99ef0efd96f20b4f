"""Clinic staff sign in: email and password, a lock after too many failures, and a code from
an authenticator app where the clinic requires two-factor sign-in."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from recovery.clinicians import give_admin_access
from recovery.models import AuditEvent, Clinic, Patient, User
from recovery.views.clinic.auth import PENDING_SECRET
from tests.helpers import text_of

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 25, 15, 0, 10, tzinfo=UTC)
EMAIL = "nurse@riverside.example"  # the `clinician` persona
PASSWORD = "correct horse battery"  # tests/factories.create_clinician's default
WRONG = "Email or password is wrong."
LOCKED = "Too many attempts; try again in 15 minutes."
SIGN_IN = "/clinic/sign-in/"
CODE = "/clinic/sign-in/code/"
SETUP = "/clinic/two-factor/"
DASHBOARD = "/clinic/"


@pytest.fixture
def traveller() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _now(traveller: time_machine.Traveller) -> None:
    """Every test runs at NOW; tests that need time to pass take `traveller`."""


@pytest.fixture
def two_factor_clinic(clinic: Clinic) -> Clinic:
    clinic.requires_two_factor = True
    clinic.save(update_fields=["requires_two_factor"])
    return clinic


@pytest.fixture
def device(clinician: User) -> TOTPDevice:
    """The clinician's authenticator app, set up earlier."""
    return TOTPDevice.objects.create(user=clinician, name="Phone", confirmed=True)


def sign_in(client: Client, email: str = EMAIL, password: str = PASSWORD, **extra: str) -> Any:
    return client.post(SIGN_IN, {"email": email, "password": password, **extra})


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get(SESSION_KEY)


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key):06d}"


# Email and password --------------------------------------------------------------------


def test_the_sign_in_page_asks_for_email_and_password(client: Client) -> None:
    response = client.get(SIGN_IN)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'type="email"' in page
    assert 'type="password"' in page
    assert 'autocomplete="current-password"' in page
    assert "Clinic staff sign-in" in text_of(response)


def test_a_clinician_signs_in_and_goes_to_the_dashboard(client: Client, clinician: User) -> None:
    response = sign_in(client)
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    assert signed_in_user_id(client) == str(clinician.pk)
    # A working day at a shared desk, not a patient's 45 days.
    assert client.session.get_expiry_age() == settings.CLINICIAN_SESSION_AGE == 12 * 3600
    # Signing in reads no patient record: no audit row.
    assert not AuditEvent.objects.filter(actor=clinician).exists()


def test_the_email_is_case_insensitive(client: Client, clinician: User) -> None:
    response = sign_in(client, email="  Nurse@Riverside.EXAMPLE ")
    assert response["Location"] == DASHBOARD
    assert signed_in_user_id(client) == str(clinician.pk)


def test_a_signed_in_clinician_opening_the_sign_in_page_goes_on(
    client: Client, clinician: User
) -> None:
    client.force_login(clinician)
    response = client.get(SIGN_IN)
    assert (response.status_code, response["Location"]) == (302, DASHBOARD)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        pytest.param(EMAIL, "wrong horse battery", id="wrong password"),
        pytest.param("nobody@riverside.example", PASSWORD, id="unknown email"),
        pytest.param("ana@example.com", PASSWORD, id="a patient's email"),
        pytest.param("root@riverside.example", PASSWORD, id="an account that isn't a clinician"),
    ],
)
def test_every_refusal_says_the_same_thing(
    client: Client, clinician: User, patient: Patient, email: str, password: str
) -> None:
    # A superuser with a password but no clinician row: the admin's, not the clinic's.
    User.objects.create_superuser("root@riverside.example", "root@riverside.example", PASSWORD)
    response = sign_in(client, email=email, password=password)
    assert response.status_code == 422
    text = text_of(response)
    assert WRONG in text
    assert "not a clinician" not in text.lower()
    assert "unknown" not in text.lower()
    assert signed_in_user_id(client) is None
    # The email stays filled in, the password doesn't.
    assert password not in response.content.decode()


def test_a_refusal_page_is_identical_for_a_known_and_an_unknown_email(
    client: Client, clinician: User
) -> None:
    def page_for(email: str) -> str:
        return text_of(sign_in(client, email=email, password="wrong horse battery")).replace(
            email, "EMAIL"
        )

    assert page_for(EMAIL) == page_for("nobody@riverside.example")


def test_an_empty_form_is_sent_back_with_what_is_missing(client: Client, clinician: User) -> None:
    response = client.post(SIGN_IN, {"email": "", "password": ""})
    assert response.status_code == 422
    text = text_of(response)
    assert "Enter your email address." in text
    assert "Enter your password." in text
    assert signed_in_user_id(client) is None


# Locking after too many failures ------------------------------------------------------


def test_the_account_locks_after_five_failures_even_for_the_right_password(
    client: Client, clinician: User, traveller: time_machine.Traveller
) -> None:
    for _ in range(4):
        assert sign_in(client, password="wrong horse battery").status_code == 422
    fifth = sign_in(client, email="NURSE@riverside.example", password="wrong horse battery")
    assert fifth.status_code == 429
    assert LOCKED in text_of(fifth)
    assert WRONG not in text_of(fifth)

    locked = sign_in(client)  # the right password, too late
    assert locked.status_code == 429
    assert LOCKED in text_of(locked)
    assert signed_in_user_id(client) is None

    traveller.shift(dt.timedelta(minutes=14))
    assert sign_in(client).status_code == 429

    # Tries during the lock do not extend it: 15 minutes after the fifth failure, it lifts.
    traveller.shift(dt.timedelta(minutes=1, seconds=1))
    response = sign_in(client)
    assert response["Location"] == DASHBOARD
    assert signed_in_user_id(client) == str(clinician.pk)


def test_a_stranger_who_knows_the_email_cannot_lock_the_nurse_out(
    client: Client, clinician: User
) -> None:
    """The old lock was by account alone: five wrong passwords from anywhere gave the real
    owner 429, and each further failure restarted the cool-off."""
    stranger = Client(REMOTE_ADDR="198.51.100.66")
    for _ in range(8):
        stranger.post(SIGN_IN, {"email": EMAIL, "password": "guess"})
    assert stranger.post(SIGN_IN, {"email": EMAIL, "password": PASSWORD}).status_code == 429

    at_the_clinic = Client(REMOTE_ADDR="203.0.113.10")
    response = at_the_clinic.post(SIGN_IN, {"email": EMAIL, "password": PASSWORD})
    assert response["Location"] == DASHBOARD


def test_behind_a_proxy_the_lock_is_by_the_clients_address(
    client: Client, clinician: User, settings: Any
) -> None:
    settings.PROXY_COUNT = 1
    proxy = "10.0.0.2"  # every request reaches the app from the load balancer
    for _ in range(5):
        client.post(
            SIGN_IN,
            {"email": EMAIL, "password": "guess"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR="198.51.100.66",
        )
    nurse = client.post(
        SIGN_IN,
        {"email": EMAIL, "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="203.0.113.10",
    )
    assert nurse["Location"] == DASHBOARD


# Resetting a password by email ---------------------------------------------------------------


def reset_link_in(message: Any) -> str:
    found = re.search(r"https?://\S+/clinic/password-reset/[\w-]+/[\w-]+/", message.body)
    assert found is not None, message.body
    return found.group(0).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_a_locked_out_clinician_resets_their_password_by_email_and_signs_in(
    client: Client, clinician: User
) -> None:
    from django.core import mail

    for _ in range(5):
        sign_in(client, password="wrong horse battery")
    assert sign_in(client).status_code == 429
    assert "Reset it by email" in text_of(client.get(SIGN_IN))

    response = client.post("/clinic/password-reset/", {"email": "Nurse@Riverside.example"})
    assert response["Location"] == "/clinic/password-reset/sent/"
    assert "Check your email" in text_of(client.get(response["Location"]))
    [message] = mail.outbox
    assert message.to == [EMAIL]
    link = reset_link_in(message)

    page = client.get(link, follow=True)
    assert "Set a new password" in text_of(page)
    new = "a fresh long passphrase 2026"
    done = client.post(
        page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )
    assert "Your password is changed" in text_of(done)
    # The lock went with the old password; the new one signs in.
    assert sign_in(client, password=new)["Location"] == DASHBOARD
    # The link works once.
    again = Client().get(link, follow=True)
    assert "This link can't be used" in text_of(again)


def test_a_reset_for_an_unknown_address_or_a_patient_says_the_same_and_sends_nothing(
    client: Client, clinician: User, patient: Patient
) -> None:
    from django.core import mail

    answers = [
        client.post("/clinic/password-reset/", {"email": email})["Location"]
        for email in ("nobody@riverside.example", patient.email, EMAIL)
    ]
    assert answers == ["/clinic/password-reset/sent/"] * 3
    assert [m.to for m in mail.outbox] == [[EMAIL]]  # patients have no password to reset


def test_an_unknown_email_locks_the_same_way(client: Client, clinician: User) -> None:
    for _ in range(4):
        sign_in(client, email="nobody@riverside.example", password="guess")
    response = sign_in(client, email="nobody@riverside.example", password="guess")
    assert response.status_code == 429
    assert LOCKED in text_of(response)
    # Another account is not locked by it.
    assert sign_in(client)["Location"] == DASHBOARD


def test_signing_in_clears_earlier_failures(client: Client, clinician: User) -> None:
    for _ in range(4):
        sign_in(client, password="wrong horse battery")
    assert sign_in(client)["Location"] == DASHBOARD
    client.post("/clinic/sign-out/")
    for _ in range(4):
        assert sign_in(client, password="wrong horse battery").status_code == 422


def test_the_admin_login_is_locked_by_the_same_count(client: Client, clinician: User) -> None:
    give_admin_access(clinician)
    for _ in range(3):
        sign_in(client, password="wrong horse battery")
    for _ in range(2):
        response = client.post(
            "/admin/login/", {"username": EMAIL.upper(), "password": "wrong horse battery"}
        )
    assert response.status_code == 429
    assert LOCKED in text_of(response)
    response = client.post("/admin/login/", {"username": EMAIL, "password": PASSWORD})
    assert response.status_code == 429
    assert signed_in_user_id(client) is None


def test_the_test_clients_login_works_when_given_a_request(client: Client, clinician: User) -> None:
    """Axes needs the request to count an attempt; this is how a test signs in by password."""
    assert client.login(request=HttpRequest(), username=EMAIL, password=PASSWORD)
    assert not client.login(request=HttpRequest(), username=EMAIL, password="wrong")


# Where to go next ----------------------------------------------------------------------


def test_next_is_followed_when_it_stays_on_the_site(client: Client, clinician: User) -> None:
    response = sign_in(client, next="/clinic/export/?from=2026-11-01")
    assert response["Location"] == "/clinic/export/?from=2026-11-01"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/clinic/", "//evil.example/", "javascript:alert(1)", "http:///evil"],
)
def test_next_to_another_site_is_refused(client: Client, clinician: User, next_url: str) -> None:
    response = sign_in(client, next=next_url)
    assert response["Location"] == DASHBOARD


def test_a_clinic_page_sends_a_stranger_to_the_clinic_sign_in(client: Client) -> None:
    response = client.get("/clinic/export/")
    assert response.status_code == 302
    assert response["Location"] == "/clinic/sign-in/?next=/clinic/export/"
    page = client.get(response["Location"])
    assert 'name="next" value="/clinic/export/"' in page.content.decode()


# Signing out ---------------------------------------------------------------------------


def test_signing_out_is_post_only(client: Client, clinician: User) -> None:
    client.force_login(clinician)
    assert client.get("/clinic/sign-out/").status_code == 405
    assert signed_in_user_id(client) == str(clinician.pk)

    response = client.post("/clinic/sign-out/")
    assert (response.status_code, response["Location"]) == (302, SIGN_IN)
    assert signed_in_user_id(client) is None
    assert "You are signed out." in text_of(client.get(SIGN_IN))


# Two-factor sign-in --------------------------------------------------------------------


def test_a_clinic_without_two_factor_is_not_asked_for_a_code(
    client: Client, clinician: User
) -> None:
    give_admin_access(clinician)
    assert sign_in(client)["Location"] == DASHBOARD
    assert client.get("/admin/").status_code == 200
    assert client.get(DASHBOARD).status_code != 302
    assert client.get(CODE)["Location"] == DASHBOARD
    assert client.get(SETUP)["Location"] == DASHBOARD


def test_a_first_sign_in_sets_up_an_authenticator_app(
    client: Client, two_factor_clinic: Clinic, clinician: User
) -> None:
    give_admin_access(clinician)
    response = sign_in(client, next="/admin/")
    assert response["Location"] == "/clinic/two-factor/?next=%2Fadmin%2F"
    assert signed_in_user_id(client) == str(clinician.pk)

    page = client.get(response["Location"])
    assert page.status_code == 200
    content = page.content.decode()
    assert '<svg role="img" aria-label="QR code for your authenticator app"' in content
    assert "style=" not in content  # strict CSP: no inline styles, not even in the SVG
    secret = client.session[PENDING_SECRET]
    key = bytes.fromhex(secret)
    written = base64.b32encode(key).decode()
    assert " ".join(written[i : i + 4] for i in range(0, len(written), 4)) in text_of(page)
    assert not TOTPDevice.objects.filter(user=clinician).exists()  # nothing saved yet

    wrong = client.post(SETUP, {"code": f"{(totp(key) + 1) % 1_000_000:06d}", "next": "/admin/"})
    assert wrong.status_code == 422
    assert "That code is wrong or has expired" in text_of(wrong)
    assert client.session[PENDING_SECRET] == secret  # the same QR code is still good
    assert not TOTPDevice.objects.filter(user=clinician).exists()

    right = client.post(SETUP, {"code": f"{totp(key):06d}", "next": "/admin/"})
    assert (right.status_code, right["Location"]) == (302, "/admin/")
    device = TOTPDevice.objects.get(user=clinician)
    assert device.confirmed
    assert device.key == secret
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert PENDING_SECRET not in client.session
    assert client.get("/admin/").status_code == 200
    assert client.get(DASHBOARD).status_code != 302


def test_a_code_with_spaces_is_accepted_and_letters_are_not(
    client: Client, two_factor_clinic: Clinic, clinician: User
) -> None:
    client.force_login(clinician)
    client.get(SETUP)
    key = bytes.fromhex(client.session[PENDING_SECRET])
    letters = client.post(SETUP, {"code": "abcdef"})
    assert letters.status_code == 422
    assert "Enter the 6 digits your authenticator app shows." in text_of(letters)
    code = f"{totp(key):06d}"
    response = client.post(SETUP, {"code": f"{code[:3]} {code[3:]}"})
    assert (response.status_code, response["Location"]) == (302, DASHBOARD)


def test_setting_up_cannot_replace_an_app_without_its_code(
    client: Client, two_factor_clinic: Clinic, clinician: User, device: TOTPDevice
) -> None:
    client.force_login(clinician)  # the password only
    response = client.get(SETUP)
    assert (response.status_code, response["Location"]) == (302, CODE)
    assert client.post(SETUP, {"code": "123456"})["Location"] == CODE
    assert list(TOTPDevice.objects.filter(user=clinician)) == [device]


def test_a_clinician_with_an_app_is_asked_for_a_code(
    client: Client,
    two_factor_clinic: Clinic,
    clinician: User,
    device: TOTPDevice,
    traveller: time_machine.Traveller,
) -> None:
    give_admin_access(clinician)
    response = sign_in(client)
    assert response["Location"] == CODE
    page = client.get(CODE)
    assert page.status_code == 200
    assert "Enter your authenticator code" in text_of(page)
    assert 'autocomplete="one-time-code"' in page.content.decode()

    wrong = client.post(CODE, {"code": f"{(totp(device.bin_key) + 1) % 1_000_000:06d}"})
    assert wrong.status_code == 422
    assert "That code is wrong or has expired" in text_of(wrong)
    assert DEVICE_ID_SESSION_KEY not in client.session

    traveller.shift(dt.timedelta(seconds=2))  # django-otp waits 1s, 2s, 4s… after each miss
    right = client.post(CODE, {"code": code_for(device), "next": "/admin/"})
    assert (right.status_code, right["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200
    assert client.get(DASHBOARD).status_code != 302
    assert client.get(CODE)["Location"] == DASHBOARD  # nothing more to give


@pytest.mark.parametrize("path", [DASHBOARD, "/clinic/export/", "/admin/", "/admin/recovery/"])
def test_an_unverified_session_reaches_no_clinic_or_admin_page(
    client: Client, two_factor_clinic: Clinic, clinician: User, device: TOTPDevice, path: str
) -> None:
    give_admin_access(clinician)
    client.force_login(clinician)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/clinic/sign-in/code/?next={path.replace('/', '%2F')}"


def test_an_unverified_session_without_an_app_is_sent_to_set_one_up(
    client: Client, two_factor_clinic: Clinic, clinician: User
) -> None:
    client.force_login(clinician)
    response = client.get("/clinic/export/")
    assert response["Location"] == "/clinic/two-factor/?next=%2Fclinic%2Fexport%2F"


def test_an_htmx_request_of_an_unverified_session_redirects_the_whole_page(
    client: Client, two_factor_clinic: Clinic, clinician: User, device: TOTPDevice
) -> None:
    client.force_login(clinician)
    response = client.get(DASHBOARD, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/clinic/sign-in/code/?next=%2Fclinic%2F"


def test_turning_two_factor_on_holds_back_sessions_already_signed_in(
    client: Client, clinic: Clinic, clinician: User
) -> None:
    assert sign_in(client)["Location"] == DASHBOARD
    clinic.requires_two_factor = True
    clinic.save(update_fields=["requires_two_factor"])
    assert client.get(DASHBOARD)["Location"] == "/clinic/two-factor/?next=%2Fclinic%2F"


def test_an_unverified_clinician_may_still_sign_out(
    client: Client, two_factor_clinic: Clinic, clinician: User, device: TOTPDevice
) -> None:
    client.force_login(clinician)
    assert client.post("/clinic/sign-out/")["Location"] == SIGN_IN
    assert signed_in_user_id(client) is None


def test_wrong_codes_slow_down(
    client: Client,
    two_factor_clinic: Clinic,
    clinician: User,
    device: TOTPDevice,
    traveller: time_machine.Traveller,
) -> None:
    client.force_login(clinician)
    assert client.post(CODE, {"code": "000000"}).status_code == 422
    too_soon = client.post(CODE, {"code": code_for(device)})  # even the right one
    assert too_soon.status_code == 429
    assert "Too many wrong codes" in text_of(too_soon)
    assert DEVICE_ID_SESSION_KEY not in client.session
    traveller.shift(dt.timedelta(seconds=2))
    assert client.post(CODE, {"code": code_for(device)})["Location"] == DASHBOARD


def test_a_code_cannot_be_used_twice(
    two_factor_clinic: Clinic, clinician: User, device: TOTPDevice
) -> None:
    first, second = Client(), Client()
    first.force_login(clinician)
    second.force_login(clinician)
    code = code_for(device)
    assert first.post(CODE, {"code": code})["Location"] == DASHBOARD
    replay = second.post(CODE, {"code": code})
    assert replay.status_code == 422
    assert DEVICE_ID_SESSION_KEY not in second.session


def test_signing_in_through_the_admin_asks_for_the_code_too(
    client: Client, two_factor_clinic: Clinic, clinician: User, device: TOTPDevice
) -> None:
    give_admin_access(clinician)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": EMAIL, "password": PASSWORD, "next": "/admin/"}
    )
    assert response["Location"] == "/admin/"
    admin = client.get("/admin/")
    assert admin["Location"] == "/clinic/sign-in/code/?next=%2Fadmin%2F"
    assert client.session.get_expiry_age() == settings.CLINICIAN_SESSION_AGE


def test_the_code_pages_are_for_clinicians_only(patient_client: Client) -> None:
    assert patient_client.get(CODE).status_code == 404
    assert patient_client.get(SETUP).status_code == 404


def test_a_patient_is_not_bothered_by_the_clinic_sign_in(
    patient_client: Client, two_factor_clinic: Clinic
) -> None:
    assert patient_client.get("/").status_code == 200


def test_a_clinic_page_looks_up_who_is_signed_in_once(client: Client, clinician: User) -> None:
    """The user, their clinician row and clinic come in one query, which the middleware and
    the page share."""
    client.force_login(clinician)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(DASHBOARD).status_code != 302
    sqls = [q["sql"] for q in queries.captured_queries]
    by_user = [sql for sql in sqls if 'FROM "recovery_user"' in sql]
    assert len(by_user) == 1
    assert 'JOIN "recovery_clinician"' in by_user[0] and 'JOIN "recovery_clinic"' in by_user[0]
    assert not [sql for sql in sqls if 'FROM "recovery_clinician"' in sql]


def test_a_deactivated_account_is_signed_out_at_its_next_request(
    client: Client, clinician: User
) -> None:
    client.force_login(clinician)
    assert client.get(DASHBOARD).status_code == 200
    clinician.is_active = False
    clinician.save(update_fields=["is_active"])

    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"].startswith("/clinic/sign-in/")
