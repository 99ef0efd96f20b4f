"""`manage.py demo`: the demo clinics, clinicians and patients, and --patients N."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import resolve

from recovery import alerts, checkins, course, login_links, reminders, triage
from recovery.demo.bulk import DiaryWriter, scenario_diary
from recovery.demo.scenarios import Entry, at_least, typical
from recovery.enrollment import TreatmentDetails, add_treatment
from recovery.management.commands.demo import Command
from recovery.models import (
    Alert,
    AuditEvent,
    CheckIn,
    Clinic,
    Clinician,
    LoginLink,
    LongTermWatch,
    Patient,
    ReminderSettings,
    Treatment,
    Triage,
    TriageCounts,
    User,
)
from tests import factories

UTC = dt.UTC
# 04:30 in London is still yesterday evening in New York: the two clinics' "today" differ.
NOW = dt.datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
NEW_YORK_TODAY = dt.date(2026, 11, 24)
LONDON_TODAY = dt.date(2026, 11, 25)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def run_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def run_demo_json(*args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run_demo("--json", *args))
    return result


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Clinic, User, Clinician, Patient, Treatment, CheckIn, Alert)
    }


def latest_treatment(email: str) -> Treatment:
    return Treatment.objects.filter(patient__email=email).select_related("patient").get()


def assert_statuses_follow_the_rules(treatment: Treatment) -> None:
    """Every saved status and reason list is what course.assess_timeline says."""
    check_ins = list(treatment.check_ins.order_by("local_date"))
    expected = course.assess_timeline(
        treated_on=treatment.treated_on,
        check_ins=[course.DatedAnswers(c.local_date, c.answers) for c in check_ins],
        course=treatment.product.course,
    )
    assert [(c.day, c.status, c.reasons) for c in check_ins] == [
        (e.day, e.assessment.status.value, list(e.assessment.reasons)) for e in expected
    ]


def test_creates_two_clinics_with_their_clinicians() -> None:
    data = run_demo_json()

    riverside = Clinic.objects.get(name="Riverside Skin Clinic")
    harbour = Clinic.objects.get(name="Harbour Aesthetics")
    assert (riverside.emergency_number, riverside.time_zone) == ("911", "America/New_York")
    assert riverside.hours == "Mon–Fri 9am–6pm"
    assert riverside.phone and riverside.after_hours_phone
    assert (harbour.emergency_number, harbour.time_zone) == ("999", "Europe/London")
    printed = {
        c["username"]: c["password"] for clinic in data["clinics"] for c in clinic["clinicians"]
    }
    for username, password in printed.items():
        user = User.objects.get(username=username)
        assert user.email == username
        assert user.check_password(password)
    nurse = Clinician.objects.get(user__username="nurse@demo-clinic.example")
    assert (nurse.clinic, nurse.role) == (riverside, Clinician.Role.ADMIN)
    doctor = Clinician.objects.get(user__username="doctor@demo-clinic.example")
    assert (doctor.clinic, doctor.role) == (riverside, Clinician.Role.CLINICIAN)
    assert Clinician.objects.get(user__username="nurse@harbour-demo.example").clinic == harbour


def test_the_demo_clinics_get_alert_emails_and_every_demo_patient_a_mobile() -> None:
    """Issue 11: no alert email was ever seen in make run, and every demo patient had
    "Mobile: None given", the one number a nurse needs in an urgent alert."""
    run_demo_json()
    assert set(Clinic.objects.values_list("alert_email", flat=True)) == {
        "alerts@demo-clinic.example",
        "alerts@harbour-demo.example",
    }
    assert Patient.objects.exists()
    assert not Patient.objects.filter(mobile="").exists()


def test_a_second_run_creates_nothing_new() -> None:
    run_demo()
    before = counts()

    run_demo()

    assert counts() == before
    assert before["Clinic"] == 2
    assert before["Patient"] == 9


DEMO_EMAILS = [
    "ana.demo@example.com",
    "ben.demo@example.com",
    "chloe.demo@example.com",
    "david.demo@example.com",
    "emma.demo@example.com",
    "farah.demo@example.com",
    "oliver.demo@example.com",
    "lucia.demo@example.com",
    "priya.demo@example.com",
]


def test_every_write_is_audited_once_and_a_second_run_enrolls_nobody_again() -> None:
    """The demo writes through the write functions, so each row is audited as theirs are.
    A second run deletes each demo patient's treatment (audited) and writes the same again,
    without enrolling anyone twice, and leaves no audit row without its patient."""

    def trail() -> Counter[tuple[str, str]]:
        return Counter(AuditEvent.objects.values_list("patient__email", "action"))

    run_demo()
    first = trail()
    run_demo()
    second = trail() - first

    enrolled = Counter({(email, "patient.enrolled"): 1 for email in DEMO_EMAILS})
    deleted = Counter({(email, "treatment.deleted"): 1 for email in DEMO_EMAILS})
    assert first & enrolled == enrolled
    assert second == first - enrolled + deleted
    assert first[("chloe.demo@example.com", "check_in.created")] == 16
    assert first[("chloe.demo@example.com", "alert.opened")] == 1
    assert first[("david.demo@example.com", "treatment.added")] == 1
    assert first[("david.demo@example.com", "patient.login_link_issued")] == 1
    assert not AuditEvent.objects.filter(patient__isnull=True).exists()
    # Each check-in of today's diaries is on the trail once.
    audited = Counter(
        AuditEvent.objects.filter(action="check_in.created").values_list("object_id", flat=True)
    )
    assert all(audited[str(c.public_id)] == 1 for c in CheckIn.objects.all())


def test_the_demo_emails_no_one_about_the_alerts_of_its_diaries(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Its alerts were opened days ago: the clinics' alert addresses (set, for the alerts
    of what one does next in make run) get no email about them, on a first run or later."""
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            run_demo()

    assert Alert.objects.filter(resolved_at__isnull=True).count() == 3
    assert not Clinic.objects.filter(alert_email="").exists()
    assert mail.outbox == []


