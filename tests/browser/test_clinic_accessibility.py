"""The clinic's pages in Chromium: axe finds nothing, and nothing is wider than the screen.

Clinicians work at a desk or on a tablet (1024 x 768), so every page is scanned there;
the sign-in, the triage dashboard and a patient's record are also scanned on a 360px
phone, where the wide tables may scroll sideways inside their own region but the page
itself must not.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from recovery import alerts
from recovery.models import Alert, Clinic, Clinician, Patient, Treatment, Triage, User
from tests import factories
from tests.browser import PHONE_WIDTH, axe_violations, tap_targets

DESK = {
    "viewport": {"width": 1024, "height": 768},
    "is_mobile": False,
    "has_touch": False,
    "device_scale_factor": 1,
}
SCREENS = ["desk", "phone"]


# Checking a page ---------------------------------------------------------------------------


def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its window (0 when it fits)."""
    # Against the window's own width: a phone widens its layout to fit a page that overflows.
    width: int = page.evaluate("document.documentElement.scrollWidth")
    window = page.viewport_size
    assert window is not None
    return max(0, width - window["width"])


# An id named by a label, an ARIA reference or an in-page link that no element on the page has:
# axe lets a dangling aria-describedby pass, and a screen reader then reads no error.
_BROKEN_REFERENCES_JS = """
() => {
  const broken = [];
  const check = (el, attr, ids) => {
    for (const id of ids) {
      if (id && !document.getElementById(id)) {
        broken.push(`<${el.tagName.toLowerCase()} ${attr}> names #${id}, which is not on the page`);
      }
    }
  };
  for (const attr of ["for", "aria-describedby", "aria-labelledby", "aria-controls"]) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      check(el, attr, el.getAttribute(attr).split(/\\s+/));
    }
  }
  for (const link of document.querySelectorAll('a[href^="#"]')) {
    check(link, "href", [decodeURIComponent(link.getAttribute("href").slice(1))]);
  }
  return broken;
}
"""


def broken_references(page: Page) -> list[str]:
    found: list[str] = page.evaluate(_BROKEN_REFERENCES_JS)
    return found


def on_a_phone(page: Page) -> bool:
    window = page.viewport_size
    return window is not None and window["width"] <= PHONE_WIDTH


def assert_accessible(page: Page) -> None:
    """Fail on any accessibility or layout problem of the page as it is now."""
    # A full page load goes on after its heading shows: scan it once its stylesheet applies.
    page.wait_for_load_state()
    screenshot(page)
    problems = [f"axe: {line}" for line in axe_violations(page)]
    problems += broken_references(page)
    if wider := overflow(page):
        problems.append(f"the page is {wider}px wider than the window")
    if on_a_phone(page):
        problems += [f"tap target: {line}" for line in tap_targets(page)["small"]]
    assert problems == [], f"{page.url}:\n" + "\n".join(problems)


def screenshot(page: Page) -> None:
    """With SCREENSHOTS_DIR set, keep a picture of each page scanned, to judge it by eye."""
    if folder := os.environ.get("SCREENSHOTS_DIR"):
        test = os.environ["PYTEST_CURRENT_TEST"].split("::")[-1].split(" ")[0]
        name = re.sub(r"[^\w-]+", "-", test).strip("-")
        path = Path(folder) / f"{name}-{next(_shots)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path, full_page=True, caret="initial")


_shots = itertools.count(1)


# Browsers and people -------------------------------------------------------------------------


@pytest.fixture
def desk(new_context: Callable[..., BrowserContext]) -> Page:
    """A page on a desk screen or a tablet held sideways."""
    return new_context(**DESK).new_page()


@pytest.fixture(params=SCREENS)
def screen(request: pytest.FixtureRequest, new_context: Callable[..., BrowserContext]) -> Page:
    """The desk screen, then the 360px phone of the patients' tests."""
    options = DESK if request.param == "desk" else {}
    return new_context(**options).new_page()


class SignIn(Protocol):
    def __call__(self, page: Page, user: User, *, path: str = ..., landing: str = ...) -> None: ...


