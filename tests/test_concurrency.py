"""Writes that race, run truly at once: each in its own thread, on its own connection.

Every write that moves a treatment's kept fields locks the treatment's row alone and
reads after the lock (recovery/locks.py, docs/concurrency.md). To make a race happen
the same way every time, a third connection holds the treatment's lock while the
writers start, and lets go once they are all waiting for it: on PostgreSQL each writer
then gets the row as the one before it left it, and must not decide from anything it
read before the lock. On SQLite the writers queue for the database's write lock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.db import close_old_connections, connection, transaction
from django.test import Client

from recovery import login_links, reminders, triage
from recovery.models import (
    Alert,
    AuditEvent,
    CheckIn,
    CheckInRevision,
    LoginLink,
    Patient,
    ReminderSettings,
    Treatment,
    Triage,
    TriageCounts,
    User,
)
from tests import factories
from tests.helpers import TREATED_ON
from tests.test_check_in_views import form_data

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NOW = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York: day 5
TODAY = TREATED_ON + dt.timedelta(days=5)
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


def _waiting_for_locks() -> int:
    """How many other connections wait for a lock (PostgreSQL); SQLite cannot say."""
    if connection.vendor != "postgresql":
        return -1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        (count,) = cursor.fetchone()
    return int(count)


def _wait_until_waiting(n: int) -> None:
    if connection.vendor != "postgresql":
        time.sleep(0.3)  # SQLite: the writers block at BEGIN IMMEDIATE
        return
    deadline = time.monotonic() + 10
    while _waiting_for_locks() < n:
        assert time.monotonic() < deadline, "the writers never reached the lock"
        time.sleep(0.01)


def _in_thread(work: Callable[[], Any], results: dict[str, Any], name: str) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = work()
        except Exception as error:  # noqa: BLE001 - reported by the test
            results[name] = error
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def race(treatment: Treatment, writes: list[tuple[str, Callable[[], Any]]]) -> dict[str, Any]:
    """Run `writes` at once, in the order given, all of them waiting for the treatment's
    lock (held meanwhile on another connection) before any goes ahead."""
    results: dict[str, Any] = {}
    release, held = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            Treatment.objects.select_for_update().filter(pk=treatment.pk).exists()
            held.set()
            release.wait(10)

    holder = _in_thread(hold, results, "holder")
    held.wait(10)
    threads = []
    for i, (name, write) in enumerate(writes, start=1):
        threads.append(_in_thread(write, results, name))
        _wait_until_waiting(i)  # each queued behind the one before it
    release.set()
    for thread in [holder, *threads]:
        thread.join(30)
        assert not thread.is_alive(), f"{thread.name} is stuck"
    return results


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def consistent(treatment: Treatment) -> None:
    """What is kept on the treatment's row is what its rows say, and so are the counts."""
    treatment = Treatment.objects.select_related(
        "product", "patient", "latest_check_in", "open_alert"
    ).get(pk=treatment.pk)
    latest = CheckIn.objects.filter(treatment=treatment).order_by("-local_date").first()
    open_alert = Alert.objects.filter(treatment=treatment, resolved_at__isnull=True).first()
    assert treatment.latest_check_in == latest
    assert treatment.open_alert == open_alert
    assert treatment.triage == triage.place_of(treatment, now=NOW).triage
    counts = TriageCounts.objects.get(clinic_id=treatment.clinic_id).by_level()
    recounted = triage.counts_of(
        Treatment.objects.filter(clinic_id=treatment.clinic_id, superseded=False)
    )
    assert {level: counts[level] for level in counts} == {
        level: recounted.get(level, 0) for level in counts
    }


@pytest.fixture
def patient(clinic: Any) -> Patient:
    return factories.create_patient(clinic=clinic, name="Ana Patient", email="ana@example.com")


@pytest.fixture
def treatment(patient: Patient) -> Treatment:
    with time_machine.travel(NOW - dt.timedelta(days=5), tick=False):
        return factories.create_treatment(patient=patient, treated_on=TREATED_ON)