def test_a_second_run_keeps_the_clinicians_password_hash() -> None:
    """Rehashing the same password would sign the clinicians out of their sessions."""
    run_demo()
    before = User.objects.get(username="nurse@demo-clinic.example").password

    run_demo()

    assert User.objects.get(username="nurse@demo-clinic.example").password == before


def test_a_second_run_restores_a_changed_demo_password() -> None:
    run_demo()
    user = User.objects.get(username="nurse@demo-clinic.example")
    user.set_password("something else entirely")
    user.save()

    run_demo()

    user.refresh_from_db()
    assert user.check_password("demo-clinic-2026")


def test_a_run_on_a_later_day_moves_the_timelines_to_today() -> None:
    run_demo()
    before = counts()

    with time_machine.travel(NOW + dt.timedelta(days=3), tick=False):
        run_demo()

    assert counts() == before
    treatment = latest_treatment("ana.demo@example.com")
    assert treatment.treated_on == NEW_YORK_TODAY + dt.timedelta(days=3) - dt.timedelta(days=5)
    last = treatment.check_ins.order_by("local_date").last()
    assert last is not None
    assert last.local_date == NEW_YORK_TODAY + dt.timedelta(days=3)
    assert AuditEvent.objects.filter(patient=treatment.patient, action="treatment.deleted").exists()


@pytest.mark.parametrize(
    ("email", "day", "status", "reasons", "last_check_in_day"),
    [
        ("ana.demo@example.com", 5, "on_track", [], 5),
        ("ben.demo@example.com", 10, "watch", ["slow_to_improve:swelling"], 10),
        ("chloe.demo@example.com", 17, "contact_clinic", ["persisting:lumps"], 17),
        ("david.demo@example.com", 2, "urgent", ["red_flag:skin_color"], 2),
        # Missed check-ins: none yesterday nor the day before.
        ("emma.demo@example.com", 8, "on_track", [], 4),
        # Diary finished: the last check-in is the diary's last day.
        ("farah.demo@example.com", 40, "on_track", [], 30),
        ("oliver.demo@example.com", 3, "on_track", [], 3),
        ("lucia.demo@example.com", 9, "watch", ["worsening:lumps"], 9),
        ("priya.demo@example.com", 4, "contact_clinic", ["worsening:swelling"], 4),
    ],
)
def test_each_demo_patient_is_where_the_scenario_says(
    email: str, day: int, status: str, reasons: list[str], last_check_in_day: int
) -> None:
    run_demo()

    treatment = latest_treatment(email)
    patient = treatment.patient
    assert treatment.day_on(patient.today()) == day
    last = treatment.check_ins.order_by("local_date").last()
    assert last is not None
    assert (last.day, last.status, last.reasons) == (last_check_in_day, status, reasons)
    assert_statuses_follow_the_rules(treatment)


