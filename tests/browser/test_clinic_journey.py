"""A clinician at a desk: sign in, see who needs a call first, call them, record the outcome.

On a 1024 x 768 screen (a desk, or a tablet held sideways). The patients' days and the
server's clock are those of the browser tests (tests/browser/conftest.py): 10am in New
York, where the patients live.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, Response, expect

from recovery.models import Alert, AuditEvent, CheckIn, Clinic, Patient, Treatment, Triage, User
from tests import factories

PASSWORD = "a long clinic passphrase"
DESK = {
    "viewport": {"width": 1024, "height": 768},
    "is_mobile": False,
    "has_touch": False,
    "device_scale_factor": 1,
}


@pytest.fixture
def desk(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context(**DESK).new_page()


@pytest.fixture
def nurse(clinic: Clinic) -> User:
    return factories.create_clinician(
        clinic=clinic, email="nina.nurse@riverside.example", password=PASSWORD
    )


def treated(clinic: Clinic, name: str, *, days_ago: int) -> Treatment:
    patient = factories.create_patient(clinic=clinic, name=name)
    return factories.create_treatment(
        patient=patient, treated_on=patient.today() - dt.timedelta(days=days_ago)
    )


def checked_in_today(
    treatment: Treatment, *, red_flags: frozenset[str] = frozenset(), **ratings: int
) -> CheckIn:
    return factories.create_check_in(
        treatment=treatment,
        local_date=treatment.patient.today(),
        red_flags=red_flags,
        **ratings,
    )


@pytest.fixture
def quiet_patients(clinic: Clinic) -> dict[Triage, Patient]:
    """On track, watch, and one who stopped checking in: nobody to call right now."""
    on_track = treated(clinic, "Olga OnTrack", days_ago=5)
    checked_in_today(on_track)
    watch = treated(clinic, "Walt Watch", days_ago=10)
    checked_in_today(watch, swelling=2)
    missed = treated(clinic, "Mia Missed", days_ago=5)  # nothing since the treatment
    people = {
        Triage.ON_TRACK: on_track.patient,
        Triage.WATCH: watch.patient,
        Triage.MISSED_CHECK_IN: missed.patient,
    }
    for level, patient in people.items():
        assert Treatment.objects.get(patient=patient).triage == level
    return people


def sign_in(page: Page, user: User) -> None:
    """Open the dashboard, be sent to the clinic's sign-in, type email and password."""
    page.goto("/clinic/")
    expect(page.get_by_role("heading", name="Clinic staff sign-in")).to_be_visible()
    assert page.url.endswith("/clinic/sign-in/?next=/clinic/")
    page.get_by_label("Email address").press_sequentially(user.email)
    page.get_by_label("Password").press_sequentially(PASSWORD)
    # The page's icon is fetched once it has loaded: let that end before leaving it, as an
    # aborted request counts as a failure.
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Triage", exact=True)).to_be_visible()
    page.wait_for_load_state()
    assert page.url.endswith("/clinic/")


def expect_the_queue(page: Page, names: list[str]) -> None:
    """The dashboard's rows, top to bottom, by the patient's name."""
    expect(page.locator("tr.queue-row").get_by_role("rowheader")).to_have_text(names)


