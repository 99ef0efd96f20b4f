"""A patient's long-term check-in in Chromium at 360×640 (issue 13): months after
Bellafill they answer yes from the home page and are told to call, with the numbers one
tap away; axe-clean, with large tap targets, at every step."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from recovery import course
from recovery.models import Alert, Clinic, LateCheck
from tests import factories
from tests.browser import axe_violations, screenshot, tap_targets

SIZES = {"phone": (360, 640), "tablet": (768, 1024), "desk": (1280, 800)}


@pytest.mark.parametrize("size", list(SIZES))
def test_a_patient_months_on_reports_a_new_lump(
    new_context: object, live_server: LiveServer, clinic: Clinic, size: str
) -> None:
    patient = factories.create_patient(clinic=clinic, name="Hugo Due")
    three_months_ago = course.add_months(timezone.localdate(), -3)
    factories.create_treatment(patient=patient, treated_on=three_months_ago)
    width, height = SIZES[size]
    context: BrowserContext = new_context(  # type: ignore[operator]
        viewport={"width": width, "height": height}
    )
    page: Page = context.new_page()
    client = Client()
    client.force_login(patient.user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )

    page.goto("/")
    page.get_by_role("link", name="Answer your long-term check-in").click()
    expect(page.get_by_role("heading", name="Long-term check-in", exact=True)).to_be_visible()
    assert axe_violations(page) == []
    assert tap_targets(page)["small"] == []
    screenshot(page, f"long-term-form-{size}")

    page.get_by_role("radio", name="Yes").check()
    page.get_by_role("checkbox", name="Recent dental work?").check()
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("heading", name="Please contact Riverside Skin Clinic")).to_be_visible()
    call = page.get_by_role("link", name="Call Riverside Skin Clinic")
    expect(call.first).to_have_attribute("href", clinic.phone_uri)
    if size == "phone":  # what to do and the number to call, on the first screen
        box = call.first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= height
    assert axe_violations(page) == []
    assert tap_targets(page)["small"] == []
    screenshot(page, f"long-term-answer-{size}")
    check = LateCheck.objects.get()
    assert check.lump and check.recent_dental_work
    assert Alert.objects.get().reasons == [course.LATE_LUMP]