def test_demo_check_ins_look_like_a_real_diary() -> None:
    run_demo()

    ana = latest_treatment("ana.demo@example.com")
    days = list(ana.check_ins.values_list("day", flat=True))
    assert days == [0, 1, 2, 3, 4, 5]
    first = ana.check_ins.get(day=0)
    assert first.swelling == 2 and first.note
    assert all(c.created_at <= NOW for c in CheckIn.objects.all())
    assert all(
        c.entered_by_id == c.treatment.patient.user_id
        for c in CheckIn.objects.select_related("treatment__patient")
    )
    finished = latest_treatment("farah.demo@example.com")
    assert 20 < finished.check_ins.count() < 31
    assert finished.product.code == "dermal-filler"
    red_flag = latest_treatment("david.demo@example.com").check_ins.get(day=2)
    assert red_flag.red_flags == ["skin_color"]


def test_treatment_dates_are_in_each_patients_own_time_zone() -> None:
    data = run_demo_json()

    treated_on = {p["name"]: p["treated_on"] for c in data["clinics"] for p in c["patients"]}
    # Ana (New York, day 5) and Oliver (London, day 3) on the same instant.
    assert treated_on["Ana Silva"] == (NEW_YORK_TODAY - dt.timedelta(days=5)).isoformat()
    assert treated_on["Oliver Bennett"] == (LONDON_TODAY - dt.timedelta(days=3)).isoformat()
    zones = {p.email: p.time_zone for p in Patient.objects.all()}
    assert zones["emma.demo@example.com"] == "America/Chicago"
    assert zones["lucia.demo@example.com"] == "Europe/Madrid"
    assert zones["ana.demo@example.com"] == "America/New_York"


def test_patients_are_adults() -> None:
    run_demo("--patients", "50")

    born_22_years_ago = dt.date(NOW.year - 22, NOW.month, NOW.day)
    assert Patient.objects.count() == 59
    assert not Patient.objects.filter(date_of_birth__gt=born_22_years_ago).exists()


def test_json_lists_each_clinic_with_fresh_working_login_links(client: Client) -> None:
    data = run_demo_json()

    assert [c["name"] for c in data["clinics"]] == ["Riverside Skin Clinic", "Harbour Aesthetics"]
    assert data["extra_patients"] == 0
    riverside = data["clinics"][0]
    assert riverside["clinicians"][0] == {
        "username": "nurse@demo-clinic.example",
        "password": "demo-clinic-2026",
        "role": "admin",
    }
    patients = [p for c in data["clinics"] for p in c["patients"]]
    assert len(patients) == 9
    for p in patients:
        assert set(p) >= {"name", "login_url", "treated_on"}
        dt.date.fromisoformat(p["treated_on"])
        assert p["login_url"].startswith(settings.SITE_URL + "/")
        # /l/#<token>: the browser asks for /l/, and the page posts the token.
        url = urlsplit(p["login_url"])
        assert resolve(url.path).url_name == "login_link"
        link = login_links.usable_link(token=url.fragment, at=NOW)
        assert link.patient.name == p["name"]

        assert client.get(url.path).status_code == 200
        response = client.post(url.path, {"token": url.fragment}, follow=True)

        assert response.status_code == 200
        assert link.patient.clinic.name in response.content.decode()


def test_each_run_gives_every_demo_patient_a_new_link() -> None:
    first = run_demo_json()
    second = run_demo_json()

    urls = [p["login_url"] for d in (first, second) for c in d["clinics"] for p in c["patients"]]
    assert len(set(urls)) == 18
    assert LoginLink.objects.count() == 18


def test_the_two_clinics_patients_are_separate() -> None:
    data = run_demo_json()

    for listed in data["clinics"]:
        clinic = Clinic.objects.get(name=listed["name"])
        assert sorted(p["name"] for p in listed["patients"]) == sorted(
            clinic.patients.values_list("name", flat=True)
        )
    riverside_names = {p["name"] for p in data["clinics"][0]["patients"]}
    harbour_names = {p["name"] for p in data["clinics"][1]["patients"]}
    assert riverside_names.isdisjoint(harbour_names)
    assert "Lucía Fernández" in harbour_names


