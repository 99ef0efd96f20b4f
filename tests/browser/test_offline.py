"""The installable app offline: the service worker, the manifest, and a check-in made
without a connection that is kept on the phone and sent once, and only once.

The phone's clock (Playwright's, for the page's Date) is set to the server's: a check-in
kept on the phone is dated by it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from playwright.sync_api import BrowserContext, FloatRect, Page, expect

from recovery.models import CheckIn, Clinic, Patient, Treatment
from tests import factories
from tests.browser import axe_violations, sign_in
from tests.browser.test_patient_journey import (
    ALL_NONE,
    RED_FLAG_QUESTIONS,
    answer_red_flags,
    rate,
)

SAVED = "Saved on this phone — it will be sent when you are back online"
REFUSED = "Your check-in saved on this phone could not be sent."
RED_FLAGS_FIRST = "/check-in/?first=red_flags"
SMALL_PHONE = {"width": 360, "height": 640}


def set_phone_clock(context: BrowserContext, at: dt.datetime) -> None:
    """Set the phone's clock (Date in its pages) to `at`; it goes on ticking from there."""
    context.clock.set_system_time(at)


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A 360 x 740 phone (as conftest's), its clock at the server's."""
    context = new_context()
    set_phone_clock(context, dt.datetime.now(dt.UTC))
    return context.new_page()


def wait_until_kept(page: Page, *paths: str) -> None:
    """Wait until the service worker has kept these pages (asked of the page's CacheStorage)."""
    script = """async (paths) => {
        for (const path of paths) {
            if (!(await caches.match(path, {ignoreVary: true}))) return false;
        }
        return true;
    }"""
    for _ in range(100):
        if page.evaluate(script, list(paths)):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the service worker did not keep {paths} in 10s")


def shot(page: Page, name: str) -> None:
    """With SCREENSHOTS_DIR set, keep a picture of what the phone's screen shows now."""
    if folder := os.environ.get("SCREENSHOTS_DIR"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(folder) / f"{name}.png")


def in_the_screen(page: Page, box: FloatRect | None) -> bool:
    """Whether a bounding box is wholly on the screen as it is scrolled now."""
    size = page.viewport_size
    assert size is not None
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and box["x"] >= 0
        and box["x"] + box["width"] <= size["width"]
    )


def tap_yes(page: Page, code: str) -> None:
    page.get_by_role("checkbox", name=re.compile(re.escape(RED_FLAG_QUESTIONS[code]))).tap()


def controlled_check_in_page(page: Page, patient: Patient) -> None:
    """Sign in, let the service worker take control, then open today's check-in."""
    sign_in(page, patient)
    wait_for_controller(page)
    # Signed in, the service worker fetches what "Something feels wrong" needs offline:
    # let it finish before the test takes the phone offline.
    wait_until_kept(page, "/", RED_FLAGS_FIRST)
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


def wait_until_sent(page: Page, *, but: tuple[str, ...] = ()) -> None:
    """Wait until the phone's outbox is empty, but for the items of these keys (asked of
    the browser: the server's thread is left alone meanwhile, as SQLite allows one writer
    at a time)."""
    script = "AftercareOutbox.outbox.all().then((items) => items.map((item) => item.key))"
    for _ in range(100):
        if sorted(page.evaluate(script)) == sorted(but):
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
    fields = dict(item["fields"])
    assert fields["csrfmiddlewaretoken"]
    assert fields["date"] == patient.today().isoformat()
    # When the patient answered, by the phone's clock, in UTC.
    answered_at = dt.datetime.fromisoformat(fields["answered_at"])
    assert answered_at.utcoffset() == dt.timedelta(0)
    assert abs(answered_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
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

    expect(page.get_by_role("heading", name=f"Call {clinic.emergency_number} now")).to_be_visible()
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
        refused = page.get_by_role("alert").filter(has_text=REFUSED)
        expect(refused).to_be_visible()
        expect(refused).to_contain_text("can no longer be filled in")
        assert axe_violations(page) == []
    assert CheckIn.objects.count() == 0


# A brand-new patient, offline from the first moment after signing in.


def test_a_new_patient_offline_at_once_can_say_something_feels_wrong(
    new_context: Callable[..., BrowserContext],
    clinic: Clinic,
    patient: Patient,
    treatment: Treatment,
) -> None:
    context = new_context(viewport=SMALL_PHONE)
    set_phone_clock(context, dt.datetime.now(dt.UTC))
    page = context.new_page()
    sign_in(page, patient)
    wait_until_kept(page, "/", RED_FLAGS_FIRST)
    context.set_offline(True)

    # The app opened cold, offline: a new page at the manifest's start_url. (The first
    # stays open: closing it, Playwright stops telling the service worker it is offline.)
    page = context.new_page()
    page.goto("/")
    expect(page.get_by_role("heading", name=f"Hello, {patient.name}")).to_be_visible()
    page.get_by_role("link", name="Something feels wrong — tell us now").tap()

    warning_signs = page.get_by_role("heading", name="Warning signs")
    expect(warning_signs).to_be_visible()
    assert page.url.endswith(RED_FLAGS_FIRST)
    ratings = page.get_by_role("heading", name="How are these today?")
    assert warning_signs.bounding_box()["y"] < ratings.bounding_box()["y"]  # type: ignore[index]
    send_now = page.get_by_role("button", name="Send now")
    # On the first screen of a 360 x 640 phone, and still there by the eyesight question.
    assert in_the_screen(page, send_now.bounding_box())
    shot(page, "offline-red-flags-first-360x640")
    assert axe_violations(page) == []
    tap_yes(page, "vision")
    assert in_the_screen(page, send_now.bounding_box())
    send_now.tap()

    # What to do, from what the phone kept: the emergency number first.
    urgent = page.locator(".offline-urgent")
    expect(
        urgent.get_by_role("heading", name=f"Call {clinic.emergency_number} now")
    ).to_be_visible()
    calls = urgent.get_by_role("link")
    expect(calls.first).to_have_text(f"Call {clinic.emergency_number} now")
    expect(calls.first).to_have_attribute("href", "tel:911")
    assert in_the_screen(page, calls.first.bounding_box())
    # The after-hours number too, in the first screen (issue 11: it was below the fold).
    after_hours = urgent.get_by_role("link", name=f"Clinic closed? Call {clinic.after_hours_phone}")
    assert in_the_screen(page, after_hours.bounding_box())
    expect(
        urgent.get_by_role("link", name=f"Call {clinic.name}: {clinic.phone}")
    ).to_have_attribute("href", clinic.phone_uri)
    expect(page.get_by_text(SAVED)).to_be_visible()
    shot(page, "offline-urgent-guidance-360x640")
    assert axe_violations(page) == []
    assert CheckIn.objects.count() == 0
    # A page never opened, offline: home, not the browser's error page.
    page.goto("/my-recovery/")
    expect(page.get_by_role("heading", name=f"Hello, {patient.name}")).to_be_visible()

    context.set_offline(False)
    wait_until_sent(page)
    check_in = CheckIn.objects.get()
    assert (check_in.treatment, check_in.local_date) == (treatment, patient.today())
    assert (check_in.status, check_in.red_flags) == ("urgent", ["vision"])


# A check-in kept on the phone is for the day the patient answered it.


def test_a_warning_sign_answered_offline_on_a_page_kept_yesterday_is_sent_for_today(
    page: Page, clinic: Clinic, patient: Patient, treatment: Treatment
) -> None:
    a_day_earlier = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with time_machine.travel(a_day_earlier, tick=True):
        set_phone_clock(page.context, a_day_earlier)
        sign_in(page, patient)
        wait_for_controller(page)
        wait_until_kept(page, "/", RED_FLAGS_FIRST)
        page.goto(RED_FLAGS_FIRST)  # kept on the phone, made for that day
        expect(page.get_by_role("heading", name="Warning signs")).to_be_visible()
    set_phone_clock(page.context, dt.datetime.now(dt.UTC))
    today = patient.today()

    page.context.set_offline(True)
    page.goto(RED_FLAGS_FIRST)
    day = treatment.day_on(today)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Today, day {day}")
    tap_yes(page, "severe_pain")
    page.get_by_role("button", name="Send now").tap()
    expect(
        page.get_by_role("heading", name=re.compile(f"Contact {clinic.name} now"))
    ).to_be_visible()
    [item] = queued(page)
    assert dict(item["fields"])["date"] == today.isoformat()

    page.context.set_offline(False)
    wait_until_sent(page)
    check_in = CheckIn.objects.get()
    assert (check_in.local_date, check_in.red_flags) == (today, ["severe_pain"])


def test_a_refused_check_in_replaces_the_saved_message_and_stays_until_read(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    today = patient.today()
    yesterday = today - dt.timedelta(days=1)
    factories.create_check_in(treatment=treatment, local_date=yesterday)
    # The phone's date is still yesterday's (its clock is a day behind the server's).
    set_phone_clock(page.context, dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    controlled_check_in_page(page, patient)
    save_offline(page, page.context)
    [item] = queued(page)
    assert dict(item["fields"])["date"] == yesterday.isoformat()

    page.context.set_offline(False)
    wait_until_sent(page)
    refused = page.get_by_role("alert").filter(has_text=REFUSED)
    expect(refused).to_contain_text("Yesterday's check-in is already saved")
    # In the place of "it will be sent", not above it.
    expect(page.get_by_text(SAVED)).to_have_count(0)
    expect(page.locator("#offline-state").get_by_role("alert")).to_have_count(1)
    shot(page, "offline-refused-360")
    assert axe_violations(page) == []

    # On every page, by htmx or not, until the patient says they have read it.
    page.get_by_role("link", name="Back to home").tap()
    expect(page.get_by_role("heading", name=f"Hello, {patient.name}")).to_be_visible()
    expect(refused).to_be_visible()
    page.goto("/my-recovery/")
    expect(refused).to_be_visible()
    shot(page, "refused-on-another-page-360")
    assert axe_violations(page) == []
    refused.get_by_role("button", name="I've read this").tap()
    expect(refused).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.wait_for_timeout(300)  # notices are shown after the page has loaded
    expect(refused).to_have_count(0)
    assert CheckIn.objects.filter(local_date=today).count() == 0


def test_a_queued_check_in_replayed_with_other_answers_is_refused_with_a_message(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    controlled_check_in_page(page, patient)
    rate(page, ALL_NONE)
    answer_red_flags(page)
    page.get_by_role("button", name="Send my check-in").tap()
    expect(page.get_by_role("heading", name="You're on track")).to_be_visible()
    item = queued_item_fields(page, treatment)  # the key of the check-in the server has
    item["fields"] = [[n, "2" if n == "swelling" else v] for n, v in item["fields"]]
    page.evaluate(
        """async (item) => {
            await AftercareOutbox.outbox.add(item);
        }""",
        item,
    )
    page.reload()  # the page sends what is queued when it loads

    wait_until_sent(page)
    refused = page.get_by_role("alert").filter(has_text=REFUSED)
    expect(refused).to_contain_text("already sent with other answers")
    assert CheckIn.objects.get().swelling == 0


# A phone shared by two patients: a check-in kept on it is only ever sent as its patient's.


def test_a_check_in_kept_on_a_shared_phone_waits_for_its_patient_to_sign_in_again(
    page: Page, patient: Patient, treatment: Treatment, second_patient: Patient
) -> None:
    context = page.context
    controlled_check_in_page(page, patient)
    save_offline(page, context)
    [anas] = queued(page)
    assert anas["owner"] == str(patient.public_id)
    # A notice about another check-in of hers, not read before she signs out.
    page.evaluate(
        """(owner) => AftercareOutbox.notices.add(
            {kind: "refused", text: "Not for Ben to read.", link: "", key: "", owner: owner})""",
        str(patient.public_id),
    )

    # Ana's sign-out reaches the server while the phone's page is offline (it cannot send
    # her check-in first). Back online, the page tries: no one is signed in, it is kept.
    token = page.locator("form.sign-out input[name=csrfmiddlewaretoken]").input_value()
    signed_out = context.request.post("/sign-out/", form={"csrfmiddlewaretoken": token})
    assert signed_out.ok and signed_out.url.endswith("/sign-in/")
    with page.expect_request_finished(lambda request: "/sign-in/?next=" in request.url):
        context.set_offline(False)
    assert [item["key"] for item in queued(page)] == [anas["key"]]

    # Ben signs in on the same phone: his pages send nothing of Ana's, and show her
    # notices nowhere; his own check-in kept on the phone is sent.
    sent_by_the_page: list[str] = []
    page.on(
        "request",
        lambda request: (
            sent_by_the_page.append(request.post_data or "") if request.method == "POST" else None
        ),
    )
    controlled_check_in_page(page, second_patient)
    save_offline(page, context)
    context.set_offline(False)
    expect(page.get_by_text("Your check-in saved on this phone has been sent.")).to_be_visible()
    wait_until_sent(page, but=(anas["key"],))
    assert [body for body in sent_by_the_page if anas["key"] in body] == []
    bens = CheckIn.objects.get()
    assert bens.treatment.patient == second_patient
    expect(page.get_by_text("Not for Ben to read.")).to_have_count(0)
    # The service worker has no page to say whose a check-in is: it sends them all, the
    # server refuses Ana's (403), and the one after it is sent all the same.
    page.evaluate(
        "(item) => AftercareOutbox.outbox.add(item)", queued_item_fields(page, bens.treatment)
    )
    page.evaluate(
        """() => navigator.serviceWorker.ready.then(
            (r) => r.active.postMessage("send-outbox"))"""
    )
    wait_until_sent(page, but=(anas["key"],))
    assert CheckIn.objects.get() == bens
    page.goto("/")
    expect(page.get_by_role("heading", name=f"Hello, {second_patient.name}")).to_be_visible()
    page.wait_for_timeout(300)  # notices are shown after the page has loaded
    expect(page.get_by_text("Not for Ben to read.")).to_have_count(0)

    # Ben signs out; Ana signs in again: her check-in is sent, as hers, and her notice shown.
    page.locator("summary", has_text="Sign out").tap()
    page.get_by_role("button", name="Sign out now").tap()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    controlled_check_in_page(page, patient)
    expect(page.get_by_text("Your check-in saved on this phone has been sent.")).to_be_visible()
    expect(page.get_by_text("Not for Ben to read.")).to_be_visible()
    wait_until_sent(page)
    assert CheckIn.objects.count() == 2
    check_in = CheckIn.objects.get(treatment=treatment)
    assert str(check_in.idempotency_key) == anas["key"]