@pytest.fixture
def sign_in(live_server: LiveServer) -> SignIn:
    """Open `path` signed in as `user`, and wait for its `landing` heading.

    The sign-in form has its own tests; here the browser is given the session cookie it
    would set, so that the first page a test loads is the one it scans. (Leaving a page
    that has just loaded can abort its icon's request, which the problems watcher
    counts as a failure.) A clinic that asks for an authenticator code still asks.
    """

    def sign_in(page: Page, user: User, *, path: str = "/clinic/", landing: str = "Triage") -> None:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        page.goto(path)
        expect(page.get_by_role("heading", name=landing, exact=True)).to_be_visible()

    return sign_in


def before_leaving(page: Page) -> None:
    """Let the page's last requests (its icon, fetched after it loads) end before a form
    sends the browser to a new page; an aborted one counts as a failed request."""
    page.wait_for_load_state("networkidle")


def treated(clinic: Clinic, name: str, *, days_ago: int) -> Treatment:
    patient = factories.create_patient(clinic=clinic, name=name)
    return factories.create_treatment(
        patient=patient, treated_on=patient.today() - dt.timedelta(days=days_ago)
    )


def check_in(
    treatment: Treatment,
    *,
    days_ago: int = 0,
    red_flags: frozenset[str] = frozenset(),
    **ratings: int,
) -> None:
    factories.create_check_in(
        treatment=treatment,
        local_date=treatment.patient.today() - dt.timedelta(days=days_ago),
        red_flags=red_flags,
        **ratings,
    )


def alert_of(patient: Patient) -> Alert:
    return Alert.objects.get(treatment__patient=patient, resolved_at__isnull=True)


