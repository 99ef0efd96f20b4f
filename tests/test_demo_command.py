"""`manage.py demo`: the demo clinics, clinicians and patients, and --patients N."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import resolve

from recovery import course, login_links
from recovery.management.commands.demo import Command
from recovery.models import (
    AuditEvent,
    CheckIn,
    Clinic,
    Clinician,
    LoginLink,
    Patient,
    Treatment,
    User,
)

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
        for model in (Clinic, User, Clinician, Patient, Treatment, CheckIn)
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


def test_a_second_run_creates_nothing_new() -> None:
    run_demo()
    before = counts()

    run_demo()

    assert counts() == before
    assert before["Clinic"] == 2
    assert before["Patient"] == 9


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
        path = urlsplit(p["login_url"]).path
        link = login_links.usable_link(token=resolve(path).kwargs["token"], at=NOW)
        assert link.patient.name == p["name"]

        response = client.get(path, follow=True)

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
    assert "Emma Rossi — day 8, missed check-ins since day 4" in output
    assert output.count(settings.SITE_URL + "/l/") == 9
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