def test_a_clinician_calls_the_red_flag_patient_and_resolves_the_alert(
    desk: Page, clinic: Clinic, nurse: User, quiet_patients: dict[Triage, Patient]
) -> None:
    rosa = treated(clinic, "Rosa RedFlag", days_ago=5)
    checked_in_today(rosa, red_flags=frozenset({"skin_color"}), swelling=1)
    alert = Alert.objects.get(treatment=rosa)
    assert alert.level == "urgent"

    sign_in(desk, nurse)

    # The patient with a warning sign is on top, whatever the order they came in.
    rows = desk.locator("tr.queue-row")
    expect(rows).to_have_count(4)
    expect_the_queue(desk, ["Rosa RedFlag", "Mia Missed", "Walt Watch", "Olga OnTrack"])
    top = rows.first
    expect(top.locator(".triage-tag")).to_have_text("Urgent")
    expect(top).to_contain_text("Warning sign: Pale, mottled or blistered skin near an injection")
    expect(top).to_contain_text("Not acknowledged yet.")
    expect(desk.locator("#level-urgent")).to_have_text("Urgent 1")

    top.get_by_role("link", name="Rosa RedFlag", exact=True).click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Rosa RedFlag")
    panel = desk.get_by_role("article", name="Urgent")
    expect(panel).to_contain_text("Not yet: nobody has said they are calling")

    # "I'm calling them": the panel changes in place, so two people don't call the same patient.
    desk.evaluate("window.stillTheSamePage = true")
    with desk.expect_response(re.compile(r"/acknowledge/$")) as acknowledged:
        panel.get_by_role("button", name="I'm calling them").click()
    assert acknowledged.value.request.headers.get("hx-request") == "true"
    expect(panel).to_contain_text(f"{nurse.email} is calling them, since Wed 25 Nov, 10:")
    expect(panel.get_by_role("button", name="I'm calling them")).to_have_count(0)
    assert desk.evaluate("window.stillTheSamePage") is True
    alert.refresh_from_db()
    assert alert.acknowledged_by == nurse
    assert alert.acknowledged_at is not None
    assert alert.resolved_at is None

    # Resolving needs an outcome and a note.
    note = "Came in within the hour: skin colour back, capillary refill normal. Review tomorrow."
    panel.get_by_label("Seen in clinic").check()
    panel.get_by_label("What was done (required)").fill(note)
    panel.get_by_role("button", name="Resolve the alert").click()

    expect(desk.get_by_role("status")).to_have_text("The alert is resolved.")
    expect(desk.get_by_role("heading", name="Open alert")).to_have_count(0)
    history = desk.get_by_role("region", name="Alerts, newest first").get_by_role("row")
    expect(history).to_have_count(2)  # the header, and this alert
    resolved = history.nth(1)
    expect(resolved).to_contain_text("Urgent")
    expect(resolved).to_contain_text(
        re.compile(rf"{re.escape(nurse.email)}, 25 Nov, 10:\d\d EST\s*Seen in clinic")
    )
    expect(resolved).to_contain_text(note)

    alert.refresh_from_db()
    assert alert.resolved_by == nurse
    assert alert.outcome == Alert.Outcome.SEEN_IN_CLINIC
    assert alert.outcome_note == note
    assert alert.resolved_at is not None
    assert abs(alert.resolved_at - timezone.now()) < dt.timedelta(minutes=1)
    assert alert.acknowledged_at is not None and alert.acknowledged_at <= alert.resolved_at
    rosa.refresh_from_db()
    assert rosa.open_alert is None
    # Back to its place by the check-ins: the latest one was urgent, so not on track.
    assert rosa.triage == Triage.WATCH
    # Each read of the record and each change, under the nurse's name.
    assert list(
        AuditEvent.objects.filter(patient=rosa.patient, actor=nurse)
        .order_by("at", "id")
        .values_list("action", "object_id")
    ) == [
        ("patient.viewed", str(rosa.patient.public_id)),
        ("alert.acknowledged", str(alert.public_id)),
        ("alert.resolved", str(alert.public_id)),
        ("patient.viewed", str(rosa.patient.public_id)),
    ]

    # Back on the dashboard: nobody is urgent, and Rosa waits with the others to watch.
    desk.get_by_role("navigation", name="Clinic").get_by_role("link", name="Triage").click()
    expect(desk.locator("#level-urgent")).to_have_text("Urgent 0")
    rosa_row = rows.filter(has=desk.get_by_role("link", name="Rosa RedFlag", exact=True))
    expect(rosa_row.locator(".triage-tag")).to_have_text("Watch")
    expect(rosa_row.get_by_role("link", name=re.compile("Review the alert"))).to_have_count(0)
    expect(rows.first).not_to_contain_text("Rosa RedFlag")
    expect(desk.locator(".queue-row.triage-urgent")).to_have_count(0)


def test_the_dashboard_brings_a_new_urgent_patient_to_the_top_without_a_reload(
    desk: Page, clinic: Clinic, nurse: User, quiet_patients: dict[Triage, Patient]
) -> None:
    desk.clock.install()  # the page's timers, htmx's "every 60s" among them, run on this clock
    sign_in(desk, nurse)
    expect_the_queue(desk, ["Mia Missed", "Walt Watch", "Olga OnTrack"])
    expect(desk.locator("#level-urgent")).to_have_text("Urgent 0")
    desk.evaluate("window.stillTheSamePage = true")
    search = desk.get_by_label("Search by name")
    search.press_sequentially("Walt W")  # typed, not yet sent

    # Meanwhile a patient answers yes to a warning sign.
    nora = treated(clinic, "Nora Newcomer", days_ago=3)
    checked_in_today(nora, red_flags=frozenset({"vision"}))

    def is_the_refresh(response: Response) -> bool:
        request = response.request
        return request.headers.get("hx-request") == "true" and "/clinic/?" in request.url

    with desk.expect_response(is_the_refresh) as refreshed:
        desk.clock.fast_forward("01:01")
    assert refreshed.value.status == 200
    assert "<html" not in refreshed.value.text()  # the queue alone, not the page

    expect(desk.locator("tr.queue-row").first.get_by_role("rowheader")).to_have_text(
        "Nora Newcomer"
    )
    expect(desk.locator("tr.queue-row").first.locator(".triage-tag")).to_have_text("Urgent")
    expect(desk.locator("#level-urgent")).to_have_text("Urgent 1")
    expect_the_queue(desk, ["Nora Newcomer", "Mia Missed", "Walt Watch", "Olga OnTrack"])
    # Said aloud to a screen reader, outside the refreshed region.
    expect(desk.locator("#queue-news")).to_contain_text("Queue updated. Urgent: 1;")
    # The same page: nothing reloaded, the half-typed search kept, the cursor still in it.
    assert desk.evaluate("window.stillTheSamePage") is True
    expect(search).to_have_value("Walt W")
    expect(search).to_be_focused()