def test_yesterdays_and_todays_check_in_sent_together_keep_today_as_the_latest(
    patient: Patient, treatment: Treatment
) -> None:
    """On PostgreSQL the old code kept yesterday as the latest when it came second (its
    lock came with the latest check-in as read before it waited), and then every later
    check-in that day answered 500 (a second row for today)."""
    phone = signed_in(patient.user)
    results = race(
        treatment,
        [
            ("today", lambda: phone.post("/check-in/", form_data(TODAY, swelling=1))),
            ("yesterday", lambda: phone.post("/check-in/", form_data(YESTERDAY, swelling=2))),
        ],
    )

    assert [results[n].status_code for n in ("today", "yesterday")] == [302, 302]
    today = CheckIn.objects.get(treatment=treatment, local_date=TODAY)
    treatment.refresh_from_db()
    assert treatment.latest_check_in == today
    consistent(treatment)

    # "Something feels wrong" later the same day replaces today's check-in.
    response = phone.post("/check-in/", form_data(TODAY, flags=["vision"], swelling=None))
    assert response.status_code == 302
    assert CheckIn.objects.filter(treatment=treatment).count() == 2
    assert CheckIn.objects.get(treatment=treatment, local_date=TODAY).red_flags == ["vision"]
    consistent(treatment)


def test_a_resolve_from_a_page_shown_before_the_alert_was_raised_is_refused(
    patient: Patient, treatment: Treatment, clinician: User
) -> None:
    """The old code closed the urgent eyesight alert, unseen, from the page that showed it
    at contact clinic."""
    phone, desk = signed_in(patient.user), signed_in(clinician)
    assert phone.post("/check-in/", form_data(TODAY, pain=3)).status_code == 302  # severe
    alert = Alert.objects.get()
    shown = alert.version
    assert alert.level == "contact_clinic"

    results = race(
        treatment,
        [
            (
                "eyesight",
                lambda: phone.post("/check-in/", form_data(TODAY, pain=3, flags=["vision"])),
            ),
            (
                "resolve",
                lambda: desk.post(
                    f"/clinic/alerts/{alert.public_id}/resolve/",
                    {"outcome": "advised_at_home", "note": "Called", "version": str(shown)},
                ),
            ),
        ],
    )

    assert results["eyesight"].status_code == 302
    alert.refresh_from_db()
    if results["resolve"].status_code == 302:
        # It went first (SQLite's waiters are not served in turn): it closed what it showed,
        # and the warning sign after it opened a new alert.
        assert connection.vendor == "sqlite"
        assert (alert.level, alert.reasons) == ("contact_clinic", ["severe:pain"])
        assert alert.resolved_at is not None
        alert = Alert.objects.get(resolved_at__isnull=True)
        assert (alert.level, alert.reasons) == ("urgent", ["red_flag:vision"])
        consistent(treatment)
        return
    assert results["resolve"].status_code == 409
    said = results["resolve"].content.decode()
    assert "This alert has changed since your page showed it" in said
    assert "eyesight" in said.lower()  # the alert is shown as it is now
    assert (alert.level, alert.resolved_at) == ("urgent", None)
    assert alert.reasons == ["severe:pain", "red_flag:vision"]
    treatment.refresh_from_db()
    assert treatment.triage == Triage.URGENT
    consistent(treatment)


def test_a_resolve_and_a_new_warning_sign_at_once_leave_the_warning_sign_open(
    patient: Patient, treatment: Treatment, clinician: User
) -> None:
    """The resolve goes first: the check-in waiting behind it opens a new alert, and the
    triage place follows the rows (the old code could keep one read before the lock)."""
    phone, desk = signed_in(patient.user), signed_in(clinician)
    assert phone.post("/check-in/", form_data(YESTERDAY, pain=3)).status_code == 302
    alert = Alert.objects.get()

    results = race(
        treatment,
        [
            (
                "resolve",
                lambda: desk.post(
                    f"/clinic/alerts/{alert.public_id}/resolve/",
                    {"outcome": "advised_at_home", "note": "Called", "version": str(alert.version)},
                ),
            ),
            ("allergy", lambda: phone.post("/check-in/", form_data(TODAY, flags=["allergy"]))),
        ],
    )

    assert results["allergy"].status_code == 302
    alert.refresh_from_db()
    if results["resolve"].status_code == 409:  # the check-in went first (SQLite)
        assert connection.vendor == "sqlite"
        assert (alert.level, alert.resolved_at) == ("urgent", None)
        assert alert.reasons == ["severe:pain", "red_flag:allergy"]
        consistent(treatment)
        return
    assert results["resolve"].status_code == 302
    assert alert.resolved_at is not None
    new = Alert.objects.get(resolved_at__isnull=True)
    assert (new.level, new.reasons) == ("urgent", ["red_flag:allergy"])
    consistent(treatment)


