"""Every patient page at 360px: no axe violations, nothing wider than the screen, big tap targets.

Links inside a sentence are let off the tap-target size (see tests/browser/__init__.py):
on these pages, only the clinic's after-hours and emergency numbers in the contact
box ("When closed: +1 …", "In an emergency call 911.").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from recovery import login_links
from recovery.models import CheckIn, Patient, Treatment
from tests import factories
from tests.browser import (
    PASTE_LINK_LABEL,
    login_path,
    page_problems,
    screenshot,
    sign_in,
    tap_targets,
)


def assert_fits_a_phone(page: Page) -> None:
    problems = page_problems(page)
    assert problems == [], f"{page.url}:\n" + "\n".join(problems)


def treated(patient: Patient, *, days_ago: int) -> Treatment:
    return factories.create_treatment(
        patient=patient, treated_on=patient.today() - dt.timedelta(days=days_ago)
    )


def checked_in_today(
    patient: Patient, *, days_ago: int = 5, red_flags: frozenset[str] = frozenset(), **ratings: int
) -> CheckIn:
    treatment = treated(patient, days_ago=days_ago)
    return factories.create_check_in(
        treatment=treatment, local_date=patient.today(), red_flags=red_flags, **ratings
    )


# One check-in today for each status, with what the page says about it.
STATUSES: dict[str, tuple[Callable[[Patient], CheckIn], str]] = {
    "on_track": (lambda p: checked_in_today(p), "You're on track"),
    "watch": (lambda p: checked_in_today(p, days_ago=10, swelling=2), "Keep an eye on it"),
    "contact_clinic": (
        lambda p: checked_in_today(p, swelling=3),
        "Please contact Riverside Skin Clinic today",
    ),
    "urgent": (
        lambda p: checked_in_today(p, red_flags=frozenset({"vision"}), swelling=1),
        "Call 911 now",
    ),
}


# Signing in


def test_sign_in_page(page: Page) -> None:
    page.goto("/sign-in/")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    assert_fits_a_phone(page)


def test_sign_in_page_with_an_error(page: Page) -> None:
    page.goto("/sign-in/")
    page.get_by_role("button", name="Email me a sign-in link").tap()
    expect(page.get_by_label("Your email address")).to_have_attribute("aria-invalid", "true")
    assert_fits_a_phone(page)


def test_check_your_email_page(page: Page, patient: Patient) -> None:
    page.goto("/sign-in/")
    page.get_by_label("Your email address").fill(patient.email)
    page.get_by_role("button", name="Email me a sign-in link").tap()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert_fits_a_phone(page)


def test_sign_in_link_page(page: Page, patient: Patient) -> None:
    page.goto(login_path(patient))
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    expect(page.get_by_label(PASTE_LINK_LABEL)).to_be_hidden()  # the script has the token
    assert_fits_a_phone(page)


def test_sign_in_link_page_without_the_links_code(page: Page) -> None:
    """As a phone without JavaScript shows it: the field to paste the link in."""
    page.goto("/l/")
    expect(page.get_by_label(PASTE_LINK_LABEL)).to_be_visible()
    assert_fits_a_phone(page)


def test_sign_in_link_page_sent_with_nothing_pasted(page: Page) -> None:
    page.goto("/l/")
    page.get_by_role("button", name="Sign in").tap()
    expect(page.get_by_label(PASTE_LINK_LABEL)).to_have_attribute("aria-invalid", "true")
    assert_fits_a_phone(page)


@pytest.mark.parametrize("problem", ["unknown", "expired", "used"])
def test_link_problem_page(
    new_context: Callable[..., BrowserContext], patient: Patient, problem: str
) -> None:
    page = new_context().new_page()
    if problem == "unknown":
        path = "/l/#this-is-not-a-sign-in-link"
    elif problem == "expired":
        url = login_links.issue_login_link(
            patient=patient, at=timezone.now() - dt.timedelta(days=30)
        )
        path = url.removeprefix(settings.SITE_URL)
    else:
        path = login_path(patient)
        sign_in_first = new_context().new_page()  # another phone used it
        sign_in_first.goto(path)
        sign_in_first.get_by_role("button", name="Sign in").tap()
        expect(sign_in_first.get_by_role("heading", name=f"Hello, {patient.name}")).to_be_visible()
    page.goto(path)
    page.get_by_role("button", name="Sign in").tap()
    expect(page.get_by_role("heading", name="This link can't be used")).to_be_visible()
    assert_fits_a_phone(page)


# Home


HOME_STATES: dict[str, Callable[[Patient], object]] = {
    "no treatment yet": lambda p: None,
    "before today's check-in, yesterday missed": lambda p: treated(p, days_ago=5),
    "treatment in three days": lambda p: treated(p, days_ago=-3),
    "on day 0": lambda p: treated(p, days_ago=0),
    **{f"checked in, {status}": make for status, (make, _) in STATUSES.items()},
    "diary finished": lambda p: treated(p, days_ago=31),
}


@pytest.mark.parametrize("state", HOME_STATES)
def test_home(page: Page, patient: Patient, state: str) -> None:
    HOME_STATES[state](patient)
    sign_in(page, patient)
    assert_fits_a_phone(page)


# The check-in


def test_check_in_page(page: Page, patient: Patient, treatment: Treatment) -> None:
    sign_in(page, patient)
    page.goto("/check-in/")
    expect(page.get_by_role("heading", name="How are these today?")).to_be_visible()
    assert_fits_a_phone(page)


def test_check_in_page_warning_signs_first(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    sign_in(page, patient)
    page.get_by_role("link", name="Something feels wrong — tell us now").tap()
    expect(page.get_by_role("button", name="Send now")).to_be_visible()
    assert_fits_a_phone(page)


def test_check_in_page_with_errors(page: Page, patient: Patient, treatment: Treatment) -> None:
    sign_in(page, patient)
    page.goto("/check-in/")
    page.get_by_role("button", name="Send my check-in").tap()
    expect(page.get_by_role("heading", name="Please check your answers")).to_be_visible()
    assert_fits_a_phone(page)


def test_check_in_page_for_yesterday(page: Page, patient: Patient, treatment: Treatment) -> None:
    sign_in(page, patient)
    page.get_by_role("link", name="Fill in yesterday's check-in").tap()
    expect(page.get_by_role("heading", name="Yesterday, day 4")).to_be_visible()
    assert_fits_a_phone(page)


def test_check_in_refused_page(page: Page, patient: Patient, treatment: Treatment) -> None:
    sign_in(page, patient)
    page.goto("/check-in/?date=2000-01-01")
    expect(page.get_by_role("heading", name="This check-in can't be saved")).to_be_visible()
    assert_fits_a_phone(page)


def test_check_in_refused_page_with_a_warning_sign_told_to_the_clinic(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    """A warning sign sent for a day that can no longer be filled in (from the phone,
    offline): what to do first, within the first screen, then why it was not saved."""
    factories.create_check_in(treatment=treatment, local_date=patient.today() - dt.timedelta(1))
    sign_in(page, patient)
    page.goto("/check-in/?first=red_flags")
    page.locator("input[name=date]").evaluate(
        "(input, day) => { input.value = day; }",
        (patient.today() - dt.timedelta(days=1)).isoformat(),
    )
    page.locator("label", has=page.locator("input[name=vision][value=yes]")).tap()
    page.get_by_role("button", name="Send now").tap()
    expect(page.get_by_role("heading", name="This check-in can't be saved")).to_be_visible()
    emergency = page.get_by_role("link", name="Call 911 now")
    expect(emergency).to_be_in_viewport()
    expect(page.get_by_role("alert")).to_contain_text("Your clinic has been told")
    assert_fits_a_phone(page)


@pytest.mark.parametrize("status", STATUSES)
def test_result_page(page: Page, patient: Patient, status: str) -> None:
    make, headline = STATUSES[status]
    check_in = make(patient)
    assert check_in.status == status
    sign_in(page, patient)
    page.goto(f"/check-ins/{check_in.public_id}/")
    expect(page.get_by_role("heading", name=headline)).to_be_visible()
    assert_fits_a_phone(page)


# My recovery


def test_my_recovery_with_its_charts(page: Page, patient: Patient) -> None:
    treatment = treated(patient, days_ago=12)
    for day in range(13):
        if day == 6:
            continue  # a missed day breaks the lines
        fading = max(0, 2 - day // 4)
        factories.create_check_in(
            treatment=treatment,
            local_date=treatment.treated_on + dt.timedelta(days=day),
            swelling=fading,
            redness=max(0, fading - 1),
            bruising=fading,
            lumps=1 if day >= 9 else 0,
            pain=max(0, 1 - day // 3),
        )
    sign_in(page, patient)
    page.get_by_role("link", name="My recovery").tap()
    expect(page.get_by_role("img", name="Swelling")).to_be_visible()
    expect(page.locator("svg.chart-svg")).to_have_count(6)
    assert_fits_a_phone(page)
    # Issue 11: the axis labels were 10.5px on a 360px phone; at least 12px now.
    smallest = page.evaluate(
        """Math.min(...Array.from(document.querySelectorAll(".chart .axis"), (label) => {
            const svg = label.ownerSVGElement;
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return parseFloat(getComputedStyle(label).fontSize) * scale;
        }))"""
    )
    assert smallest >= 12, f"a chart label is {smallest:.1f}px"
    expect(page.locator(".chart-key").first).to_contain_text("usual for this treatment")
    expect(page.locator("path.missed")).to_have_count(6)  # day 6, on each of the six charts
    screenshot(page, "my-recovery-360")

    page.get_by_text("Show the same as a table").tap()
    # The header, the twelve days checked in and the missed day 6, in words.
    expect(page.get_by_role("row")).to_have_count(14)
    expect(page.get_by_role("row", name="6 Missed")).to_be_visible()
    assert_fits_a_phone(page)


def test_my_recovery_before_any_check_in(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    sign_in(page, patient)
    page.goto("/my-recovery/")
    expect(page.get_by_role("heading", name="My recovery")).to_be_visible()
    assert_fits_a_phone(page)


def test_inline_links_let_off_the_tap_target_size(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    """The links that tap_targets() lets off are the ones inside a sentence, and no others."""
    sign_in(page, patient)
    assert sorted(tap_targets(page)["exempt"]) == sorted(['<a> "+1 (555) 010-2999"', '<a> "911"'])


def test_the_checks_can_fail(page: Page) -> None:
    """axe runs under the site's Content-Security-Policy, and each check catches its defect."""
    page.goto("/sign-in/")
    assert page_problems(page) == []
    page.evaluate(
        """() => {
          const main = document.querySelector("main");
          main.insertAdjacentHTML("beforeend",
            '<img src="data:,"><button class="tiny">Go</button><div class="wide">x</div>');
          main.querySelector(".tiny").style.height = "20px";
          main.querySelector(".wide").style.width = "500px";
        }"""
    )
    problems = page_problems(page)
    assert any(p.startswith("axe: image-alt (critical)") and "img" in p for p in problems)
    assert any(p.startswith("the page is") for p in problems)
    assert 'tap target: <button> "Go" is 20.0px tall' in problems


# Reminders


@pytest.mark.parametrize("push", ["by email", "by push"])
def test_reminders_page(
    page: Page, patient: Patient, treatment: Treatment, push: str, settings: object
) -> None:
    if push == "by push":
        # Any key pair turns on the "notifications on this phone" buttons.
        settings.VAPID_PUBLIC_KEY = (  # type: ignore[attr-defined]
            "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U"
        )
        settings.VAPID_PRIVATE_KEY = "not used: nothing is sent here"  # type: ignore[attr-defined]
    sign_in(page, patient)
    page.goto("/reminders/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    button = page.get_by_role("button", name="Turn on notifications on this phone")
    expect(button).to_have_count(1 if push == "by push" else 0)
    assert_fits_a_phone(page)
