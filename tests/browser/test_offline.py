"""The installable app offline: the service worker, the manifest, and a check-in made
without a connection that is kept on the phone and sent once, and only once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from playwright.sync_api import BrowserContext, Page, expect

from recovery.models import CheckIn, Clinic, Patient, Treatment
from tests.browser import axe_violations, sign_in
from tests.browser.test_patient_journey import ALL_NONE, answer_red_flags, rate

SAVED = "Saved on this phone — it will be sent when you are back online"


def controlled_check_in_page(page: Page, patient: Patient) -> None:
    """Sign in, let the service worker take control, then open today's check-in."""
    sign_in(page, patient)
    wait_for_controller(page)
    page.goto("/check-in/")
    expect(page.get_by_role("heading", name="Warning signs")).to_be_visible()


def wait_for_controller(page: Page) -> None:
    """Wait until the service worker controls the page (polled with evaluate, which the
    page's CSP allows, unlike wait_for_function's string evaluation)."""
    for _ in range(100):
        if page.evaluate("Boolean(navigator.serviceWorker && navigator.serviceWorker.controller)"):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the service worker did not take control of the page in 10s")


def queued(page: Page) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = page.evaluate("AftercareOutbox.outbox.all()")
    return items


def wait_until_sent(page: Page) -> None:
    """Wait until the phone's outbox is empty (asked of the browser: the server's
    thread is left alone meanwhile, as SQLite allows one writer at a time)."""
    for _ in range(100):
        if page.evaluate("AftercareOutbox.outbox.all().then((items) => items.length)") == 0:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"still in the outbox after 10s: {queued(page)}")


def save_offline(
    page: Page, context: BrowserContext, *, red_flags: frozenset[str] = frozenset()
) -> None:
    context.set_offline(True)
    rate(page, ALL_NONE)
    answer_red_flags(page, yes=red_flags)
    page.get_by_role("button", name="Send my check-in").tap()
    expect(page.get_by_text(SAVED)).to_be_visible()


def test_service_worker_controls_the_page_and_the_app_is_installable(
    page: Page, clinic: Clinic, patient: Patient, treatment: Treatment
) -> None:
    sign_in(page, patient)
    wait_for_controller(page)
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == page.evaluate("location.origin") + "/"

    manifest = page.evaluate("fetch('/manifest.webmanifest').then((r) => r.json())")
    assert manifest["name"] == f"Aftercare · {clinic.name}"
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/"
    for icon in manifest["icons"]:
        size = page.evaluate(
            """(src) => new Promise((resolve) => {
                const image = new Image();
                image.onload = () => resolve(`${image.naturalWidth}x${image.naturalHeight}`);
                image.onerror = () => resolve("broken");
                image.src = src;
            })""",
            icon["src"],
        )
        assert size == icon["sizes"]

    cdp = page.context.new_cdp_session(page)
    assert cdp.send("Page.getAppManifest").get("errors") == []
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # The test's browser contexts are incognito ones, which Chromium never installs from.
    assert [e for e in errors if e["errorId"] != "in-incognito"] == []