def test_acknowledging_an_alert_raised_meanwhile_is_refused(
    patient: Patient, treatment: Treatment, clinician: User
) -> None:
    phone, desk = signed_in(patient.user), signed_in(clinician)
    assert phone.post("/check-in/", form_data(TODAY, swelling=3)).status_code == 302
    alert = Alert.objects.get()

    results = race(
        treatment,
        [
            (
                "stroke",
                lambda: phone.post("/check-in/", form_data(TODAY, swelling=3, flags=["stroke"])),
            ),
            (
                "acknowledge",
                lambda: desk.post(
                    f"/clinic/alerts/{alert.public_id}/acknowledge/",
                    {"version": str(alert.version)},
                ),
            ),
        ],
    )

    alert.refresh_from_db()
    if results["acknowledge"].status_code == 302:  # it went first (SQLite)
        assert connection.vendor == "sqlite"
        assert alert.acknowledged_at is not None and alert.version == 3
    else:
        assert results["acknowledge"].status_code == 409
        assert (alert.level, alert.acknowledged_at) == ("urgent", None)
    assert alert.level == "urgent"
    consistent(treatment)


def test_replays_of_one_key_at_once_make_one_check_in_and_one_alert(
    patient: Patient, treatment: Treatment
) -> None:
    key = uuid.uuid4()
    data = form_data(TODAY, flags=["infection"], key=key)
    phones = [signed_in(patient.user) for _ in range(4)]
    results = race(
        treatment,
        [
            (f"replay {i}", lambda phone=phone: phone.post("/check-in/", data))  # type: ignore[misc]
            for i, phone in enumerate(phones)
        ],
    )

    assert {r.status_code for r in results.values() if r is not None} == {302}
    assert CheckIn.objects.count() == 1
    assert Alert.objects.count() == 1
    consistent(treatment)


def test_one_key_with_two_sets_of_answers_at_once_saves_the_first_and_refuses_the_other(
    patient: Patient, treatment: Treatment
) -> None:
    key = uuid.uuid4()
    phone = signed_in(patient.user)
    results = race(
        treatment,
        [
            ("first", lambda: phone.post("/check-in/", form_data(TODAY, swelling=1, key=key))),
            ("other", lambda: phone.post("/check-in/", form_data(TODAY, swelling=2, key=key))),
        ],
    )

    statuses = {name: results[name].status_code for name in ("first", "other")}
    assert sorted(statuses.values()) == [302, 409]
    saved = 1 if statuses["first"] == 302 else 2  # SQLite may serve the second first
    assert CheckIn.objects.get().swelling == saved
    assert not CheckInRevision.objects.exists()
    consistent(treatment)


def test_the_sweep_and_a_check_in_at_once_keep_the_check_in(
    patient: Patient, treatment: Treatment
) -> None:
    """The sweep moves a treatment that missed two days; a check-in arriving meanwhile is
    not overwritten by the place the sweep computed from what it read before."""
    with time_machine.travel(NOW + dt.timedelta(days=3), tick=True):
        later = TODAY + dt.timedelta(days=3)
        phone = signed_in(patient.user)
        at = NOW + dt.timedelta(days=3)
        results = race(
            treatment,
            [
                ("check-in", lambda: phone.post("/check-in/", form_data(later, swelling=1))),
                ("sweep", lambda: triage.sweep_triage(now=at)),
            ],
        )
        assert results["check-in"].status_code == 302
        assert not isinstance(results["sweep"], Exception), results["sweep"]
        treatment = Treatment.objects.select_related(
            "product", "patient", "latest_check_in", "open_alert"
        ).get(pk=treatment.pk)
        assert treatment.latest_check_in is not None
        assert treatment.latest_check_in.local_date == later
        assert treatment.triage == triage.place_of(treatment, now=at).triage
        assert treatment.triage != Triage.MISSED_CHECK_IN


