"""Reminders for the long-term check-ins (reminder_rules' rules 3 and 4): the pure rule,
the writes that keep LongTermWatch.next_reminder_at, the sweep, and the sending (a real
Web Push to a loopback push service, or an email whose link signs the patient in once)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import close_old_connections, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from recovery import course, long_term, reminder_rules, reminders
from recovery.models import (
    AuditEvent,
    Clinic,
    LongTermWatch,
    Patient,
    Product,
    ReminderSettings,
    Treatment,
)
from recovery.reminder_rules import Kind
from tests import factories
from tests.helpers import NEW_YORK, TREATED_ON
from tests.test_reminders import (  # the loopback push service and a phone
    Phone,
    PushService,
    assert_no_health_details,
    bulk_patients,
    make_phone,
    push_service,
    subscribe,
    vapid,
)

__all__ = ["push_service", "vapid"]  # fixtures

FIRST_DUE = course.add_months(TREATED_ON, 2)  # 20 January 2027
NUDGE_ON = FIRST_DUE + dt.timedelta(days=course.LONG_TERM_NUDGE_DAYS)
DAY = dt.timedelta(days=1)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK).astimezone(dt.UTC)


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = True
    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = ""


# The rule --------------------------------------------------------------------------------

PATIENT = reminder_rules.Preferences(time_zone="America/New_York")


def rule_watch(**kw: Any) -> reminder_rules.Watch:
    return reminder_rules.Watch(**{"open_due_on": FIRST_DUE, **kw})


@pytest.mark.parametrize(
    ("now", "watch", "patient", "owed"),
    [
        (local(FIRST_DUE, 18, 59), rule_watch(), PATIENT, None),  # not before the time
        (local(FIRST_DUE, 19), rule_watch(), PATIENT, Kind.LONG_TERM),
        (local(FIRST_DUE - DAY, 20), rule_watch(), PATIENT, None),  # not before the date
        (local(FIRST_DUE + DAY, 19), rule_watch(reminded_for=FIRST_DUE), PATIENT, None),
        (local(NUDGE_ON, 19), rule_watch(reminded_for=FIRST_DUE), PATIENT, Kind.LONG_TERM_NUDGE),
        (
            local(NUDGE_ON + DAY, 19),
            rule_watch(reminded_for=FIRST_DUE, nudged_for=FIRST_DUE),
            PATIENT,
            None,
        ),
        # The nudge in place of a reminder that never went.
        (local(NUDGE_ON, 19), rule_watch(), PATIENT, Kind.LONG_TERM_NUDGE),
        # Answered, stopped or ended: nothing open.
        (local(FIRST_DUE, 19), rule_watch(open_due_on=None), PATIENT, None),
        # Reminders off; the day taken by the diary.
        (
            local(FIRST_DUE, 19),
            rule_watch(),
            reminder_rules.Preferences(time_zone="America/New_York", reminders_on=False),
            None,
        ),
        (
            local(FIRST_DUE, 19),
            rule_watch(),
            reminder_rules.Preferences(time_zone="America/New_York", last_reminded_on=FIRST_DUE),
            None,
        ),
        (
            local(FIRST_DUE + DAY, 19),
            rule_watch(),
            reminder_rules.Preferences(time_zone="America/New_York", last_reminded_on=FIRST_DUE),
            Kind.LONG_TERM,
        ),
    ],
)
def test_what_a_watch_owes(
    now: dt.datetime,
    watch: reminder_rules.Watch,
    patient: reminder_rules.Preferences,
    owed: Kind | None,
) -> None:
    assert reminder_rules.long_term_due(watch=watch, patient=patient, now=now) is owed


@pytest.mark.parametrize(
    ("watch", "patient", "at"),
    [
        (rule_watch(), PATIENT, local(FIRST_DUE, 19)),
        (rule_watch(reminded_for=FIRST_DUE), PATIENT, local(NUDGE_ON, 19)),
        (rule_watch(reminded_for=FIRST_DUE, nudged_for=FIRST_DUE), PATIENT, None),
        (rule_watch(open_due_on=None), PATIENT, None),
        (
            rule_watch(),
            reminder_rules.Preferences(time_zone="America/New_York", last_reminded_on=FIRST_DUE),
            local(FIRST_DUE + DAY, 19),
        ),
        (
            rule_watch(),
            reminder_rules.Preferences(time_zone="Europe/London", reminder_time=dt.time(7, 30)),
            dt.datetime(2027, 1, 20, 7, 30, tzinfo=dt.UTC),
        ),
    ],
)
def test_when_the_sweep_next_looks(
    watch: reminder_rules.Watch, patient: reminder_rules.Preferences, at: dt.datetime | None
) -> None:
    assert reminder_rules.long_term_next_reminder_at(watch=watch, patient=patient) == at


def test_a_reminder_time_the_clocks_skip_comes_when_they_jump() -> None:
    due_on = dt.date(2027, 3, 14)  # New York springs forward at 02:00
    patient = reminder_rules.Preferences(time_zone="America/New_York", reminder_time=dt.time(2, 30))
    at = reminder_rules.long_term_next_reminder_at(
        watch=reminder_rules.Watch(open_due_on=due_on), patient=patient
    )
    assert at == dt.datetime(2027, 3, 14, 7, 0, tzinfo=dt.UTC)  # 03:00 EDT, the jump


@given(
    diary_days=st.sets(st.integers(0, 20)),
    answered_on=st.one_of(st.none(), st.integers(0, 20)),
    reminder_hour=st.integers(0, 23),
    zone=st.sampled_from(["America/New_York", "Europe/London", "Pacific/Auckland"]),
)
def test_never_two_messages_a_day_and_nothing_once_answered(
    diary_days: set[int], answered_on: int | None, reminder_hour: int, zone: str
) -> None:
    """Day by day, a diary taking some days and the check-in perhaps answered: at most one
    message a day, one reminder and one nudge at most, nothing once answered."""
    patient = reminder_rules.Preferences(time_zone=zone, reminder_time=dt.time(reminder_hour))
    watch = reminder_rules.Watch(open_due_on=FIRST_DUE)
    sent: list[tuple[dt.date, Kind]] = []
    for n in range(21):
        day = FIRST_DUE + dt.timedelta(days=n)
        if answered_on is not None and n >= answered_on:
            watch = reminder_rules.Watch(
                open_due_on=None, reminded_for=watch.reminded_for, nudged_for=watch.nudged_for
            )
        if n in diary_days:
            patient = reminder_rules.Preferences(
                time_zone=zone, reminder_time=patient.reminder_time, last_reminded_on=day
            )
        at = reminder_rules.long_term_next_reminder_at(watch=watch, patient=patient)
        for hour in range(24 * 3):  # the whole day wherever the patient is
            now = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(hours=hour - 24)
            if now.astimezone(ZoneInfo(zone)).date() != day:
                continue
            kind = reminder_rules.long_term_due(watch=watch, patient=patient, now=now)
            if kind is None:
                continue
            assert at is not None and at <= now  # the sweep would have looked by then
            assert patient.last_reminded_on != day
            sent.append((day, kind))
            patient = reminder_rules.Preferences(
                time_zone=zone, reminder_time=patient.reminder_time, last_reminded_on=day
            )
            if kind is Kind.LONG_TERM:
                watch = reminder_rules.Watch(watch.open_due_on, FIRST_DUE, watch.nudged_for)
            else:
                watch = reminder_rules.Watch(watch.open_due_on, watch.reminded_for, FIRST_DUE)
    days = [d for d, _ in sent]
    assert len(days) == len(set(days))
    kinds = [k for _, k in sent]
    assert kinds.count(Kind.LONG_TERM) <= 1 and kinds.count(Kind.LONG_TERM_NUDGE) <= 1
    assert set(days).isdisjoint(FIRST_DUE + dt.timedelta(days=n) for n in diary_days)
    if answered_on is not None:
        assert all(d < FIRST_DUE + dt.timedelta(days=answered_on) for d in days)


# The watch's writes and the sweep -------------------------------------------------------


def watch_of(patient: Patient) -> LongTermWatch:
    return LongTermWatch.objects.get(patient=patient)


def sweep_at(now: dt.datetime) -> reminders.SweepResult:
    with time_machine.travel(now, tick=False):
        return reminders.sweep(now=now)


def sent(patient: Patient, action: str) -> list[str]:
    return list(
        AuditEvent.objects.filter(patient=patient, action=action).values_list(
            "object_id", flat=True
        )
    )


def test_the_due_day_reminder_at_the_reminder_time_then_one_nudge_a_week_on(
    patient: Patient, treatment: Treatment
) -> None:
    assert sweep_at(local(FIRST_DUE, 18, 55)).long_term_reminders == 0
    watch = watch_of(patient)
    assert watch.standing == "due"
    assert watch.next_reminder_at == local(FIRST_DUE, 19)

    result = sweep_at(local(FIRST_DUE, 19, 5))
    assert result.long_term_reminders == 1
    assert "Queued 1 long-term reminder(s) and 0 long-term nudge(s)" in result.summary()
    assert sent(patient, "long_term.reminder_sent") == ["email"]
    watch = watch_of(patient)
    assert (watch.reminded_for, watch.nudged_for) == (FIRST_DUE, None)
    assert watch.next_reminder_at == local(NUDGE_ON, 19)
    assert ReminderSettings.objects.get(patient=patient).last_reminded_on == FIRST_DUE

    for day in range(1, course.LONG_TERM_NUDGE_DAYS):
        assert sweep_at(local(FIRST_DUE + day * DAY, 20)).long_term_nudges == 0
    assert sweep_at(local(NUDGE_ON, 19, 1)).long_term_nudges == 1
    assert sent(patient, "long_term.nudge_sent") == ["email"]
    assert watch_of(patient).next_reminder_at is None
    for day in range(1, 10):
        result = sweep_at(local(NUDGE_ON + day * DAY, 20))
        assert result.long_term_reminders + result.long_term_nudges == 0
    assert len(mail.outbox) == 2


def answered(patient: Patient, now: dt.datetime) -> None:
    long_term.record_late_check(
        patient=patient, answers=long_term.LateAnswers(lump=False), entered_by=None, at=now
    )


def stopped(patient: Patient, now: dt.datetime) -> None:
    long_term.stop_watch(patient=patient, by=patient.user, at=now, ip_address=None)


def reminders_off(patient: Patient, now: dt.datetime) -> None:
    reminders.update_settings(
        patient=patient,
        reminder_time=dt.time(19),
        reminders_on=False,
        actor=patient.user,
        ip_address=None,
    )


@pytest.mark.parametrize("write", [answered, stopped, reminders_off])
def test_none_once_answered_stopped_or_turned_off(
    patient: Patient, treatment: Treatment, write: Any
) -> None:
    sweep_at(local(FIRST_DUE, 8))
    with time_machine.travel(local(FIRST_DUE, 12), tick=False):
        write(patient, local(FIRST_DUE, 12))
    assert watch_of(patient).next_reminder_at is None
    for day in range(0, 15):
        result = sweep_at(local(FIRST_DUE + day * DAY, 20))
        assert result.long_term_reminders + result.long_term_nudges == 0
    assert mail.outbox == []


def test_a_watch_resumed_or_reminders_back_on_waits_again(
    patient: Patient, treatment: Treatment
) -> None:
    sweep_at(local(FIRST_DUE, 8))
    stopped(patient, local(FIRST_DUE, 9))
    long_term.resume_watch(
        patient=patient, by=patient.user, at=local(FIRST_DUE, 10), ip_address=None
    )
    assert watch_of(patient).next_reminder_at == local(FIRST_DUE, 19)
    reminders.update_settings(
        patient=patient,
        reminder_time=dt.time(7, 0),
        reminders_on=True,
        actor=patient.user,
        ip_address=None,
    )
    assert watch_of(patient).next_reminder_at == local(FIRST_DUE, 7)


def test_none_once_the_watch_has_ended(patient: Patient, treatment: Treatment) -> None:
    ends_on = course.add_months(course.long_term_schedule([TREATED_ON])[-1], 3)
    sweep_at(local(ends_on, 8))
    assert watch_of(patient).standing == "ended"
    assert watch_of(patient).next_reminder_at is None
    assert sweep_at(local(ends_on, 20)).long_term_reminders == 0


def test_at_most_one_message_a_day_with_a_diary_reminder(
    patient: Patient, treatment: Treatment
) -> None:
    """A second treatment (not watched) starts a diary two days before the due date: its
    reminder takes the due day, the long-term one comes the next day it has free."""
    with time_machine.travel(local(FIRST_DUE - 2 * DAY, 10), tick=False):
        second = factories.create_treatment(
            patient=patient, treated_on=FIRST_DUE - 2 * DAY, product_code="dermal-filler"
        )
    sweep_at(local(FIRST_DUE - DAY, 20))
    assert len(mail.outbox) == 1  # the diary's
    result = sweep_at(local(FIRST_DUE, 19, 5))
    assert (result.reminders + result.nudges, result.long_term_reminders) == (1, 0)
    assert watch_of(patient).next_reminder_at == local(FIRST_DUE + DAY, 19)
    # The next day the patient checked in to the diary: the long-term reminder's turn.
    with time_machine.travel(local(FIRST_DUE + DAY, 9), tick=False):
        factories.create_check_in(treatment=second, local_date=FIRST_DUE + DAY)
    result = sweep_at(local(FIRST_DUE + DAY, 19, 5))
    assert (result.reminders + result.nudges, result.long_term_reminders) == (0, 1)
    days = [
        e.at.astimezone(NEW_YORK).date()
        for e in AuditEvent.objects.filter(patient=patient, action__endswith="sent")
    ]
    assert len(days) == len(set(days)) == 3


# Sending ----------------------------------------------------------------------------------


def test_a_real_push_to_the_loopback_service_says_nothing_about_the_patient(
    patient_client: Client,
    patient: Patient,
    treatment: Treatment,
    vapid: Any,
    push_service: PushService,
) -> None:
    phone: Phone = make_phone(push_service)
    subscribe(patient_client, phone)

    assert sweep_at(local(FIRST_DUE, 19, 5)).long_term_reminders == 1

    [message] = push_service.received
    assert message.headers["content-encoding"] == "aes128gcm"
    content = phone.decrypt(message.body)
    assert content == {
        "title": "Aftercare",
        "body": "Time for your Aftercare check-in",
        "url": "/long-term/",
    }
    assert_no_health_details(json.dumps(content) + message.path)
    assert str(patient.public_id) not in json.dumps(content) + message.path
    assert mail.outbox == []
    assert sent(patient, "long_term.reminder_sent") == ["push"]


def test_the_email_links_a_sign_in_that_works_once_until_the_nudge(
    patient: Patient, treatment: Treatment
) -> None:
    assert sweep_at(local(FIRST_DUE, 19, 5)).long_term_reminders == 1
    [email] = mail.outbox
    assert "Time for your Aftercare check-in" in str(email.body)
    assert_no_health_details(str(email.subject) + str(email.body))
    [url] = [line for line in str(email.body).splitlines() if "/l/#" in line]
    link = urlsplit(url)
    token = link.fragment

    phone = Client()
    with time_machine.travel(local(FIRST_DUE + 6 * DAY, 9), tick=False):
        response = phone.post(link.path, {"token": token})
        assert response.status_code == 302
        assert phone.get("/").wsgi_request.user == patient.user
        # Used: the same link again is refused.
        again = Client().post(link.path, {"token": token})
        assert again.status_code == 410
        assert "already been used" in again.content.decode()


def test_the_email_link_expires_with_the_nudge(patient: Patient, treatment: Treatment) -> None:
    sweep_at(local(FIRST_DUE, 19, 5))
    [email] = mail.outbox
    [url] = [line for line in str(email.body).splitlines() if "/l/#" in line]
    link = urlsplit(url)
    with time_machine.travel(local(FIRST_DUE, 19, 5) + reminders.LONG_TERM_LINK_VALID, tick=False):
        response = Client().post(link.path, {"token": link.fragment})
    assert response.status_code == 410
    assert "expired" in response.content.decode()


# Two sweeps at once ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_send_one_long_term_reminder(
    patient: Patient, treatment: Treatment
) -> None:
    sweep_at(local(FIRST_DUE, 8))
    at = local(FIRST_DUE, 19, 5)
    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def run(name: str) -> None:
        try:
            start.wait(10)
            results[name] = reminders.sweep(now=at)
        except Exception as error:  # noqa: BLE001 - reported by the test
            results[name] = error
        finally:
            close_old_connections()
            connection.close()

    with time_machine.travel(at, tick=True):
        threads = [threading.Thread(target=run, args=(f"sweep {i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    sweeps = list(results.values())
    assert not [r for r in sweeps if isinstance(r, Exception)], sweeps
    assert sorted(r.long_term_reminders for r in sweeps) == [0, 1]
    assert len(sent(patient, "long_term.reminder_sent")) == 1
    assert len(mail.outbox) == 1


# The sweep reads what is due ----------------------------------------------------------


def watched(clinic: Clinic, n: int, *, due: bool = False) -> list[Patient]:
    """`n` more patients on a long-term watch, none due at 19:05 on FIRST_DUE (or, `due`,
    each owed its reminder then). Written in bulk."""
    product = Product.objects.get(code="bellafill")
    patients = bulk_patients(clinic, n, name="Watched")
    treatments = Treatment.objects.bulk_create(
        Treatment(patient=p, clinic=clinic, product=product, treated_on=TREATED_ON)
        for p in patients
    )
    LongTermWatch.objects.bulk_create(
        LongTermWatch(
            patient=p,
            clinic=clinic,
            treatment=t,
            standing="due" if due else "up_to_date",
            due_on=FIRST_DUE if due else None,
            standing_valid_until=local(FIRST_DUE + 14 * DAY, 0) if due else None,
            next_reminder_at=local(FIRST_DUE, 19) if due else local(FIRST_DUE + 30 * DAY, 19),
        )
        for p, t in zip(patients, treatments, strict=True)
    )
    return patients


def test_the_sweep_costs_the_same_for_10_or_1000_watches(
    clinic: Clinic, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    owed = watched(clinic, 3, due=True)
    watched(clinic, 7)

    counted: list[int] = []

    def one_sweep() -> reminders.SweepResult:
        # The triage's, the watches' and the reminders' due rows read, a few writes each.
        with django_assert_max_num_queries(4 + 3 * 6), CaptureQueriesContext(connection) as q:
            result = sweep_at(local(FIRST_DUE, 19, 5))
        counted.append(len(q))
        return result

    assert one_sweep().long_term_reminders == 3
    LongTermWatch.objects.filter(patient__in=owed).update(
        reminded_for=None, next_reminder_at=local(FIRST_DUE, 19)
    )
    ReminderSettings.objects.filter(patient__in=owed).delete()
    watched(clinic, 990)
    assert LongTermWatch.objects.count() == 1000
    assert one_sweep().long_term_reminders == 3
    assert counted[0] == counted[1]


def test_the_sweep_for_10000_long_term_patients_costs_what_it_costs_for_10(
    clinic: Clinic, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13's closing figure: the sweep with 10,000 long-term patients, three of them
    due, against 10 (the baseline, in the same run): queries and time, printed."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    owed = watched(clinic, 3, due=True)
    watched(clinic, 7)

    def measured() -> tuple[int, float]:
        now = local(FIRST_DUE, 19, 5)
        with time_machine.travel(now, tick=False), CaptureQueriesContext(connection) as q:
            started = time.perf_counter()
            assert reminders.sweep(now=now).long_term_reminders == 3
            took = time.perf_counter() - started
        return len(q), took

    def again() -> None:
        LongTermWatch.objects.filter(patient__in=owed).update(
            reminded_for=None, next_reminder_at=local(FIRST_DUE, 19)
        )
        ReminderSettings.objects.filter(patient__in=owed).delete()

    def runs() -> list[tuple[int, float]]:
        out = []
        for _ in range(3):
            again()
            out.append(measured())
        return out

    measured()  # warm up
    base = runs()
    watched(clinic, 9_990)
    assert LongTermWatch.objects.count() == 10_000
    if connection.vendor == "postgresql":  # as the bench does after its inserts
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    big = runs()
    base_q, base_t = base[0][0], min(t for _, t in base)
    big_q, big_t = big[0][0], min(t for _, t in big)
    with capsys.disabled():
        print(
            f"\nsweep, 3 due: 10 watches {base_q} queries {base_t * 1000:.1f} ms; "
            f"10,000 watches {big_q} queries {big_t * 1000:.1f} ms "
            f"(x{big_q / base_q:.2f} queries, x{big_t / base_t:.2f} time)"
        )
    assert big_q == base_q
    assert big_t < 5 * base_t + 0.05  # an index range: not a scan (a loose bound, busy CI)


def test_a_time_zone_corrected_moves_the_watchs_reminder(
    patient: Patient, treatment: Treatment
) -> None:
    sweep_at(local(FIRST_DUE, 8))
    patient.time_zone = "Europe/London"
    patient.save(update_fields=["time_zone"])
    reminders.reschedule(patient=patient)  # as the admin does after the correction
    assert watch_of(patient).next_reminder_at == dt.datetime(2027, 1, 20, 19, tzinfo=dt.UTC)


def test_a_new_treatment_restarts_the_watch_and_its_reminders(
    patient: Patient, treatment: Treatment
) -> None:
    sweep_at(local(FIRST_DUE, 19, 5))
    assert watch_of(patient).reminded_for == FIRST_DUE
    with time_machine.travel(local(FIRST_DUE + DAY, 10), tick=False):
        factories.create_treatment(patient=patient, treated_on=FIRST_DUE + DAY)
    watch = watch_of(patient)
    assert (watch.standing, watch.next_reminder_at) == ("waiting", None)
    again_due = course.add_months(FIRST_DUE + DAY, 2)
    sweep_at(local(again_due, 8))
    assert watch_of(patient).next_reminder_at == local(again_due, 19)
    assert sweep_at(local(again_due, 19, 5)).long_term_reminders == 1