def test_the_summary_says_how_to_sign_in() -> None:
    output = run_demo()

    assert "nurse@demo-clinic.example" in output
    assert "demo-clinic-2026" in output
    assert "nurse@harbour-demo.example" in output
    assert "Ben Carter — day 10, slow to improve" in output
    assert "Clinicians sign in at http://127.0.0.1:8000/clinic/sign-in/." in output
    assert "Emma Rossi — day 8, missed check-ins since day 4" in output
    assert output.count(settings.SITE_URL + "/l/#") == 9
    assert f"expire after {settings.LOGIN_LINK_MAX_AGE_HOURS} hours" in output


def test_generated_patients_follow_the_rules() -> None:
    run_demo()
    before = counts()

    data = run_demo_json("--patients", "200", "--seed", "7")

    assert data["extra_patients"] == 200
    assert len([p for c in data["clinics"] for p in c["patients"]]) == 9
    assert LoginLink.objects.count() == 18  # no links for the generated patients
    after = counts()
    assert after["Patient"] - before["Patient"] == 200
    assert after["Treatment"] - before["Treatment"] == 200
    assert after["CheckIn"] - before["CheckIn"] == data["extra_check_ins"] > 1000
    generated = Treatment.objects.exclude(patient__email__contains=".demo@").select_related(
        "patient", "product"
    )
    assert len(generated) == 200
    for treatment in generated:
        today = treatment.patient.today()
        assert today - dt.timedelta(days=60) <= treatment.treated_on <= today
        assert_statuses_follow_the_rules(treatment)
        assert all(
            treatment.treated_on <= c.local_date <= today and c.day <= 30 and c.created_at <= NOW
            for c in treatment.check_ins.all()
        )
    statuses = set(CheckIn.objects.values_list("status", flat=True))
    assert {"on_track", "watch"} <= statuses
    assert AuditEvent.objects.filter(action="patient.enrolled").count() == 9 + 200
    assert {t.patient.clinic.name for t in generated} == {c["name"] for c in data["clinics"]}


def test_generated_patients_are_reproducible_with_a_seed() -> None:
    def diaries(patients: list[Patient]) -> list[tuple[object, ...]]:
        return [
            (
                p.name,
                p.date_of_birth,
                p.treatments.get().treated_on,
                list(
                    p.treatments.get().check_ins.values_list("day", "swelling", "lumps", "status")
                ),
            )
            for p in patients
        ]

    run_demo("--patients", "30", "--seed", "3")
    first = list(Patient.objects.exclude(email__contains=".demo@").order_by("id"))
    run_demo("--patients", "30", "--seed", "3")
    second = list(Patient.objects.exclude(email__contains=".demo@").order_by("id"))[30:]

    assert diaries(first) == diaries(second)


def test_help_says_what_it_does() -> None:
    assert "rebuilt relative to today" in Command.help
    assert "extra_patients" in Command.help


# --- What the live app keeps on each treatment ----------------------------------------


def alert_history(treatment: Treatment) -> list[tuple[object, ...]]:
    return [
        (
            a.level,
            a.reasons,
            a.check_in.local_date if a.check_in else None,
            a.opened_at,
            a.raised_at,
            a.acknowledged_at,
            a.acknowledged_by_id,
            a.resolved_at,
            a.resolved_by_id,
            a.outcome,
            a.outcome_note,
        )
        for a in treatment.alerts.select_related("check_in").order_by("opened_at")
    ]