def test_pages_the_patient_opened_are_readable_offline(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    controlled_check_in_page(page, patient)
    page.goto("/my-recovery/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.context.set_offline(True)

    page.goto("/check-in/")
    expect(page.get_by_role("heading", name="Warning signs")).to_be_visible()
    page.goto("/my-recovery/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.context.set_offline(False)


def test_a_check_in_made_offline_is_sent_once_when_back_online(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    controlled_check_in_page(page, patient)
    save_offline(page, page.context)

    assert CheckIn.objects.count() == 0
    [item] = queued(page)
    assert item["date"] == patient.today().isoformat()
    assert dict(item["fields"])["csrfmiddlewaretoken"]
    assert axe_violations(page) == []

    page.context.set_offline(False)
    expect(page.get_by_text("Your check-in saved on this phone has been sent.")).to_be_visible()
    wait_until_sent(page)
    check_in = CheckIn.objects.get(treatment=treatment)
    assert check_in.local_date == patient.today()
    assert str(check_in.idempotency_key) == item["key"]


def test_the_same_queued_check_in_sent_twice_gives_one_check_in(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    controlled_check_in_page(page, patient)
    save_offline(page, page.context)
    # The same item twice in the outbox (as a double tap, or two senders, would make).
    page.evaluate(
        """async () => {
            const [item] = await AftercareOutbox.outbox.all();
            const copy = {...item};
            delete copy.id;
            await AftercareOutbox.outbox.add(copy);
        }"""
    )
    assert len(queued(page)) == 2

    page.context.set_offline(False)
    wait_until_sent(page)
    # And once more, by hand, with both senders (the page's and the worker's).
    page.evaluate(
        """async (item) => {
            await AftercareOutbox.outbox.add(item);
            await AftercareOutbox.outbox.add(item);
            await AftercareOutbox.sendQueued();
        }""",
        queued_item_fields(page, treatment),
    )
    page.evaluate(
        """() => navigator.serviceWorker.ready.then(
            (r) => r.active.postMessage("send-outbox"))"""
    )
    wait_until_sent(page)
    page.wait_for_timeout(500)
    assert CheckIn.objects.filter(treatment=treatment).count() == 1


def queued_item_fields(page: Page, treatment: Treatment) -> dict[str, Any]:
    """An outbox item replaying the check-in the server already has (same key)."""
    check_in = CheckIn.objects.get(treatment=treatment)
    token = page.evaluate("document.querySelector('input[name=csrfmiddlewaretoken]').value")
    fields = [
        ["csrfmiddlewaretoken", token],
        ["date", check_in.local_date.isoformat()],
        ["idempotency_key", str(check_in.idempotency_key)],
        *[
            [symptom, "0"]
            for symptom in ("swelling", "redness", "bruising", "lumps", "pain", "itching")
        ],
        *[
            [flag, "no"]
            for flag in ("skin_color", "severe_pain", "vision", "stroke", "infection", "allergy")
        ],
    ]
    return {"fields": fields, "action": "/check-in/", "key": str(check_in.idempotency_key)}


def test_a_red_flag_offline_shows_the_urgent_guidance_at_once(
    page: Page, clinic: Clinic, patient: Patient, treatment: Treatment
) -> None:
    controlled_check_in_page(page, patient)
    save_offline(page, page.context, red_flags=frozenset({"vision"}))

    expect(
        page.get_by_role(
            "heading", name=f"Contact {clinic.name} now — you need to be seen in person today"
        )
    ).to_be_visible()
    call_emergency = page.get_by_role("link", name=f"Call {clinic.emergency_number} now")
    expect(call_emergency).to_have_attribute("href", "tel:911")
    expect(call_emergency).to_be_in_viewport()
    expect(page.get_by_role("link", name=f"Call {clinic.name}: {clinic.phone}")).to_have_attribute(
        "href", clinic.phone_uri
    )
    expect(
        page.get_by_role("link", name=f"Clinic closed? Call {clinic.after_hours_phone}")
    ).to_have_attribute("href", clinic.after_hours_uri)
    expect(page.get_by_text("You told us about a change in your eyesight or eyes.")).to_be_visible()
    assert axe_violations(page) == []

    page.context.set_offline(False)
    wait_until_sent(page)
    assert CheckIn.objects.get(treatment=treatment).red_flags == ["vision"]


def test_a_queued_check_in_too_old_to_send_is_refused_with_a_message(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    controlled_check_in_page(page, patient)
    save_offline(page, page.context)

    # The phone stays offline for two days: the check-in is now too old to count.
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=2), tick=True):
        page.context.set_offline(False)
        wait_until_sent(page)
        refused = page.get_by_text("Your check-in saved on this phone could not be sent.")
        expect(refused).to_be_visible()
        expect(refused).to_contain_text("can no longer be filled in")
        assert axe_violations(page) == []
    assert CheckIn.objects.count() == 0
