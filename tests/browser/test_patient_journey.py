"""A patient's day on a 360px phone: sign in from the link, check in, be told what to do."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

from playwright.sync_api import BrowserContext, FloatRect, Locator, Page, expect

from recovery.models import CheckIn, Clinic, Patient, Treatment
from tests.browser import box_in_first_screen, login_path, page_problems, screenshot, sign_in

# A distinctive part of each red-flag question, to find its group by.
RED_FLAG_QUESTIONS = {
    "skin_color": "white or pale patch",
    "severe_pain": "Is the pain severe",
    "vision": "change in your eyesight",
    "stroke": "Sudden trouble speaking",
    "infection": "Fever or chills",
    "allergy": "Hives",
}
RESULT_URL = re.compile(r"/check-ins/[0-9a-f-]{36}/$")
ALL_NONE = dict.fromkeys(
    ["Swelling", "Redness", "Bruising", "Lumps or bumps", "Pain or tenderness", "Itching"], "None"
)


def rate(page: Page, ratings: dict[str, str]) -> None:
    """Tap one option per symptom, e.g. "Mild" within the "Swelling" group."""
    for symptom, word in ratings.items():
        option = page.get_by_role("group", name=symptom, exact=True).get_by_label(word)
        option.tap()
        expect(option).to_be_checked()


def answer_red_flags(page: Page, yes: frozenset[str] = frozenset()) -> None:
    """Answer the warning signs as the patient's page asks them: tick each sign in `yes`,
    or "None of these" when it is empty."""
    for code in yes:
        sign = page.get_by_role("checkbox", name=re.compile(re.escape(RED_FLAG_QUESTIONS[code])))
        sign.tap()
        expect(sign).to_be_checked()
    if not yes:
        none = page.get_by_role("checkbox", name="None of these", exact=True)
        none.tap()
        expect(none).to_be_checked()


def test_static_files_are_served(page: Page) -> None:
    with (
        page.expect_response(re.compile(r"/static/css/app\.css$")) as css,
        page.expect_response(re.compile(r"/static/js/offline\.js$")) as js,
    ):
        page.goto("/sign-in/")
    assert css.value.status == 200
    assert js.value.status == 200
    # The stylesheet is applied (the page's wash); a patient's page has no htmx.
    assert (
        page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        == "rgb(243, 245, 248)"
    )
    assert page.evaluate("typeof window.htmx") == "undefined"

    # The clinic's pages have htmx and their own stylesheet.
    with page.expect_response(re.compile(r"/static/css/clinic\.css$")) as clinic_css:
        page.goto("/clinic/sign-in/")
    assert clinic_css.value.status == 200
    expect(page.locator("body[hx-boost]")).to_have_count(1)
    for _ in range(50):
        if page.evaluate("typeof window.htmx") == "object":
            break
        page.wait_for_timeout(100)
    assert page.evaluate("typeof window.htmx") == "object"


def test_red_flag_at_the_daily_check_in_tells_the_patient_to_call_now(
    page: Page, clinic: Clinic, patient: Patient, treatment: Treatment
) -> None:
    page.goto(login_path(patient))
    page.get_by_role("button", name="Sign in").tap()

    day = treatment.day_on(patient.today())
    expect(page.get_by_text(f"Day {day} after your treatment")).to_be_visible()
    page.get_by_role("link", name="Check in for today").tap()
    expect(page.get_by_role("heading", name=f"Today, day {day}")).to_be_visible()
    rate(
        page,
        {
            "Swelling": "Mild",
            "Redness": "Mild",
            "Bruising": "Moderate",
            "Lumps or bumps": "None",
            "Pain or tenderness": "Mild",
            "Itching": "None",
        },
    )
    answer_red_flags(page, yes=frozenset({"vision"}))
    screenshot(page, "check-in-360")
    page.get_by_role("button", name="Send my check-in").tap()
    expect(page).to_have_url(RESULT_URL)

    expect(page.get_by_role("heading", name=f"Call {clinic.emergency_number} now")).to_be_visible()
    call_emergency = page.get_by_role("link", name=f"Call {clinic.emergency_number} now")
    expect(call_emergency).to_have_attribute("href", "tel:911")
    # On the first screen of a small phone, without scrolling: htmx shows the
    # top of a boosted form's result once it has settled.
    expect(call_emergency).to_be_in_viewport(ratio=1)
    assert page.evaluate("window.scrollY") == 0
    assert box_in_first_screen(call_emergency.bounding_box())
    call_clinic = page.get_by_role("link", name=f"Call {clinic.name}: {clinic.phone}")
    expect(call_clinic).to_have_attribute("href", "tel:+15550102000")
    assert box_in_first_screen(call_clinic.bounding_box())
    screenshot(page, "urgent-result-360")

    check_in = CheckIn.objects.get()
    assert check_in.status == "urgent"
    assert check_in.red_flags == ["vision"]
    assert (check_in.swelling, check_in.bruising, check_in.itching) == (1, 2, 0)


def test_something_feels_wrong_asks_the_warning_signs_first(
    page: Page, clinic: Clinic, patient: Patient, treatment: Treatment
) -> None:
    sign_in(page, patient)
    page.get_by_role("link", name="Something feels wrong — tell us now").tap()

    warning_signs = page.get_by_role("heading", name="Warning signs")
    ratings = page.get_by_role("heading", name="How are these today?")
    expect(warning_signs).to_be_visible()
    assert warning_signs.bounding_box()["y"] < ratings.bounding_box()["y"]  # type: ignore[index]
    answer_red_flags(page, yes=frozenset({"infection"}))
    page.get_by_role("button", name="Send now").tap()
    expect(page).to_have_url(RESULT_URL)

    expect(
        page.get_by_role(
            "heading", name=f"Contact {clinic.name} now — you need to be seen in person today"
        )
    ).to_be_visible()
    expect(page.get_by_role("link", name=f"Call {clinic.name}: {clinic.phone}")).to_be_visible()
    # An infection is urgent for the clinic, not a call to the emergency number.
    expect(page.get_by_role("link", name="Call 911 now")).to_have_count(0)
    check_in = CheckIn.objects.get()
    assert (check_in.status, check_in.red_flags) == ("urgent", ["infection"])
    assert check_in.swelling is None


def test_warning_signs_stay_first_after_a_form_error(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    sign_in(page, patient)
    page.get_by_role("link", name="Something feels wrong — tell us now").tap()
    page.get_by_role("button", name="Send now").tap()

    expect(page.get_by_role("alert")).to_contain_text("Please check your answers")
    warning_signs = page.get_by_role("heading", name="Warning signs")
    ratings = page.get_by_role("heading", name="How are these today?")
    assert warning_signs.bounding_box()["y"] < ratings.bounding_box()["y"]  # type: ignore[index]
    expect(page.get_by_role("button", name="Send now")).to_be_visible()


def test_one_yes_is_enough_to_be_told_what_to_do(
    page: Page, clinic: Clinic, patient: Patient, treatment: Treatment
) -> None:
    sign_in(page, patient)
    page.get_by_role("link", name="Something feels wrong — tell us now").tap()
    page.get_by_role("checkbox", name=re.compile(re.escape(RED_FLAG_QUESTIONS["vision"]))).tap()
    page.get_by_role("button", name="Send now").tap()
    expect(page).to_have_url(RESULT_URL)

    expect(page.get_by_role("heading", name=f"Call {clinic.emergency_number} now")).to_be_visible()
    expect(page.get_by_role("link", name="Call 911 now")).to_be_in_viewport(ratio=1)
    check_in = CheckIn.objects.get()
    assert (check_in.status, check_in.red_flags) == ("urgent", ["vision"])


def test_a_check_in_works_without_javascript(
    new_context: Callable[..., BrowserContext], patient: Patient, treatment: Treatment
) -> None:
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, patient, javascript=False)
    page.get_by_role("link", name="Check in for today").tap()
    rate(page, ALL_NONE)
    answer_red_flags(page)
    page.get_by_role("button", name="Send my check-in").tap()

    expect(page.get_by_role("heading", name="You're on track")).to_be_visible()
    assert re.search(r"/check-ins/[0-9a-f-]{36}/$", page.url)
    assert CheckIn.objects.get().status == "on_track"


def test_the_check_in_is_sent_from_the_page_and_a_mistake_is_shown_in_place(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    """offline.js sends the check-in itself (so that a send that fails is kept on the
    phone); the server's answer takes the page's place, with its address."""
    sign_in(page, patient)
    page.get_by_role("link", name="Check in for today").tap()
    expect(page.get_by_role("heading", name=re.compile(r"^Today, day"))).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    # Nothing answered: the errors replace the form in place.
    with page.expect_request(re.compile(r"/check-in/$")) as sent:
        page.get_by_role("button", name="Send my check-in").tap()
    assert sent.value.method == "POST"
    expect(page.get_by_role("alert")).to_contain_text("Please check your answers")
    expect(page.get_by_role("group", name="Swelling", exact=True)).to_have_accessible_description(
        re.compile("swelling", re.IGNORECASE)
    )
    expect(page.get_by_role("group", name="Warning signs")).to_have_accessible_description(
        re.compile("Tick each warning sign you have")
    )
    assert CheckIn.objects.count() == 0

    rate(page, ALL_NONE)
    answer_red_flags(page)
    page.get_by_role("button", name="Send my check-in").tap()
    expect(page.get_by_role("heading", name="You're on track")).to_be_visible()
    expect(page).to_have_url(RESULT_URL)
    assert page.evaluate("window.stillTheSamePage") is True
    assert CheckIn.objects.get().status == "on_track"
    # Back: the check-in page again, loaded afresh.
    page.go_back()
    expect(page.get_by_role("heading", name=re.compile(r"^Today, day"))).to_be_visible()


def test_a_check_in_whose_send_gets_no_answer_is_kept_on_the_phone(
    page: Page,
    patient: Patient,
    treatment: Treatment,
    failing_on_purpose: list[re.Pattern[str]],
) -> None:
    """Online by the phone's reckoning, but the send gets no answer: the answers are kept
    on the phone, not lost with a browser error page, and sent once from there."""
    # The phone's clock at the server's: what is kept is dated by the phone's calendar.
    page.context.clock.set_system_time(dt.datetime.now(dt.UTC))
    sign_in(page, patient)
    page.get_by_role("link", name="Check in for today").tap()
    rate(page, ALL_NONE)
    answer_red_flags(page)
    key = page.locator("input[name=idempotency_key]").input_value()
    failing_on_purpose.append(re.compile(r"/check-in/$"))
    page.route(re.compile(r"/check-in/$"), lambda route: route.abort("connectionfailed"))
    page.get_by_role("button", name="Send my check-in").tap()

    expect(page.get_by_text("Saved on this phone").first).to_be_visible()
    # The connection is back: the service worker sends what the phone kept, once.
    page.unroute(re.compile(r"/check-in/$"))
    page.evaluate(
        """() => navigator.serviceWorker.ready.then(
            (r) => r.active.postMessage("send-outbox"))"""
    )
    for _ in range(100):
        if CheckIn.objects.filter(idempotency_key=key).exists() and not page.evaluate(
            "AftercareOutbox.outbox.all().then((items) => items.length)"
        ):
            break
        page.wait_for_timeout(100)
    assert CheckIn.objects.get().idempotency_key == uuid.UUID(key)


def in_a_small_phone(box: FloatRect | None) -> bool:
    """Wholly inside a 360x640 screen, without scrolling."""
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 640


def test_on_a_small_phone_every_number_to_call_is_in_the_first_screen(
    new_context: Callable[..., BrowserContext],
    clinic: Clinic,
    patient: Patient,
    treatment: Treatment,
) -> None:
    """Issue 11: for eyesight, stroke and allergy the first and largest words are "Call 911
    now"; the after-hours number was cut by 19 px on a 360x640 phone, and a contact-clinic
    result showed only the daytime number."""
    page = new_context(viewport={"width": 360, "height": 640}).new_page()
    sign_in(page, patient)
    page.get_by_role("link", name="Something feels wrong — tell us now").tap()
    answer_red_flags(page, yes=frozenset({"vision"}))
    page.get_by_role("button", name="Send now").tap()
    expect(page).to_have_url(RESULT_URL)

    heading = page.get_by_role("heading", level=2).first
    expect(heading).to_have_text(f"Call {clinic.emergency_number} now")
    emergency = page.get_by_role("link", name=f"Call {clinic.emergency_number} now")
    daytime = page.get_by_role("link", name=f"Call {clinic.name}: {clinic.phone}")
    after_hours = page.get_by_role("link", name=f"Clinic closed? Call {clinic.after_hours_phone}")
    expect(after_hours).to_be_visible()
    for link in (emergency, daytime, after_hours):
        assert in_a_small_phone(link.bounding_box()), link
    expect(page.get_by_text(f"Then: Contact {clinic.name} now")).to_be_visible()

    # A contact-clinic day (a severe symptom) offers the after-hours number too.
    page.goto("/check-in/")
    rate(page, dict.fromkeys(("Swelling", "Redness", "Bruising", "Itching"), "None"))
    rate(page, {"Lumps or bumps": "None", "Pain or tenderness": "Severe"})
    answer_red_flags(page)
    page.get_by_role("button", name="Send my check-in").tap()
    expect(page.get_by_role("heading", name=f"Please contact {clinic.name} today")).to_be_visible()
    after_hours = page.get_by_role("link", name=f"Clinic closed? Call {clinic.after_hours_phone}")
    assert in_a_small_phone(after_hours.bounding_box())


def test_signing_out_asks_first(page: Page, patient: Patient, treatment: Treatment) -> None:
    """Issue 11: one tap signed the patient out, and getting back needs an emailed link."""
    sign_in(page, patient)
    page.locator("summary", has_text="Sign out").tap()
    warning = page.get_by_text("To sign in again you will need a new link from your clinic")
    expect(warning).to_be_visible()
    confirm = page.get_by_role("button", name="Sign out now")
    assert box_in_first_screen(confirm.bounding_box())
    screenshot(page, "sign-out-asks-360")
    page.locator("summary", has_text="Sign out").tap()  # changed their mind
    expect(warning).to_be_hidden()
    expect(page.get_by_role("heading", name=f"Hello, {patient.name}")).to_be_visible()

    page.locator("summary", has_text="Sign out").tap()
    confirm.tap()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()


def test_an_all_clear_day_takes_four_taps_on_two_screens(
    new_context: Callable[..., BrowserContext], patient: Patient, treatment: Treatment
) -> None:
    """Issue 11: an all-clear check-in was 14 taps on a form 5.3 screens tall. Now: "Check
    in", "all six None", "None of these", "Send" (at most 8), on at most two screens of a
    360x640 phone, every warning sign still shown in words and nothing answered for the
    patient."""
    page = new_context(viewport={"width": 360, "height": 640}).new_page()
    sign_in(page, patient)
    taps = 0

    def tap(target: Locator) -> None:
        nonlocal taps
        target.tap()
        taps += 1

    tap(page.get_by_role("link", name="Check in for today"))
    form = page.locator("form.check-in-form")
    expect(form).to_be_visible()
    height = form.bounding_box()["height"]  # type: ignore[index]
    screenshot(page, "all-clear-form-360x640")
    assert height <= 2 * 640, f"the form is {height:.0f}px tall: {height / 640:.2f} screens"
    # Nothing is answered before the patient answers it.
    assert page.locator("form.check-in-form input:checked").count() == 0
    for words in RED_FLAG_QUESTIONS.values():
        expect(page.get_by_role("checkbox", name=re.compile(re.escape(words)))).to_be_visible()
    assert page_problems(page) == []

    tap(page.get_by_role("button", name="None of these: all six None"))
    for symptom in ALL_NONE:
        group = page.get_by_role("group", name=symptom, exact=True)
        expect(group.get_by_label("None", exact=True)).to_be_checked()
    tap(page.get_by_role("checkbox", name="None of these", exact=True))
    tap(page.get_by_role("button", name="Send my check-in"))

    expect(page.get_by_role("heading", name="You're on track")).to_be_visible()
    assert taps <= 8
    check_in = CheckIn.objects.get()
    assert (check_in.status, check_in.red_flags) == ("on_track", [])
    assert [rating for _, rating in check_in.ratings()] == [0] * 6


def test_ticking_a_warning_sign_says_what_to_do_at_once(
    new_context: Callable[..., BrowserContext],
    clinic: Clinic,
    patient: Patient,
    treatment: Treatment,
) -> None:
    """Issue 11: a yes said what to do only after sending. Now the page says it as soon as
    the sign is ticked, "Call 911 now" first for the eyesight, with "Send now" on screen;
    "None of these" and the signs exclude each other."""
    page = new_context(viewport={"width": 360, "height": 640}).new_page()
    sign_in(page, patient)
    page.get_by_role("link", name="Check in for today").tap()
    none = page.get_by_role("checkbox", name="None of these", exact=True)
    none.tap()
    vision = page.get_by_role("checkbox", name=re.compile(re.escape(RED_FLAG_QUESTIONS["vision"])))
    vision.tap()
    expect(none).not_to_be_checked()

    guidance = page.locator("#sign-guidance")
    emergency = guidance.get_by_role("link", name=f"Call {clinic.emergency_number} now")
    expect(emergency).to_be_visible()
    expect(guidance.get_by_role("heading", level=2).first).to_have_text(
        f"Call {clinic.emergency_number} now"
    )
    send_now = guidance.get_by_role("button", name="Send now")
    screenshot(page, "sign-ticked-360x640")
    for target in (emergency, send_now):
        expect(target).to_be_in_viewport(ratio=1)
    assert page_problems(page) == []

    # "None of these" again takes the tick off, and what to do goes with it.
    none.tap()
    expect(vision).not_to_be_checked()
    expect(emergency).to_have_count(0)
    vision.tap()
    send_now.tap()
    expect(page).to_have_url(re.compile(r"/check-ins/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", name=f"Call {clinic.emergency_number} now")).to_be_visible()
    check_in = CheckIn.objects.get()
    assert (check_in.status, check_in.red_flags) == ("urgent", ["vision"])
