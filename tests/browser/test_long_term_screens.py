"""The clinic's long-term watch in Chromium (issue 13): the dashboard's long-term group and
a timeline with long-term answers, axe-clean and no wider than a phone, tablet or desk."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from recovery import course, long_term
from recovery.models import Clinic, Patient, User
from tests import factories
from tests.browser import axe_violations, screenshot

SIZES = {"phone": (360, 640), "tablet": (768, 1024), "desk": (1280, 800)}


def watched(clinic: Clinic, name: str, *, months: int) -> Patient:
    patient = factories.create_patient(clinic=clinic, name=name)
    today = timezone.localdate()
    factories.create_treatment(patient=patient, treated_on=course.add_months(today, -months))
    return patient


@pytest.mark.parametrize("size", list(SIZES))
def test_the_long_term_group_and_timeline(
    new_context: object, live_server: LiveServer, clinic: Clinic, clinician: User, size: str
) -> None:
    greta = watched(clinic, "Greta Long", months=8)
    watched(clinic, "Hugo Due", months=2)
    now = timezone.now()
    long_term.record_late_check(
        patient=greta,
        answers=long_term.LateAnswers(lump=False),
        entered_by=None,
        at=now - dt.timedelta(days=120),
    )
    long_term.record_late_check(
        patient=greta,
        answers=long_term.LateAnswers(
            lump=True, context=frozenset({"recent_dental_work"}), note="A firm bump"
        ),
        entered_by=None,
        at=now - dt.timedelta(hours=2),
    )
    width, height = SIZES[size]
    context: BrowserContext = new_context(  # type: ignore[operator]
        viewport={"width": width, "height": height}
    )
    page: Page = context.new_page()
    client = Client()
    client.force_login(clinician)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.goto("/clinic/?level=long_term_answered_yes")
    expect(page.get_by_role("heading", name="Triage", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Greta Long")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, f"dashboard-long-term-{size}")
    page.get_by_role("link", name="Greta Long").click()
    expect(page.get_by_role("heading", name="Long-term check-ins")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, f"timeline-long-term-{size}")