def through_the_live_app(treatment: Treatment) -> Treatment:
    """A new patient's treatment given `treatment`'s check-ins through record_check_in, each
    on its own day and at its own time, with the demo's alerts resolved through
    acknowledge_alert and resolve_alert by the same clinician at the same times."""
    patient = factories.create_patient(
        clinic=treatment.clinic, time_zone=treatment.patient.time_zone
    )
    twin = add_treatment(
        patient=patient,
        details=TreatmentDetails(treatment.product, treatment.treated_on),
        recorded_by=None,
    )
    resolutions = list(treatment.alerts.filter(resolved_at__isnull=False).order_by("resolved_at"))

    def resolve_until(until: dt.datetime) -> None:
        while resolutions and resolutions[0].resolved_at <= until:  # type: ignore[operator]
            done = resolutions.pop(0)
            assert done.acknowledged_by is not None and done.resolved_by is not None
            open_alert = Alert.objects.get(treatment=twin, resolved_at__isnull=True)
            acknowledged = alerts.acknowledge_alert(
                alert=open_alert,
                seen_version=open_alert.version,
                by=done.acknowledged_by,
                at=done.acknowledged_at,  # type: ignore[arg-type]
                ip_address=None,
            )
            alerts.resolve_alert(
                alert=acknowledged,
                seen_version=acknowledged.version,
                by=done.resolved_by,
                outcome=Alert.Outcome(done.outcome),
                note=done.outcome_note,
                at=done.resolved_at,  # type: ignore[arg-type]
                ip_address=None,
            )

    for check_in in treatment.check_ins.order_by("local_date"):
        resolve_until(check_in.created_at)
        checkins.record_check_in(
            treatment=twin,
            local_date=check_in.local_date,
            answers=check_in.answers,
            note=check_in.note,
            entered_by=patient.user,
            today=check_in.local_date,
            at=check_in.created_at,
        )
    resolve_until(NOW)
    assert resolutions == []  # each was of an alert the live app had open
    twin = Treatment.objects.select_related(
        "product", "patient", "latest_check_in", "open_alert"
    ).get(pk=twin.pk)
    triage.refresh_triage(twin, now=NOW)
    return twin


def kept_fields(treatment: Treatment) -> tuple[object, ...]:
    latest = treatment.latest_check_in
    alert = treatment.open_alert
    return (
        latest.local_date if latest else None,
        (alert.level, alert.opened_at) if alert else None,
        treatment.triage,
        treatment.triage_since,
        treatment.triage_valid_until,
    )


def test_every_treatment_is_kept_as_the_live_app_keeps_it() -> None:
    run_demo("--patients", "200", "--seed", "7")

    treatments = list(
        Treatment.objects.select_related("patient", "product", "latest_check_in", "open_alert")
    )
    assert len(treatments) == 209
    for treatment in treatments:
        assert treatment.clinic_id == treatment.patient.clinic_id
        assert not treatment.superseded
        assert treatment.latest_check_in == treatment.check_ins.order_by("local_date").last()
        open_alerts = list(treatment.alerts.filter(resolved_at__isnull=True))
        assert treatment.open_alert == (open_alerts[0] if open_alerts else None)
        place = triage.place_of(treatment, now=NOW)
        assert (treatment.triage, treatment.triage_since, treatment.triage_valid_until) == (
            place.triage,
            place.since,
            place.valid_until,
        )
    assert not triage.due_for_sweep(now=NOW).exists()
    assert {t.triage for t in treatments} == set(Triage)
    # And each is next owed its reminder when the live app's schedule says (the bulk
    # writer's treatments were never reminded before).
    by_patient: dict[int, list[Treatment]] = {}
    for treatment in Treatment.objects.select_related(*reminders.SCHEDULED_WITH).filter(
        patient__reminder_settings__isnull=True
    ):
        by_patient.setdefault(treatment.patient_id, []).append(treatment)
    for own in by_patient.values():
        assert reminders.schedule(own, reminder=ReminderSettings()) == [], own
    assert Treatment.objects.filter(next_reminder_at__isnull=False).count() > 0
    # And each clinic's dashboard counts are those of its rows, after a second run too.
    run_demo()
    for clinic in Clinic.objects.all():
        current = Treatment.objects.filter(clinic=clinic, superseded=False)
        by_level = TriageCounts.objects.get(clinic=clinic).by_level()
        assert by_level == {level: current.filter(triage=level).count() for level in Triage}


def test_the_alerts_are_those_the_live_app_makes_of_the_same_check_ins() -> None:
    run_demo("--patients", "200", "--seed", "7")
    alerting = list(
        Treatment.objects.filter(check_ins__status__in=["contact_clinic", "urgent"])
        .distinct()
        .select_related("patient", "product", "clinic", "latest_check_in", "open_alert")
        .order_by("id")
    )
    # The demo's own patients and the generated ones, some with several alerts.
    assert {"chloe.demo@example.com", "david.demo@example.com"} <= {
        t.patient.email for t in alerting
    }
    assert len(alerting) > 20
    assert any(t.alerts.count() > 1 for t in alerting)

    for treatment in alerting:
        twin = through_the_live_app(treatment)

        assert alert_history(treatment) == alert_history(twin), treatment.patient.email
        assert kept_fields(treatment) == kept_fields(twin), treatment.patient.email


