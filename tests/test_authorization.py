"""Every URL of the app, as every kind of visitor: who gets what.

Another patient's or another clinic's record is a 404 — never a 200, never a
500. A new URL fails `test_every_url_is_walked` until it is added here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest
import time_machine
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from recovery.models import (
    Alert,
    CheckIn,
    Clinic,
    Clinician,
    LateCheck,
    LongTermWatch,
    Patient,
    Treatment,
    User,
)
from tests import factories
from tests.helpers import TREATED_ON

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 25, 15, tzinfo=dt.UTC)  # day 5, 10am in New York

ROLES = [
    "anonymous",
    "patient",
    "other_patient",
    "clinician",
    "clinic_admin",
    "other_clinician",
    "other_clinic_admin",
]


@dataclass
class World:
    """The patient, their check-in and open alert; and who is visiting."""

    patient: Patient
    check_in: CheckIn
    alert: Alert
    late_check: LateCheck
    users: dict[str, User | None]


@pytest.fixture
def world(treatment: Treatment, second_patient: Patient, other_clinic: Clinic) -> World:
    with time_machine.travel(NOW, tick=False):
        check_in = factories.create_check_in(
            treatment=treatment, local_date=TREATED_ON + dt.timedelta(days=5), swelling=3
        )
    patient = treatment.patient
    return World(
        patient=patient,
        check_in=check_in,
        alert=Alert.objects.get(treatment=treatment),
        # A long-term check-in, as if answered months on (one can't be, during the diary).
        late_check=LateCheck.objects.create(
            watch=LongTermWatch.objects.get(patient=patient),
            local_date=TREATED_ON + dt.timedelta(days=70),
            lump=False,
            created_at=NOW,
        ),
        users={
            "anonymous": None,
            "patient": patient.user,
            "other_patient": second_patient.user,
            "clinician": factories.create_clinician(clinic=patient.clinic),
            "clinic_admin": factories.create_clinician(
                clinic=patient.clinic,
                role=Clinician.Role.ADMIN,
            ),
            "other_clinician": factories.create_clinician(clinic=other_clinic),
            "other_clinic_admin": factories.create_clinician(
                clinic=other_clinic,
                role=Clinician.Role.ADMIN,
            ),
        },
    )


# What each kind of URL answers, by role. "sign-in" is a redirect to a sign-in page;
# 200 also stands for a redirect elsewhere (a form answered, a page moved on).
SIGN_IN = "sign-in"
PUBLIC = dict.fromkeys(ROLES, 200)
PATIENT_PAGE = {
    "anonymous": SIGN_IN,
    "patient": 200,
    "other_patient": 200,  # their own page
    "clinician": 404,
    "clinic_admin": 404,
    "other_clinician": 404,
    "other_clinic_admin": 404,
}
PATIENTS_RECORD = {**PATIENT_PAGE, "other_patient": 404}
CLINIC_PAGE = {
    "anonymous": SIGN_IN,
    "patient": 404,
    "other_patient": 404,
    "clinician": 200,
    "clinic_admin": 200,
    "other_clinician": 200,  # their own clinic's page
    "other_clinic_admin": 200,
}
CLINICS_RECORD = {**CLINIC_PAGE, "other_clinician": 404, "other_clinic_admin": 404}
# Only clinic admins: a clinician without the role is refused (403) before any lookup.
ADMINS_RECORD = {**CLINICS_RECORD, "clinician": 403, "other_clinician": 403}


@dataclass(frozen=True)
class Walk:
    path: Callable[[World], str]
    method: str
    expected: Mapping[str, object]
    data: Callable[[World], dict[str, str]] | None = None


def _patient_id(w: World) -> str:
    return str(w.patient.public_id)


WALKS: dict[str, list[Walk]] = {
    "healthz": [Walk(lambda w: "/healthz", "get", PUBLIC)],
    "sign_in": [Walk(lambda w: "/sign-in/", "get", PUBLIC)],
    "request_link": [
        Walk(lambda w: "/sign-in/new-link/", "post", PUBLIC, lambda w: {"email": "x@example.com"})
    ],
    "sign_out": [Walk(lambda w: "/sign-out/", "post", {**PUBLIC, "anonymous": SIGN_IN})],
    # The page a link opens (/l/#<token>: the token is posted, never in the URL).
    "login_link": [
        Walk(lambda w: "/l/", "get", PUBLIC),
        Walk(
            lambda w: "/l/",
            "post",
            dict.fromkeys(ROLES, 404),
            lambda w: {"token": "not-a-real-token"},
        ),
        Walk(lambda w: "/l/not-a-real-token", "get", dict.fromkeys(ROLES, 404)),
    ],
    "home": [
        Walk(
            lambda w: "/",
            "get",
            {**PATIENT_PAGE, **{r: 200 for r in ROLES if "clinic" in r}},
        )
    ],
    "check_in": [Walk(lambda w: "/check-in/", "get", PATIENT_PAGE)],
    "check_in_result": [
        Walk(lambda w: f"/check-ins/{w.check_in.public_id}/", "get", PATIENTS_RECORD)
    ],
    "my_recovery": [Walk(lambda w: "/my-recovery/", "get", PATIENT_PAGE)],
    "late_check": [Walk(lambda w: "/long-term/", "get", PATIENT_PAGE)],
    "late_check_result": [
        Walk(lambda w: f"/long-term/{w.late_check.public_id}/", "get", PATIENTS_RECORD)
    ],
    # Each patient stops their own watch (answered with a redirect to their page).
    "long_term_stop": [
        Walk(lambda w: "/long-term/stop/", "post", PATIENT_PAGE, lambda w: {"action": "stop"})
    ],
    "reminders": [
        Walk(lambda w: "/reminders/", "get", PATIENT_PAGE),
        Walk(
            lambda w: "/reminders/",
            "post",
            PATIENT_PAGE,
            lambda w: {"reminder_time": "08:00", "reminders_on": "on"},
        ),
    ],
    # The body must be a browser's subscription JSON: a form body is refused (400).
    "push_subscriptions": [
        Walk(
            lambda w: "/push/subscriptions/",
            "post",
            {**PATIENT_PAGE, "patient": 400, "other_patient": 400},
        )
    ],
    "manifest": [Walk(lambda w: "/manifest.webmanifest", "get", PUBLIC)],
    "service_worker": [Walk(lambda w: "/sw.js", "get", PUBLIC)],
    "clinic:sign_in": [Walk(lambda w: "/clinic/sign-in/", "get", PUBLIC)],
    "clinic:verify_code": [
        Walk(
            lambda w: "/clinic/sign-in/code/",
            "get",
            {**CLINIC_PAGE, "other_clinician": 200},
        )
    ],
    "clinic:two_factor_setup": [Walk(lambda w: "/clinic/two-factor/", "get", CLINIC_PAGE)],
    "clinic:sign_out": [Walk(lambda w: "/clinic/sign-out/", "post", PUBLIC)],
    "clinic:dashboard": [Walk(lambda w: "/clinic/", "get", CLINIC_PAGE)],
    "clinic:password_reset": [
        Walk(lambda w: "/clinic/password-reset/", "get", PUBLIC),
        Walk(lambda w: "/clinic/password-reset/", "post", PUBLIC, lambda w: {"email": "x@y.z"}),
    ],
    "clinic:password_reset_sent": [Walk(lambda w: "/clinic/password-reset/sent/", "get", PUBLIC)],
    "clinic:password_reset_confirm": [
        Walk(lambda w: "/clinic/password-reset/MQ/not-a-token/", "get", PUBLIC)
    ],
    "clinic:password_reset_done": [Walk(lambda w: "/clinic/password-reset/done/", "get", PUBLIC)],
    "clinic:enroll": [Walk(lambda w: "/clinic/patients/new/", "get", CLINIC_PAGE)],
    "clinic:enrolled": [
        Walk(lambda w: f"/clinic/patients/{_patient_id(w)}/enrolled/", "get", CLINICS_RECORD)
    ],
    "clinic:export": [Walk(lambda w: "/clinic/export/", "get", CLINIC_PAGE)],
    "clinic:patient": [
        Walk(lambda w: f"/clinic/patients/{_patient_id(w)}/", "get", CLINICS_RECORD)
    ],
    "clinic:check_in": [
        Walk(lambda w: f"/clinic/patients/{_patient_id(w)}/check-in/", "get", CLINICS_RECORD)
    ],
    "clinic:new_treatment": [
        Walk(lambda w: f"/clinic/patients/{_patient_id(w)}/treatments/new/", "get", CLINICS_RECORD)
    ],
    "clinic:sign_in_link": [
        Walk(
            lambda w: f"/clinic/patients/{_patient_id(w)}/sign-in-link/",
            "post",
            CLINICS_RECORD,
            lambda w: {"action": "show"},
        )
    ],
    "clinic:audit_trail": [
        Walk(lambda w: f"/clinic/patients/{_patient_id(w)}/audit/", "get", ADMINS_RECORD)
    ],
    "clinic:acknowledge_alert": [
        Walk(
            lambda w: f"/clinic/alerts/{w.alert.public_id}/acknowledge/",
            "post",
            CLINICS_RECORD,
            lambda w: {"version": str(w.alert.version)},
        )
    ],
    "clinic:resolve_alert": [
        Walk(lambda w: f"/clinic/alerts/{w.alert.public_id}/resolve/", "get", CLINICS_RECORD),
        Walk(
            lambda w: f"/clinic/alerts/{w.alert.public_id}/resolve/",
            "post",
            {**CLINICS_RECORD},
            lambda w: {
                "outcome": "advised_at_home",
                "note": "Called; settling.",
                "version": str(w.alert.version),
            },
        ),
    ],
}


def _names(resolver: URLResolver, namespace: str = "") -> list[str]:
    names = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # Django's own admin, walked by its own tests
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names += _names(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            names.append(namespace + entry.name)
    return names


def test_every_url_is_walked() -> None:
    assert sorted(_names(get_resolver())) == sorted(WALKS)


CASES = [
    pytest.param(name, i, role, id=f"{name}[{i}]-{role}")
    for name, walks in WALKS.items()
    for i in range(len(walks))
    for role in ROLES
]


def _outcome(status: int, location: str) -> int | str:
    if status == 302 and "sign-in" in location and "next=" in location:
        return SIGN_IN
    if status in (302, 422):
        return 200  # a redirect onwards, or a form answered with its errors
    return status


@pytest.mark.parametrize(("name", "index", "role"), CASES)
def test_who_gets_what(client: Client, world: World, name: str, index: int, role: str) -> None:
    walk = WALKS[name][index]
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    with time_machine.travel(NOW, tick=True):
        request = client.post if walk.method == "post" else client.get
        response = request(walk.path(world), walk.data(world) if walk.data else {})
    outcome = _outcome(response.status_code, response.get("Location", ""))
    assert outcome == walk.expected[role], (
        f"{walk.method.upper()} {walk.path(world)} as {role}: {response.status_code}"
    )
    assert response.status_code < 500


@pytest.mark.parametrize("role", ["other_patient", "other_clinician", "clinician"])
def test_refused_visitors_change_nothing(client: Client, world: World, role: str) -> None:
    """Acknowledging or resolving someone else's alert leaves it as it was."""
    user = world.users[role]
    assert user is not None
    client.force_login(user)
    if role == "clinician":
        # Their own clinic's alert: allowed, so check the audit names them.
        client.post(
            f"/clinic/alerts/{world.alert.public_id}/acknowledge/",
            {"version": str(world.alert.version)},
        )
        world.alert.refresh_from_db()
        assert world.alert.acknowledged_by == user
        return
    client.post(
        f"/clinic/alerts/{world.alert.public_id}/acknowledge/",
        {"version": str(world.alert.version)},
    )
    client.post(
        f"/clinic/alerts/{world.alert.public_id}/resolve/",
        {"outcome": "advised_at_home", "note": "x", "version": str(world.alert.version)},
    )
    world.alert.refresh_from_db()
    assert (world.alert.acknowledged_at, world.alert.resolved_at) == (None, None)
