from __future__ import annotations

import datetime as dt
import os

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from pytest_django.fixtures import Settings as SettingsFixture

from recovery.demo.clinics import HARBOUR
from recovery.models import Clinic, Patient, Treatment, User
from tests import factories
from tests.helpers import TREATED_ON

# Property tests in CI: a loaded machine (many workers on two cores) is slow, not wrong, so
# neither a slow example nor slow data generation fails a test there; the number of
# examples stays the same. HYPOTHESIS_PROFILE=ci selects it anywhere.
hypothesis_settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "default")
)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """SQLite tests use a database file (one per worker), not a shared in-memory one:
    the concurrency tests' threads then each get a connection of their own that waits for
    the write lock, as the app's processes do."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(
            tmp_path_factory.mktemp("db") / "test.sqlite3"
        )


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings: SettingsFixture) -> None:
    """Background tasks run as they are queued, so a test sees what the worker would do;
    a test of the queue itself sets django_tasks_db's backend again."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _fast_passwords(settings: SettingsFixture) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clinic(db: None) -> Clinic:
    return factories.create_clinic()


@pytest.fixture
def other_clinic(db: None) -> Clinic:
    return factories.create_clinic(details=HARBOUR)


@pytest.fixture
def patient(clinic: Clinic) -> Patient:
    return factories.create_patient(clinic=clinic, name="Ana Patient", email="ana@example.com")


# The treatment visit: the rows it writes (and the triage place they get) do not
# depend on the day the suite runs.
ENROLLED_AT = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def treatment(patient: Patient) -> Treatment:
    with time_machine.travel(ENROLLED_AT, tick=False):
        return factories.create_treatment(patient=patient, treated_on=TREATED_ON)


@pytest.fixture
def second_patient(clinic: Clinic) -> Patient:
    patient = factories.create_patient(clinic=clinic, name="Ben Second", email="ben@example.com")
    with time_machine.travel(ENROLLED_AT, tick=False):
        factories.create_treatment(patient=patient, treated_on=TREATED_ON)
    return patient


@pytest.fixture
def clinician(clinic: Clinic) -> User:
    return factories.create_clinician(clinic=clinic, email="nurse@riverside.example")


@pytest.fixture
def other_clinician(other_clinic: Clinic) -> User:
    return factories.create_clinician(clinic=other_clinic, email="nurse@harbour.example")


@pytest.fixture
def clinician_client(client: Client, clinician: User) -> Client:
    """The test client, signed in as the clinic's nurse."""
    client.force_login(clinician)
    return client


@pytest.fixture
def patient_client(client: Client, patient: Patient, treatment: Treatment) -> Client:
    client.force_login(patient.user)
    return client