def test_alerts_over_three_days_old_were_resolved_by_a_clinician_of_the_clinic() -> None:
    run_demo("--patients", "300", "--seed", "11")

    all_alerts = list(
        Alert.objects.select_related(
            "treatment", "resolved_by__clinician", "acknowledged_by__clinician"
        )
    )
    resolved = [a for a in all_alerts if a.resolved_at is not None]
    assert len(resolved) > 10
    for alert in all_alerts:
        last_raised = alert.raised_at or alert.opened_at
        if alert.resolved_at is None:
            assert NOW - last_raised <= dt.timedelta(days=3)
            assert (alert.outcome, alert.outcome_note, alert.resolved_by) == ("", "", None)
            continue
        assert NOW - last_raised > dt.timedelta(days=3)
        assert alert.acknowledged_at is not None
        assert last_raised < alert.acknowledged_at <= alert.resolved_at <= NOW
        assert alert.outcome in Alert.Outcome.values
        assert alert.outcome_note.strip()
        assert alert.resolved_by is not None and alert.acknowledged_by == alert.resolved_by
        assert alert.resolved_by.clinician.clinic_id == alert.treatment.clinic_id
    outcomes = Counter(a.outcome for a in resolved)
    assert outcomes.most_common(1)[0][0] == Alert.Outcome.ADVISED_AT_HOME
    assert outcomes[Alert.Outcome.SEEN_IN_CLINIC] > 0


@pytest.mark.parametrize(
    ("email", "place", "alert"),
    [
        ("ana.demo@example.com", Triage.ON_TRACK, None),
        ("ben.demo@example.com", Triage.WATCH, None),
        (
            "chloe.demo@example.com",
            Triage.CONTACT_CLINIC,
            ("contact_clinic", "persisting:lumps", 15),
        ),
        ("david.demo@example.com", Triage.URGENT, ("urgent", "red_flag:skin_color", 2)),
        ("emma.demo@example.com", Triage.MISSED_CHECK_IN, None),
        ("farah.demo@example.com", Triage.DIARY_FINISHED, None),
        ("oliver.demo@example.com", Triage.ON_TRACK, None),
        ("lucia.demo@example.com", Triage.WATCH, None),
        (
            "priya.demo@example.com",
            Triage.CONTACT_CLINIC,
            ("contact_clinic", "worsening:swelling", 4),
        ),
    ],
)
def test_each_demo_patient_has_the_place_and_alert_of_the_scenario(
    email: str, place: Triage, alert: tuple[str, str, int] | None
) -> None:
    run_demo()

    treatment = latest_treatment(email)
    assert treatment.triage == place
    assert treatment.latest_check_in == treatment.check_ins.order_by("local_date").last()
    made = list(treatment.alerts.select_related("check_in"))
    if alert is None:
        assert made == [] and treatment.open_alert is None
        return
    [opened] = made
    assert opened.check_in is not None
    assert (opened.level, opened.reasons, opened.check_in.day) == (alert[0], [alert[1]], alert[2])
    assert opened.opened_at == opened.check_in.created_at == treatment.triage_since
    assert opened.resolved_at is None and treatment.open_alert == opened


def test_the_first_clinics_dashboard_reads_in_triage_order() -> None:
    run_demo()

    rows = Treatment.objects.filter(clinic__name="Riverside Skin Clinic", superseded=False)
    assert list(rows.order_by("triage", "triage_since").values_list("patient__name", "triage")) == [
        ("David Okafor", Triage.URGENT),
        ("Chloe Nguyen", Triage.CONTACT_CLINIC),
        ("Emma Rossi", Triage.MISSED_CHECK_IN),
        ("Ben Carter", Triage.WATCH),
        ("Ana Silva", Triage.ON_TRACK),
        ("Farah Haddad", Triage.DIARY_FINISHED),
    ]