def test_a_resolve_from_a_page_opened_before_the_alert_was_raised_shows_the_alert_as_it_is_now(
    desk: Page, clinic: Clinic, nurse: User
) -> None:
    """Issue 9, part 1, in the browser: the 409 page is swapped in (htmx swapped no 409
    before, so the clinician saw nothing happen), the outcome and note are kept."""
    pam = treated(clinic, "Pam Pain", days_ago=5)
    checked_in_today(pam, pain=3)
    sign_in(desk, nurse)
    desk.goto(f"/clinic/patients/{pam.patient.public_id}/")
    panel = desk.get_by_role("article", name="Contact clinic")
    panel.get_by_label("Advised at home").check()
    panel.get_by_label("What was done (required)").fill("Cold compress; call back tomorrow.")

    # Meanwhile the patient reports a change in eyesight: the same alert becomes urgent.
    checked_in_today(pam, pain=3, red_flags=frozenset({"vision"}))
    with desk.expect_response(re.compile(r"/resolve/$")) as refused:
        panel.get_by_role("button", name="Resolve the alert").click()
    assert refused.value.status == 409

    urgent = desk.get_by_role("article", name="Urgent")
    expect(urgent.get_by_role("alert")).to_contain_text(
        "This alert has changed since your page showed it (it is now urgent)"
    )
    expect(urgent).to_contain_text("Warning sign: Eyesight or eye change")
    expect(urgent.get_by_label("What was done (required)")).to_have_value(
        "Cold compress; call back tomorrow."
    )
    alert = Alert.objects.get(treatment=pam)
    assert (alert.level, alert.resolved_at) == ("urgent", None)

    # Read, and sent again from the page that shows it: resolved.
    urgent.get_by_label("Seen in clinic").check()
    urgent.get_by_role("button", name="Resolve the alert").click()
    expect(desk.get_by_role("status")).to_have_text("The alert is resolved.")
    alert.refresh_from_db()
    assert alert.outcome == Alert.Outcome.SEEN_IN_CLINIC


def test_an_acknowledge_from_a_page_opened_before_the_alert_was_raised_is_refused_in_place(
    desk: Page, clinic: Clinic, nurse: User
) -> None:
    sam = treated(clinic, "Sam Swelling", days_ago=5)
    checked_in_today(sam, swelling=3)
    sign_in(desk, nurse)
    desk.goto(f"/clinic/patients/{sam.patient.public_id}/")
    panel = desk.locator("article.alert-panel")

    checked_in_today(sam, swelling=3, red_flags=frozenset({"allergy"}))
    with desk.expect_response(re.compile(r"/acknowledge/$")) as refused:
        panel.get_by_role("button", name="I'm calling them").click()
    assert refused.value.status == 409

    expect(panel.get_by_role("alert")).to_contain_text("This alert has changed")
    expect(panel).to_contain_text("Warning sign: Hives")
    expect(panel.get_by_role("button", name="I'm calling them")).to_be_visible()
    assert Alert.objects.get(treatment=sam).acknowledged_at is None


def test_a_search_by_name_keeps_the_name_out_of_every_address(
    desk: Page, clinic: Clinic, nurse: User, quiet_patients: dict[Triage, Patient]
) -> None:
    sign_in(desk, nurse)
    requests: list[str] = []
    desk.on("request", lambda request: requests.append(request.url))
    desk.get_by_label("Search by name").fill("Walt")
    desk.get_by_role("button", name="Search", exact=True).click()

    expect_the_queue(desk, ["Walt Watch"])
    expect(desk.get_by_label("Search by name")).to_have_value("Walt")
    assert desk.url.endswith("/clinic/")
    assert requests and not [url for url in requests if "Walt" in url]

    desk.get_by_role("button", name="Clear the search “Walt”").click()
    expect_the_queue(desk, ["Mia Missed", "Walt Watch", "Olga OnTrack"])
