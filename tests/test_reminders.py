"""Daily reminders and missed-check-in nudges: real Web Push to a loopback push service."""

from __future__ import annotations

import base64
import datetime as dt
import html
import importlib
import io
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
import time_machine
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.apps import apps
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recovery import course, reminders
from recovery.models import (
    AuditEvent,
    Clinic,
    Patient,
    Product,
    PushSubscription,
    ReminderSettings,
    Treatment,
    User,
)
from recovery.reminder_rules import Kind
from tests import factories
from tests.conftest import ENROLLED_AT
from tests.helpers import TREATED_ON, imported_modules, local_moment

HEALTH_WORDS: tuple[str, ...] = (
    *("Ana", "swelling", "redness", "bruising", "lump", "pain", "itch", "urgent"),
    *("on track", "watch", "vision", "infection", "Bellafill", "day "),
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


# The patient is in New York (UTC-5 in November); the server runs on UTC. A 19:00 reminder
# on 22 November in New York is due at 00:00 UTC on the 23rd.
BEFORE_TIME = utc(2026, 11, 22, 23, 30)  # 18:30 in New York, 22 Nov
AFTER_TIME = utc(2026, 11, 23, 0, 5)  # 19:05 in New York, 22 Nov
LATER_SAME_DAY = utc(2026, 11, 23, 3, 0)  # 22:00 in New York, 22 Nov


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    url: str
    status: int = 201
    received: list[Received] = field(default_factory=list)


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = True


@pytest.fixture
def vapid(settings: Any) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    settings.VAPID_PRIVATE_KEY = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    settings.VAPID_PUBLIC_KEY = b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    settings.VAPID_SUBJECT = "mailto:reminders@aftercare.example"
    return key


@pytest.fixture
def push_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[PushService]:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    service = PushService(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            service.received.append(
                Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
            )
            self.send_response(service.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


@dataclass
class Phone:
    """A browser's push subscription: its ECDH key pair and auth secret."""

    key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    def subscription_json(self) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        result: dict[str, Any] = json.loads(plain)
        return result


def make_phone(push_service: PushService, name: str = "phone-1") -> Phone:
    return Phone(
        key=ec.generate_private_key(ec.SECP256R1()),
        auth=os.urandom(16),
        endpoint=f"{push_service.url}/push/{name}",
    )


def subscribe(client: Client, phone: Phone) -> None:
    response = client.post(
        "/push/subscriptions/",
        json.dumps(phone.subscription_json()),
        content_type="application/json",
    )
    assert response.status_code == 201


def check_in_on(treatment: Treatment, *days: int) -> None:
    for day in days:
        local_date = TREATED_ON + dt.timedelta(days=day)
        with time_machine.travel(
            utc(local_date.year, local_date.month, local_date.day, 15), tick=False
        ):
            factories.create_check_in(treatment=treatment, local_date=local_date)


def sweep() -> str:
    out = io.StringIO()
    call_command("sweep", stdout=out)
    return out.getvalue().strip()


def verify_vapid(authorization: str, public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    assert authorization.startswith("vapid ")
    parts = dict(p.strip().split("=", 1) for p in authorization[len("vapid ") :].split(","))
    header, claims, signature = parts["t"].split(".")
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public_key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises
    sent_key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), b64url_decode(parts["k"])
    )
    assert sent_key.public_numbers() == public_key.public_numbers()
    result: dict[str, Any] = json.loads(b64url_decode(claims))
    return result


def assert_no_health_details(text: str) -> None:
    for word in HEALTH_WORDS:
        assert word.lower() not in text.lower(), word


# Push -----------------------------------------------------------------------------------


def test_reminder_is_an_encrypted_push_at_the_patients_own_time(
    patient_client: Client,
    patient: Patient,
    treatment: Treatment,
    vapid: ec.EllipticCurvePrivateKey,
    push_service: PushService,
) -> None:
    check_in_on(treatment, 0, 1)
    phone = make_phone(push_service)
    subscribe(patient_client, phone)

    with time_machine.travel(BEFORE_TIME, tick=False):
        assert sweep().startswith("Queued 0 reminder(s) and 0 missed-check-in nudge(s)")
    assert push_service.received == []

    with time_machine.travel(AFTER_TIME, tick=False):
        assert sweep().startswith("Queued 1 reminder(s) and 0 missed-check-in nudge(s)")
    [message] = push_service.received
    assert message.path == "/push/phone-1"
    assert message.headers["content-encoding"] == "aes128gcm"
    assert int(message.headers["ttl"]) > 0
    content = phone.decrypt(message.body)
    assert content == {
        "title": "Aftercare",
        "body": "Time for today's check-in",
        "url": "/check-in/",
    }
    assert_no_health_details(message.body.decode("latin-1") + json.dumps(content))
    claims = verify_vapid(message.headers["authorization"], vapid.public_key())
    assert claims["aud"] == push_service.url
    assert claims["sub"] == "mailto:reminders@aftercare.example"
    assert mail.outbox == []
    subscription = PushSubscription.objects.get(patient=patient)
    assert subscription.last_success_at is not None
    assert ReminderSettings.objects.get(patient=patient).last_reminded_on == dt.date(2026, 11, 22)
    assert (
        AuditEvent.objects.filter(patient=patient, action="reminder.sent", object_id="push").count()
        == 1
    )

    # Not twice the same day.
    with time_machine.travel(LATER_SAME_DAY, tick=False):
        assert sweep().startswith("Queued 0 reminder(s)")
    assert len(push_service.received) == 1


def test_gone_subscription_is_deleted_and_email_is_the_fallback(
    patient_client: Client,
    patient: Patient,
    treatment: Treatment,
    vapid: ec.EllipticCurvePrivateKey,
    push_service: PushService,
) -> None:
    check_in_on(treatment, 0, 1)
    subscribe(patient_client, make_phone(push_service))
    push_service.status = 410

    with time_machine.travel(AFTER_TIME, tick=False):
        sweep()

    assert len(push_service.received) == 1
    assert not PushSubscription.objects.filter(patient=patient).exists()
    [email] = mail.outbox
    assert email.to == ["ana@example.com"]
    assert "/check-in/" in email.body
    assert "Time for today's check-in" in email.body
    assert_no_health_details(str(email.subject) + str(email.body))


def test_a_failing_push_service_counts_failures_and_emails(
    patient_client: Client,
    patient: Patient,
    treatment: Treatment,
    vapid: ec.EllipticCurvePrivateKey,
    push_service: PushService,
) -> None:
    check_in_on(treatment, 0, 1)
    subscribe(patient_client, make_phone(push_service))
    push_service.status = 500

    with time_machine.travel(AFTER_TIME, tick=False):
        sweep()

    assert PushSubscription.objects.get(patient=patient).failures == 1
    assert len(mail.outbox) == 1


def test_without_vapid_keys_reminders_go_by_email(
    patient: Patient, treatment: Treatment, settings: Any
) -> None:
    settings.VAPID_PUBLIC_KEY = ""
    settings.VAPID_PRIVATE_KEY = ""
    check_in_on(treatment, 0, 1)
    with time_machine.travel(AFTER_TIME, tick=False):
        sweep()
    [email] = mail.outbox
    assert email.to == [patient.email]
    assert_no_health_details(str(email.subject) + str(email.body))


@pytest.mark.parametrize("kind", [Kind.REMINDER, Kind.NUDGE])
def test_reminder_emails_come_from_templates_in_the_pushs_words(
    patient: Patient, kind: Kind, settings: Any
) -> None:
    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = ""
    settings.SITE_NAME = "Aftercare & Co"  # a plain-text email is not HTML-escaped
    settings.SITE_URL = "https://aftercare.example"

    assert reminders.deliver(patient_id=patient.pk, kind=kind) == "email"

    [email] = mail.outbox
    assert isinstance(email, EmailMultiAlternatives)
    words = reminders.MESSAGES[kind]["body"]
    assert email.subject == f"Aftercare & Co: {words.split('.')[0]}"
    assert email.body == (
        f"Hello,\n\n{words}\n\nhttps://aftercare.example/check-in/\n\n"
        "You can change or turn off these reminders at https://aftercare.example/reminders/\n"
    )
    [(page, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    assert words in html.unescape(str(page))
    assert 'href="https://aftercare.example/check-in/"' in str(page)
    assert_no_health_details(email.subject + email.body + str(page))
    assert AuditEvent.objects.filter(patient=patient, action=f"{kind}.sent").count() == 1


# When -----------------------------------------------------------------------------------


def test_no_reminder_once_the_diary_has_ended(patient: Patient, treatment: Treatment) -> None:
    ends = treatment.diary_ends_on()
    assert ends == TREATED_ON + dt.timedelta(days=course.BELLAFILL.diary_days)
    check_in_on(treatment, *range(0, course.BELLAFILL.diary_days + 1))
    after_end = ends + dt.timedelta(days=1)
    with time_machine.travel(
        utc(after_end.year, after_end.month, after_end.day + 1, 0, 30), tick=False
    ):
        assert sweep().startswith("Queued 0 reminder(s) and 0 missed")
    assert mail.outbox == []


def test_last_diary_day_still_gets_its_reminder(patient: Patient, treatment: Treatment) -> None:
    check_in_on(treatment, *range(0, course.BELLAFILL.diary_days))
    ends = treatment.diary_ends_on()
    with time_machine.travel(
        utc(ends.year, ends.month, ends.day, 23, 59) + dt.timedelta(minutes=10), tick=False
    ):
        assert sweep().startswith("Queued 1 reminder(s)")


def test_no_reminder_when_today_is_checked_in(patient: Patient, treatment: Treatment) -> None:
    check_in_on(treatment, 0, 1, 2)
    with time_machine.travel(AFTER_TIME, tick=False):
        assert sweep().startswith("Queued 0 reminder(s) and 0 missed")
    assert mail.outbox == []


def test_no_reminder_when_turned_off(
    patient_client: Client, patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 0, 1)
    response = patient_client.post("/reminders/", {"reminder_time": "19:00"})
    assert response.status_code == 302
    with time_machine.travel(AFTER_TIME, tick=False):
        assert sweep().startswith("Queued 0 reminder(s) and 0 missed")
    assert mail.outbox == []


def test_a_later_reminder_time_moves_the_reminder(
    patient_client: Client, patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 0, 1)
    patient_client.post("/reminders/", {"reminder_time": "21:30", "reminders_on": "on"})
    with time_machine.travel(AFTER_TIME, tick=False):  # 19:05 in New York
        assert sweep().startswith("Queued 0 reminder(s)")
    with time_machine.travel(utc(2026, 11, 23, 2, 31), tick=False):  # 21:31 in New York
        assert sweep().startswith("Queued 1 reminder(s)")


def test_missed_check_ins_get_one_nudge_per_stretch(
    patient: Patient, treatment: Treatment, vapid: ec.EllipticCurvePrivateKey, settings: Any
) -> None:
    # Treated on the 20th and never checked in: on the 22nd two days are missed.
    with time_machine.travel(AFTER_TIME, tick=False):
        assert sweep().startswith("Queued 0 reminder(s) and 1 missed-check-in nudge(s)")
    [nudge] = mail.outbox
    assert "couple of days" in nudge.body
    assert_no_health_details(str(nudge.subject) + str(nudge.body))
    # The next day, the same stretch: an ordinary reminder, not another nudge.
    with time_machine.travel(AFTER_TIME + dt.timedelta(days=1), tick=False):
        assert sweep().startswith("Queued 1 reminder(s) and 0 missed")
    # The patient checks in on the 24th, then misses the 25th and 26th: on the 27th, a new
    # stretch.
    check_in_on(treatment, 4)
    with time_machine.travel(AFTER_TIME + dt.timedelta(days=5), tick=False):
        assert sweep().startswith("Queued 0 reminder(s) and 1 missed-check-in nudge(s)")
    actions = list(
        AuditEvent.objects.filter(patient=patient, action__endswith=".sent")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["nudge.sent", "reminder.sent", "nudge.sent"]


def test_sweep_refreshes_the_dashboard_with_the_same_missed_rule(
    patient: Patient, treatment: Treatment
) -> None:
    with time_machine.travel(AFTER_TIME, tick=False):
        out = sweep()
    treatment.refresh_from_db()
    from recovery.models import Triage

    assert treatment.triage == Triage.MISSED_CHECK_IN
    assert "moved" in out


def test_sweep_queues_on_the_database_backend(
    patient: Patient, treatment: Treatment, settings: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    check_in_on(treatment, 0, 1)
    with time_machine.travel(AFTER_TIME, tick=False):
        sweep()
    [queued] = DBTaskResult.objects.all()
    assert queued.task_path == "recovery.reminders.send_reminder"
    assert mail.outbox == []  # sent later, by the worker


def test_a_reminder_queued_under_the_tasks_old_name_is_still_sent(
    patient: Patient, treatment: Treatment, settings: Any
) -> None:
    """Before the task moved beside its sending, the queue named it recovery.tasks.
    send_reminder: one queued then and run after the upgrade still reaches the patient."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    check_in_on(treatment, 0, 1)
    with time_machine.travel(AFTER_TIME, tick=False):
        sweep()
    DBTaskResult.objects.update(task_path="recovery.tasks.send_reminder")
    [queued] = DBTaskResult.objects.all()
    assert queued.task.call(*queued.args_kwargs["args"]) == "email"  # as db_worker runs it
    [email] = mail.outbox
    assert email.to == [patient.email]


def test_the_reminders_do_not_import_the_tasks_module() -> None:
    """Issue 12: reminders and tasks imported each other; the task lives with its sending."""
    named = imported_modules(reminders)
    assert "recovery.tasks" not in named


# The time the sweep waits for ------------------------------------------------------------


def next_reminder_of(treatment: Treatment) -> dt.datetime | None:
    treatment.refresh_from_db()
    return treatment.next_reminder_at


def new_york(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    """A wall-clock time in New York, as the instant (UTC) the sweep compares."""
    return local_moment(dt.date(year, month, day), hour, minute).astimezone(dt.UTC)


def test_a_treatment_recorded_waits_for_its_first_reminder(treatment: Treatment) -> None:
    # Recorded at 09:00 in New York on the day of treatment: 19:00 that evening.
    assert next_reminder_of(treatment) == new_york(2026, 11, 20, 19, 0)


def test_a_check_in_moves_the_reminder_to_the_next_day(treatment: Treatment) -> None:
    check_in_on(treatment, 0)
    assert next_reminder_of(treatment) == new_york(2026, 11, 21, 19, 0)
    check_in_on(treatment, 1)
    assert next_reminder_of(treatment) == new_york(2026, 11, 22, 19, 0)


def test_the_patients_settings_move_it_or_clear_it(
    patient_client: Client, treatment: Treatment
) -> None:
    check_in_on(treatment, 0, 1)
    with time_machine.travel(utc(2026, 11, 22, 12, 0), tick=False):  # 07:00 in New York
        patient_client.post("/reminders/", {"reminder_time": "08:15", "reminders_on": "on"})
        assert next_reminder_of(treatment) == new_york(2026, 11, 22, 8, 15)
        patient_client.post("/reminders/", {"reminder_time": "08:15"})  # off
        assert next_reminder_of(treatment) is None
        patient_client.post("/reminders/", {"reminder_time": "06:30", "reminders_on": "on"})
        # 06:30 has passed today, with no reminder yet: the next sweep sends it.
        assert next_reminder_of(treatment) == new_york(2026, 11, 22, 6, 30)


def test_a_later_treatment_takes_the_reminders_over_from_its_first_day(
    patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 0, 1)
    with time_machine.travel(utc(2026, 11, 22, 12, 0), tick=False):
        booked = factories.create_treatment(patient=patient, treated_on=dt.date(2026, 11, 25))
        assert next_reminder_of(treatment) == new_york(2026, 11, 22, 19, 0)
        assert next_reminder_of(booked) == new_york(2026, 11, 25, 19, 0)
        today = factories.create_treatment(patient=patient, treated_on=dt.date(2026, 11, 22))
        assert next_reminder_of(treatment) is None  # its diary ended yesterday
        assert next_reminder_of(today) == new_york(2026, 11, 22, 19, 0)
        assert next_reminder_of(booked) == new_york(2026, 11, 25, 19, 0)


def test_a_diary_that_has_ended_waits_for_nothing(treatment: Treatment) -> None:
    check_in_on(treatment, *range(0, course.BELLAFILL.diary_days + 1))
    assert next_reminder_of(treatment) is None


def test_the_migration_fills_in_what_the_writes_keep(
    patient: Patient, treatment: Treatment, second_patient: Patient, patient_client: Client
) -> None:
    fill = importlib.import_module(
        "recovery.migrations.0013_treatment_next_reminder_at"
    ).fill_next_reminder_at
    check_in_on(treatment, 0, 1)
    with time_machine.travel(utc(2026, 11, 22, 12, 0), tick=False):
        patient_client.post("/reminders/", {"reminder_time": "21:30", "reminders_on": "on"})
        factories.create_treatment(patient=patient, treated_on=dt.date(2026, 11, 25))
        for someone in (patient, second_patient):  # as a write now would keep them
            reminders.reschedule(patient=someone)
        kept = dict(Treatment.objects.values_list("pk", "next_reminder_at"))
        assert len(kept) == 3 and None not in kept.values()
        Treatment.objects.update(next_reminder_at=None)
        fill(apps, None)
    assert dict(Treatment.objects.values_list("pk", "next_reminder_at")) == kept


# The sweep reads what is due ----------------------------------------------------------


def bulk_patients(clinic: Clinic, n: int, *, name: str) -> list[Patient]:
    """`n` more patients in New York, written in bulk."""
    users = User.objects.bulk_create(
        [User(username=f"patient-{uuid.uuid4().hex}") for _ in range(n)]
    )
    return Patient.objects.bulk_create(
        Patient(
            clinic=clinic,
            user=user,
            name=name,
            email=f"{user.username}@example.com",
            date_of_birth=dt.date(1985, 4, 2),
            time_zone="America/New_York",
        )
        for user in users
    )


def in_their_diary(clinic: Clinic, n: int) -> None:
    """`n` more patients on the first day of their diary, reminded at 21:30: nothing is due
    for them at 19:05 (the old sweep asked each of them, every run). Written in bulk."""
    product = Product.objects.get(code="bellafill")
    patients = bulk_patients(clinic, n, name="In their diary")
    ReminderSettings.objects.bulk_create(
        ReminderSettings(patient=p, reminder_time=dt.time(21, 30)) for p in patients
    )
    Treatment.objects.bulk_create(
        Treatment(
            patient=p,
            clinic=clinic,
            product=product,
            treated_on=dt.date(2026, 11, 22),
            triage_valid_until=new_york(2026, 11, 24, 0, 0),  # missed from then
            next_reminder_at=new_york(2026, 11, 22, 21, 30),
        )
        for p in patients
    )


def test_the_sweep_costs_the_same_for_10_or_1000_patients_in_their_diary(
    clinic: Clinic, settings: Any
) -> None:
    """Issue 12: the sweep cost five queries per patient in their diary, due or not."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    owed = []
    for _ in range(3):
        someone = factories.create_patient(clinic=clinic)
        with time_machine.travel(ENROLLED_AT, tick=False):
            owed.append(factories.create_treatment(patient=someone, treated_on=TREATED_ON))
        check_in_on(owed[-1], 0, 1)
    due_at = {t.pk: next_reminder_of(t) for t in owed}
    assert set(due_at.values()) == {new_york(2026, 11, 22, 19, 0)}

    def sweep_queries() -> tuple[int, str]:
        with time_machine.travel(AFTER_TIME, tick=False), CaptureQueriesContext(connection) as q:
            result = reminders.sweep(now=timezone.now())
        return len(q), result.summary()

    in_their_diary(clinic, 10)
    with_10, said = sweep_queries()
    assert said.startswith("Queued 3 reminder(s) and 0 missed-check-in nudge(s)")

    # The same three owed again, now among a thousand.
    ReminderSettings.objects.filter(patient__treatments__in=owed).delete()
    for pk, at in due_at.items():
        Treatment.objects.filter(pk=pk).update(next_reminder_at=at)
    in_their_diary(clinic, 990)
    assert Treatment.objects.count() == 1003
    with_1000, said = sweep_queries()
    assert said.startswith("Queued 3 reminder(s) and 0 missed-check-in nudge(s)")

    assert with_10 == with_1000
    # The triage's, the watches' and the reminders' due rows read (the watches: none due),
    # then a few writes for each one due.
    assert with_1000 <= 4 + 3 * 6


def test_after_a_reminder_the_sweep_waits_for_the_next_day(
    patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 0, 1)
    with time_machine.travel(AFTER_TIME, tick=False):
        assert sweep().startswith("Queued 1 reminder(s)")
    assert next_reminder_of(treatment) == new_york(2026, 11, 23, 19, 0)


def test_a_sweep_that_did_not_run_for_a_day_sends_only_what_is_owed_now(
    patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 0, 1)
    assert next_reminder_of(treatment) == new_york(2026, 11, 22, 19, 0)
    with time_machine.travel(new_york(2026, 11, 23, 7, 0), tick=False):  # a day late
        assert sweep().startswith("Queued 0 reminder(s) and 0 missed")
    assert next_reminder_of(treatment) == new_york(2026, 11, 23, 19, 0)
    assert mail.outbox == []


def test_a_diary_a_later_treatment_took_over_sends_nothing_more(
    patient: Patient, treatment: Treatment
) -> None:
    check_in_on(treatment, 0, 1, 2, 3)
    with time_machine.travel(utc(2026, 11, 22, 12, 0), tick=False):
        booked = factories.create_treatment(patient=patient, treated_on=dt.date(2026, 11, 25))
    check_in_on(treatment, 4)  # the day before the next one: not told about it
    assert next_reminder_of(treatment) == new_york(2026, 11, 25, 19, 0)
    with time_machine.travel(new_york(2026, 11, 25, 19, 5), tick=False):
        assert sweep().startswith("Queued 1 reminder(s) and 0 missed")
    assert next_reminder_of(treatment) is None
    assert next_reminder_of(booked) == new_york(2026, 11, 26, 19, 0)
    assert AuditEvent.objects.filter(patient=patient, action="reminder.sent").count() == 1


# The reminders page -----------------------------------------------------------------------


def test_reminders_page_shows_and_changes_the_signed_in_patients_settings(
    patient_client: Client, patient: Patient, second_patient: Patient
) -> None:
    response = patient_client.get("/reminders/")
    assert response.status_code == 200
    assert b"Remind me at" in response.content
    assert b'value="19:00"' in response.content
    assert AuditEvent.objects.filter(patient=patient, action="reminders.viewed").exists()

    response = patient_client.post("/reminders/", {"reminder_time": "08:15", "reminders_on": "on"})
    assert response.status_code == 302
    row = ReminderSettings.objects.get(patient=patient)
    assert (row.reminder_time, row.reminders_on) == (dt.time(8, 15), True)
    assert (
        AuditEvent.objects.get(patient=patient, action="reminders.changed").object_id == "08:15 on"
    )
    assert not ReminderSettings.objects.filter(patient=second_patient).exists()
    assert b'value="08:15"' in patient_client.get("/reminders/").content


@pytest.mark.parametrize("bad", ["25:00", "7pm", "", "12:61"])
def test_a_bad_time_is_refused_with_nothing_saved(
    patient_client: Client, patient: Patient, bad: str
) -> None:
    response = patient_client.post("/reminders/", {"reminder_time": bad, "reminders_on": "on"})
    assert response.status_code == 422
    assert b"Please check the time" in response.content
    assert not ReminderSettings.objects.exists()
    assert not AuditEvent.objects.filter(action="reminders.changed").exists()


def test_clinicians_and_strangers_have_no_reminders_page(client: Client, clinician: Any) -> None:
    response = client.get("/reminders/")
    assert response.status_code == 302
    client.force_login(clinician)
    assert client.get("/reminders/").status_code in (302, 404)


def test_home_links_to_reminders(patient_client: Client) -> None:
    with time_machine.travel(AFTER_TIME, tick=False):
        assert b'href="/reminders/"' in patient_client.get("/").content


def test_reminders_page_offers_notifications_with_the_public_key(
    patient_client: Client, vapid: ec.EllipticCurvePrivateKey, settings: Any
) -> None:
    content = patient_client.get("/reminders/").content.decode()
    assert f'data-vapid-public-key="{settings.VAPID_PUBLIC_KEY}"' in content
    assert "/static/js/push.js" in content
    assert "<script>" not in content


# The subscription endpoint ----------------------------------------------------------------


def test_subscribing_stores_and_audits_this_phone(
    patient_client: Client, patient: Patient, push_service: PushService
) -> None:
    phone = make_phone(push_service)
    subscribe(patient_client, phone)
    subscribe(patient_client, phone)  # again: still one row
    row = PushSubscription.objects.get()
    assert (row.patient, row.endpoint) == (patient, phone.endpoint)
    assert AuditEvent.objects.filter(patient=patient, action="push.subscribed").count() == 2


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"endpoint": "https://push.example/x"}',
        '{"endpoint": "https://push.example/x", "keys": {"p256dh": "AAAA", "auth": "AAAA"}}',
    ],
)
def test_bad_subscriptions_are_refused(patient_client: Client, body: str) -> None:
    response = patient_client.post("/push/subscriptions/", body, content_type="application/json")
    assert response.status_code == 400
    assert not PushSubscription.objects.exists()


def test_only_https_endpoints_in_production(
    patient_client: Client, push_service: PushService, settings: Any
) -> None:
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = False
    for endpoint in (f"{push_service.url}/push/x", "http://push.example/x", "ftp://push.example/x"):
        phone = make_phone(push_service)
        phone.endpoint = endpoint
        response = patient_client.post(
            "/push/subscriptions/",
            json.dumps(phone.subscription_json()),
            content_type="application/json",
        )
        assert response.status_code == 400
    phone = make_phone(push_service)
    phone.endpoint = "https://push.example/send/abc"
    subscribe(patient_client, phone)
    # Even with insecure endpoints allowed, plain http must be on loopback.
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = True
    phone.endpoint = "http://push.example/send/abc"
    response = patient_client.post(
        "/push/subscriptions/",
        json.dumps(phone.subscription_json()),
        content_type="application/json",
    )
    assert response.status_code == 400


def test_unsubscribing_removes_only_the_patients_own_subscription(
    patient_client: Client, patient: Patient, second_patient: Patient, push_service: PushService
) -> None:
    mine, theirs = make_phone(push_service, "mine"), make_phone(push_service, "theirs")
    subscribe(patient_client, mine)
    PushSubscription.objects.create(
        patient=second_patient, endpoint=theirs.endpoint, p256dh="x", auth="y"
    )
    response = patient_client.delete(
        "/push/subscriptions/",
        json.dumps({"endpoint": theirs.endpoint}),
        content_type="application/json",
    )
    assert response.json() == {"removed": False}
    assert PushSubscription.objects.filter(patient=second_patient).exists()
    response = patient_client.delete(
        "/push/subscriptions/",
        json.dumps({"endpoint": mine.endpoint}),
        content_type="application/json",
    )
    assert response.json() == {"removed": True}
    assert not PushSubscription.objects.filter(patient=patient).exists()
    assert AuditEvent.objects.filter(patient=patient, action="push.unsubscribed").count() == 1


def test_subscribing_needs_the_csrf_token(patient: Patient, treatment: Treatment) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient.user)
    response = client.post("/push/subscriptions/", "{}", content_type="application/json")
    assert response.status_code == 403


# Commands ----------------------------------------------------------------------------------


def test_sweep_help_states_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        call_command("sweep", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "reminder time" in text
    assert "two days without a check-in" in text
    assert "once per missed stretch" in text
    # The long-term watch's two rules, and the limit shared with the diary.
    assert "The long-term reminder:" in text
    assert "a week later, one nudge" in text
    assert "comes the next day" in text


def test_vapid_keys_prints_a_working_pair() -> None:
    out = io.StringIO()
    call_command("vapid_keys", stdout=out)
    lines = dict(line.split("=", 1) for line in out.getvalue().split())
    private = ec.derive_private_key(
        int.from_bytes(b64url_decode(lines["VAPID_PRIVATE_KEY"]), "big"), ec.SECP256R1()
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert b64url(public) == lines["VAPID_PUBLIC_KEY"]


def test_reminders_page_query_count(
    patient_client: Client, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(8):
        assert patient_client.get("/reminders/").status_code == 200
    with django_assert_max_num_queries(14):  # + the long-term watch: its lock, its row
        response = patient_client.post(
            "/reminders/", {"reminder_time": "07:00", "reminders_on": "on"}
        )
        assert response.status_code == 302


def test_a_phone_moves_to_the_patient_who_subscribed_it_last(
    client: Client,
    patient: Patient,
    second_patient: Patient,
    treatment: Treatment,
    push_service: PushService,
) -> None:
    phone = make_phone(push_service, "shared")
    client.force_login(patient.user)
    subscribe(client, phone)
    client.force_login(second_patient.user)
    subscribe(client, phone)
    assert PushSubscription.objects.get(endpoint=phone.endpoint).patient == second_patient


def test_the_reminder_time_is_said_in_the_patients_time_in_words(patient_client: Client) -> None:
    """Issue 11: the page showed the raw zone name "America/New_York"."""
    page = patient_client.get("/reminders/").content.decode()
    assert "Times are New York time." in page
    assert "America/New_York" not in page