def test_a_second_run_rebuilds_the_demo_patients_alerts_with_their_treatments() -> None:
    run_demo("--patients", "40")
    first = set(Alert.objects.values_list("public_id", flat=True))
    demo_alerts = Alert.objects.filter(treatment__patient__email__contains=".demo@")
    assert demo_alerts.count() == 3

    run_demo()

    assert demo_alerts.count() == 3
    assert not demo_alerts.filter(public_id__in=first).exists()
    assert Alert.objects.count() == len(first)  # the generated patients' are kept
    for treatment in Treatment.objects.select_related("open_alert"):
        open_alerts = list(treatment.alerts.filter(resolved_at__isnull=True))
        assert treatment.open_alert == (open_alerts[0] if open_alerts else None)


def test_generated_alerts_are_reproducible_with_a_seed() -> None:
    def history() -> list[list[tuple[object, ...]]]:
        generated = Treatment.objects.exclude(patient__email__contains=".demo@").order_by("id")
        return [alert_history(t) for t in generated]

    run_demo("--patients", "60", "--seed", "5")
    first = history()
    Patient.objects.exclude(email__contains=".demo@").delete()

    run_demo("--patients", "60", "--seed", "5")

    assert history() == first
    assert any(first)


def test_a_diary_opens_resolves_raises_and_merges_alerts_as_the_live_app_does(
    patient: Patient, clinician: User
) -> None:
    """Two alerts long resolved, then one opened on day 18, raised to urgent on day 19
    and given a new reason on day 20 (today), still open."""
    treatment = factories.create_treatment(
        patient=patient, treated_on=NEW_YORK_TODAY - dt.timedelta(days=20)
    )
    lump, red_flag = at_least(typical(30), symptom="lumps", rating=1), ("severe_pain",)
    entries = [
        *(Entry(day, typical(day)) for day in range(3)),
        Entry(3, at_least(typical(3), symptom="swelling", rating=3)),  # severe, worse: contact
        Entry(4, typical(4)),
        Entry(5, at_least(typical(5), symptom="lumps", rating=2)),  # worse again: contact
        Entry(10, typical(10)),
        Entry(17, lump),  # back: watch
        Entry(18, lump),  # persisting: contact
        Entry(19, lump, red_flags=red_flag),  # urgent
        Entry(20, at_least(lump, symptom="swelling", rating=2)),  # and worse: contact
    ]
    writer = DiaryWriter(now=NOW, seed=1, clinicians={patient.clinic_id: [clinician]})
    writer.write(
        treatment,
        scenario_diary(treatment=treatment, entries=entries, time_zone=patient.time_zone, now=NOW),
    )
    writer.finish()

    treatment = Treatment.objects.select_related(
        "patient", "product", "clinic", "latest_check_in", "open_alert"
    ).get(pk=treatment.pk)
    made = list(treatment.alerts.select_related("check_in").order_by("opened_at"))
    assert [(a.level, a.check_in.day if a.check_in else None) for a in made] == [
        ("contact_clinic", 3),
        ("contact_clinic", 5),
        ("urgent", 19),
    ]
    assert all(a.resolved_by == clinician for a in made[:2])
    last = made[2]
    assert last.reasons == ["persisting:lumps", "red_flag:severe_pain", "worsening:swelling"]
    assert last.check_in is not None and last.raised_at == last.check_in.created_at
    assert last.resolved_at is None and treatment.open_alert == last
    assert (treatment.triage, treatment.triage_since) == (Triage.URGENT, last.raised_at)
    assert treatment.latest_check_in is not None and treatment.latest_check_in.day == 20
    twin = through_the_live_app(treatment)
    assert alert_history(twin) == alert_history(treatment)
    assert kept_fields(twin) == kept_fields(treatment)


def test_the_long_term_patients_are_on_the_first_clinics_dashboard() -> None:
    """Issue 13: `--long-term` adds a patient who answered yes to a late lump 8 months after
    Bellafill (an alert open) and one whose long-term check-in is due today."""
    call_command("demo", "--long-term", stdout=io.StringIO())
    watches = {w.patient.name: w for w in LongTermWatch.objects.select_related("patient", "clinic")}
    assert watches["Greta Long"].standing == "answered_yes"
    assert watches["Hugo Due"].standing == "due"
    assert Alert.objects.filter(
        late_check__watch=watches["Greta Long"], resolved_at__isnull=True
    ).exists()
    counts = TriageCounts.objects.get(clinic=watches["Greta Long"].clinic)
    assert (counts.long_term_due, counts.long_term_answered_yes) == (1, 1)