def test_two_sweeps_at_once_send_one_reminder(patient: Patient, treatment: Treatment) -> None:
    """Two machines sweeping at the same moment both read the treatment's reminder as due;
    the first to move its time on claims it, and the other finds it moved (on PostgreSQL,
    its conditional update waits for the first and then matches nothing)."""
    for n in range(5):
        factories.create_check_in(treatment=treatment, local_date=TREATED_ON + dt.timedelta(n))
    evening = dt.datetime(2026, 11, 25, 19, 5, tzinfo=ZoneInfo("America/New_York"))  # day 5
    at = evening.astimezone(dt.UTC)
    treatment.refresh_from_db()
    assert treatment.next_reminder_at is not None and treatment.next_reminder_at <= at
    assert not triage.due_for_sweep(now=at).exists()  # so both wait at the claim

    with time_machine.travel(at, tick=True):
        results = race(
            treatment,
            [
                ("sweep 1", lambda: reminders.sweep(now=at)),
                ("sweep 2", lambda: reminders.sweep(now=at)),
            ],
        )

    sweeps = [results["sweep 1"], results["sweep 2"]]
    assert not [r for r in sweeps if isinstance(r, Exception)], sweeps
    assert sorted(r.reminders + r.nudges for r in sweeps) == [0, 1]
    assert AuditEvent.objects.filter(patient=patient, action="reminder.sent").count() == 1
    assert [m.to for m in mail.outbox] == [[patient.email]]
    reminder = ReminderSettings.objects.get(patient=patient)
    assert reminder.last_reminded_on == TREATED_ON + dt.timedelta(days=5)
    treatment.refresh_from_db()
    assert treatment.next_reminder_at == evening.replace(day=26, minute=0)  # tomorrow, 19:00


def test_one_enrollment_sent_twice_at_once_makes_one_patient(clinician: User) -> None:
    """A double tap on "Enroll": the form's one-time key is unique, so whichever commits
    second finds the first's patient (on PostgreSQL it waits for the first's key)."""
    from tests.test_enrollment import ENROLL, enrollment_data

    desk = signed_in(clinician)
    data = enrollment_data(submission_key=str(uuid.uuid4()))
    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def tap() -> Any:
        start.wait(10)
        return desk.post(ENROLL, data)

    taps = [_in_thread(tap, results, f"tap {i}") for i in range(2)]
    for thread in taps:
        thread.join(30)
    responses = [results["tap 0"], results["tap 1"]]
    assert not [r for r in responses if isinstance(r, Exception)], responses
    assert {r.status_code for r in responses} == {302}
    assert len({r["Location"] for r in responses}) == 1
    assert Patient.objects.count() == 1
    assert Treatment.objects.count() == 1


def test_one_link_sent_from_two_phones_at_once_signs_in_once(
    patient: Patient, treatment: Treatment
) -> None:
    """Two phones press "Sign in" with the same link at the same moment: one update claims
    the link while it is unused, so one phone is signed in and the other is told it is used."""
    token = urlsplit(login_links.issue_login_link(patient=patient, at=NOW)).fragment
    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def press() -> tuple[int, str | None]:
        phone = Client()
        start.wait(10)
        response = phone.post("/l/", {"token": token})
        return response.status_code, phone.session.get(SESSION_KEY)

    phones = [_in_thread(press, results, f"phone {i}") for i in range(2)]
    for thread in phones:
        thread.join(30)
        assert not thread.is_alive(), f"{thread.name} is stuck"
    answers = sorted([results["phone 0"], results["phone 1"]], key=repr)
    assert not [a for a in answers if isinstance(a, Exception)], answers
    assert sorted(status for status, _ in answers) == [302, 410]
    assert [user for _, user in answers if user] == [str(patient.user.pk)]
    assert AuditEvent.objects.filter(action="patient.signed_in").count() == 1
    assert LoginLink.objects.get().used_at is not None