@pytest.fixture
def alert_patient(clinic: Clinic) -> Patient:
    """Eight days of check-ins, fading, then a warning sign today: an open urgent alert."""
    treatment = treated(clinic, "Uma Urgent", days_ago=8)
    for day in range(8):
        if day == 4:
            continue  # a missed day
        fading = max(0, 2 - day // 3)
        check_in(
            treatment,
            days_ago=8 - day,
            swelling=fading,
            redness=max(0, fading - 1),
            bruising=fading,
            pain=1 if day < 2 else 0,
        )
    check_in(treatment, red_flags=frozenset({"skin_color"}), swelling=2, pain=2)
    return treatment.patient


@pytest.fixture
def everyone(clinic: Clinic, alert_patient: Patient) -> dict[Triage, Patient]:
    """One patient at each triage level, one of them with an acknowledged alert."""
    contact = treated(clinic, "Carl Contact", days_ago=5)
    check_in(contact, swelling=3)
    acknowledger = factories.create_clinician(clinic=clinic, email="doctor@riverside.example")
    alerts.acknowledge_alert(
        alert=(alert := alert_of(contact.patient)),
        seen_version=alert.version,
        by=acknowledger,
        at=timezone.now(),
        ip_address=None,
    )
    missed = treated(clinic, "Mia Missed", days_ago=5)
    watch = treated(clinic, "Walt Watch", days_ago=10)
    check_in(watch, swelling=2)
    on_track = treated(clinic, "Olga OnTrack", days_ago=5)
    check_in(on_track)
    finished = treated(clinic, "Fay Finished", days_ago=40)
    people = {
        Triage.URGENT: alert_patient,
        Triage.CONTACT_CLINIC: contact.patient,
        Triage.MISSED_CHECK_IN: missed.patient,
        Triage.WATCH: watch.patient,
        Triage.ON_TRACK: on_track.patient,
        Triage.DIARY_FINISHED: finished.patient,
    }
    for level, patient in people.items():
        assert Treatment.objects.get(patient=patient).triage == level, patient.name
    return people


# Signing in --------------------------------------------------------------------------------


def test_sign_in_page(screen: Page) -> None:
    screen.goto("/clinic/sign-in/")
    expect(screen.get_by_role("heading", name="Clinic staff sign-in")).to_be_visible()
    assert_accessible(screen)


def test_sign_in_page_with_errors(screen: Page, clinician: User) -> None:
    screen.goto("/clinic/sign-in/")
    before_leaving(screen)
    screen.get_by_role("button", name="Sign in").click()
    expect(screen.get_by_label("Email address")).to_have_attribute("aria-invalid", "true")
    assert_accessible(screen)

    screen.get_by_label("Email address").fill(clinician.email)
    screen.get_by_label("Password").fill("not the password")
    before_leaving(screen)
    screen.get_by_role("button", name="Sign in").click()
    expect(screen.get_by_role("alert")).to_have_text("Email or password is wrong.")
    assert_accessible(screen)


@pytest.fixture
def two_factor_clinic(clinic: Clinic) -> Clinic:
    clinic.requires_two_factor = True
    clinic.save(update_fields=["requires_two_factor"])
    return clinic


def test_two_factor_setup_page(
    desk: Page, two_factor_clinic: Clinic, clinician: User, sign_in: SignIn
) -> None:
    sign_in(desk, clinician, landing="Set up your authenticator app")
    expect(desk.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    assert_accessible(desk)

    desk.get_by_label("6-digit code from your authenticator app").fill("12")
    before_leaving(desk)
    desk.get_by_role("button", name="Confirm and continue").click()
    expect(desk.get_by_role("alert")).to_contain_text("Enter the 6 digits")
    assert_accessible(desk)


def test_two_factor_code_page(
    desk: Page, two_factor_clinic: Clinic, clinician: User, sign_in: SignIn
) -> None:
    device = TOTPDevice.objects.create(user=clinician, name="Phone", confirmed=True)
    sign_in(desk, clinician, landing="Enter your authenticator code")
    assert_accessible(desk)

    wrong = (totp(device.bin_key) + 1) % 1_000_000
    desk.get_by_label("6-digit code from your authenticator app").fill(f"{wrong:06d}")
    before_leaving(desk)
    desk.get_by_role("button", name="Continue").click()
    expect(desk.get_by_role("alert")).to_contain_text("That code is wrong")
    assert_accessible(desk)


# Triage ------------------------------------------------------------------------------------


def test_dashboard_with_patients_at_every_level(
    screen: Page, clinician: User, everyone: dict[Triage, Patient], sign_in: SignIn
) -> None:
    sign_in(screen, clinician)
    rows = screen.locator("tr.queue-row")
    expect(rows).to_have_count(len(everyone))
    expect(rows.first).to_contain_text("Uma Urgent")
    for level in everyone:
        expect(screen.locator(f"#level-{level.name.lower()}")).to_have_text(f"{level.label} 1")
    assert_accessible(screen)
    if on_a_phone(screen):
        # The table is wider than the phone: it scrolls sideways in its own region, which
        # a keyboard can reach and a screen reader names.
        region = screen.get_by_role("region", name=re.compile("^Patients, most urgent first"))
        expect(region).to_have_attribute("tabindex", "0")
        assert region.evaluate("(el) => el.scrollWidth > el.clientWidth")


def test_on_a_tablet_held_upright_no_dashboard_column_is_cut(
    new_context: Callable[..., BrowserContext],
    clinician: User,
    everyone: dict[Triage, Patient],
    sign_in: SignIn,
) -> None:
    """Issue 11: at 768x1024 the 909 px table sat in 734 px, the open alert's column cut."""
    tablet = new_context(**{**DESK, "viewport": {"width": 768, "height": 1024}}).new_page()
    sign_in(tablet, clinician)
    region = tablet.get_by_role("region", name=re.compile("^Patients, most urgent first"))
    widths = region.evaluate("(el) => [el.scrollWidth, el.clientWidth]")
    assert widths[0] <= widths[1], widths
    right = region.evaluate("(el) => el.getBoundingClientRect().right")
    for header in tablet.locator("table.queue-table thead th").all():
        box = header.bounding_box()
        assert box is not None and box["x"] + box["width"] <= right + 0.5, header.inner_text()
    urgent = tablet.locator("tr.queue-row").first
    expect(urgent.get_by_role("link", name=re.compile("Review the alert"))).to_be_in_viewport()
    expect(urgent).to_contain_text("Not acknowledged yet.")
    assert overflow(tablet) == 0
    assert_accessible(tablet)


def test_dashboard_filtered_to_nobody(
    desk: Page, clinician: User, everyone: object, sign_in: SignIn
) -> None:
    sign_in(desk, clinician)
    desk.get_by_label("Search by name").fill("Nobody")
    desk.get_by_role("button", name="Search").click()
    expect(desk.get_by_role("cell", name="No patients match.")).to_be_visible()
    assert_accessible(desk)


# One patient -------------------------------------------------------------------------------


def test_patient_page_with_an_open_alert_and_charts(
    screen: Page, clinician: User, alert_patient: Patient, sign_in: SignIn
) -> None:
    sign_in(screen, clinician)
    screen.get_by_role("link", name="Uma Urgent", exact=True).click()
    expect(screen.get_by_role("heading", name="Open alert")).to_be_visible()
    expect(screen.locator("svg.chart-svg")).to_have_count(6)
    assert_accessible(screen)

    screen.get_by_role("button", name="I'm calling them").click()
    expect(screen.get_by_text("is calling them, since")).to_be_visible()
    assert_accessible(screen)


def test_patient_page_after_the_alert_is_resolved(
    screen: Page, clinician: User, alert_patient: Patient, sign_in: SignIn
) -> None:
    sign_in(screen, clinician)
    screen.get_by_role("link", name="Uma Urgent", exact=True).click()
    screen.get_by_label("Advised at home").check()
    screen.get_by_label("What was done (required)").fill("Called; the patch has gone pink again.")
    screen.get_by_role("button", name="Resolve the alert").click()
    expect(screen.get_by_role("status")).to_have_text("The alert is resolved.")
    expect(screen.get_by_role("heading", name="Open alert")).to_have_count(0)
    expect(screen.get_by_role("region", name="Alerts, newest first")).to_contain_text(
        "Advised at home"
    )
    assert_accessible(screen)

    screen.reload()  # the message is shown once
    expect(screen.get_by_role("heading", name="Alert history")).to_be_visible()
    expect(screen.locator(".messages")).to_have_count(0)
    assert_accessible(screen)


def test_resolve_alert_page(
    desk: Page, clinician: User, alert_patient: Patient, sign_in: SignIn
) -> None:
    path = f"/clinic/alerts/{alert_of(alert_patient).public_id}/resolve/"
    sign_in(desk, clinician, path=path, landing="Alert: Uma Urgent")
    assert_accessible(desk)

    desk.get_by_role("button", name="Resolve the alert").click()
    expect(desk.get_by_role("heading", name="The alert is not resolved yet")).to_be_visible()
    assert_accessible(desk)


def test_resolve_alert_page_of_a_resolved_alert(
    desk: Page, clinician: User, alert_patient: Patient, sign_in: SignIn
) -> None:
    alert = alerts.resolve_alert(
        alert=(alert := alert_of(alert_patient)),
        seen_version=alert.version,
        by=clinician,
        outcome=Alert.Outcome.REFERRED,
        note="Sent to the eye clinic.",
        at=timezone.now(),
        ip_address=None,
    )
    path = f"/clinic/alerts/{alert.public_id}/resolve/"
    sign_in(desk, clinician, path=path, landing="Alert: Uma Urgent")
    expect(desk.get_by_role("heading", name="Urgent (resolved)")).to_be_visible()
    expect(desk.get_by_role("alert")).to_have_text("This alert is already resolved.")
    assert_accessible(desk)


def test_check_in_by_phone(desk: Page, clinician: User, clinic: Clinic, sign_in: SignIn) -> None:
    treatment = treated(clinic, "Pat Phone", days_ago=3)
    sign_in(desk, clinician)
    desk.get_by_role("link", name="Pat Phone", exact=True).click()
    desk.get_by_role("link", name="Record a check-in from a call").click()
    expect(desk.get_by_role("heading", name="Warning signs")).to_be_visible()
    assert_accessible(desk)

    desk.get_by_role("button", name="Save the check-in").click()
    expect(desk.get_by_role("heading", name="Please check the answers")).to_be_visible()
    assert_accessible(desk)
    assert not treatment.check_ins.exists()


# Enrollment --------------------------------------------------------------------------------


def test_enrollment_form(desk: Page, clinician: User, sign_in: SignIn) -> None:
    sign_in(desk, clinician)
    desk.get_by_role("link", name="Enroll a patient").click()
    expect(desk.get_by_role("heading", name="Enroll a patient")).to_be_visible()
    assert_accessible(desk)

    desk.get_by_role("button", name="Check and enroll").click()
    expect(desk.get_by_role("heading", name="Please check the form")).to_be_visible()
    assert_accessible(desk)


def test_enrollment_with_warnings_then_the_qr_code(
    desk: Page, clinician: User, sign_in: SignIn
) -> None:
    sign_in(desk, clinician)
    desk.get_by_role("link", name="Enroll a patient").click()
    desk.get_by_label("Full name").fill("Nina New")
    desk.get_by_label("Email (optional if you enter a mobile)").fill("nina@example.com")
    desk.get_by_label("Mobile number").fill("+1 212 555 0177")
    desk.get_by_label("Date of birth").fill("1990-06-15")
    desk.get_by_role("group", name="Skin test result").get_by_label("Not done").check()
    checklist = {
        "Lidocaine allergy or hypersensitivity?": "No",
        "Allergy to any bovine (cow) collagen product?": "No",
        "History of anaphylaxis (a severe allergic reaction)?": "No",
        "Multiple severe allergies?": "No",
        "Tendency to keloid or hypertrophic (raised) scars?": "Yes",
    }
    for question, answer in checklist.items():
        desk.get_by_role("group", name=question).get_by_label(answer, exact=True).check()
    desk.get_by_role("button", name="Check and enroll").click()
    expect(desk.get_by_role("heading", name="Check before going ahead")).to_be_visible()
    assert_accessible(desk)

    desk.get_by_label("I have reviewed these warnings and we are going ahead").check()
    desk.get_by_role("button", name="Enroll the patient").first.click()
    expect(desk.get_by_role("heading", name="Nina New is enrolled")).to_be_visible()
    expect(desk.get_by_role("img", name="QR code of the patient's sign-in link")).to_be_visible()
    assert_accessible(desk)

    # Their record, before any check-in, keeps the warnings gone ahead with, in words.
    desk.get_by_role("link", name="Open Nina New's record").click()
    expect(desk.get_by_role("heading", name="Nina New", exact=True)).to_be_visible()
    expect(desk.locator(".treatment .screening-warnings li")).to_have_text(
        [
            re.compile(r"^No negative skin test is recorded\."),
            "Tendency to keloid or hypertrophic scarring recorded: a contraindication.",
        ]
    )
    assert_accessible(desk)


def test_new_treatment_page(desk: Page, clinician: User, clinic: Clinic, sign_in: SignIn) -> None:
    treated(clinic, "Rita Return", days_ago=40)
    sign_in(desk, clinician)
    desk.get_by_role("link", name="Rita Return", exact=True).click()
    desk.get_by_role("link", name="Record a new treatment").click()
    expect(desk.get_by_role("heading", name="New treatment for Rita Return")).to_be_visible()
    assert_accessible(desk)

    desk.get_by_role("button", name="Check and record the treatment").click()
    expect(desk.get_by_role("heading", name="Please check the form")).to_be_visible()
    assert_accessible(desk)


# Export and audit --------------------------------------------------------------------------


def test_export_page(desk: Page, clinician: User, sign_in: SignIn) -> None:
    sign_in(desk, clinician)
    desk.get_by_role("link", name="Export").click()
    expect(desk.get_by_role("heading", name="Export check-ins")).to_be_visible()
    assert_accessible(desk)

    desk.get_by_label("From").fill("2026-11-30")
    desk.get_by_label("To").fill("2026-11-01")
    before_leaving(desk)
    desk.get_by_role("button", name="Download CSV").click()
    expect(desk.get_by_label("To")).to_have_accessible_description(
        re.compile("The end date must be on or after the start date.")
    )
    expect(desk.get_by_label("To")).to_have_attribute("aria-invalid", "true")
    assert_accessible(desk)


def test_audit_trail(desk: Page, clinic: Clinic, alert_patient: Patient, sign_in: SignIn) -> None:
    admin = factories.create_clinician(
        clinic=clinic, email="admin@riverside.example", role=Clinician.Role.ADMIN
    )
    sign_in(desk, admin)
    desk.get_by_role("link", name="Uma Urgent", exact=True).click()
    desk.get_by_role("link", name="Audit trail").click()
    expect(desk.get_by_role("heading", name="Audit trail: Uma Urgent")).to_be_visible()
    assert_accessible(desk)
